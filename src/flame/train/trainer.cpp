#include "flame/train/trainer.h"

#include <unistd.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flame/core/error.h"
#include "flame/core/progress.h"
#include "flame/io/atomic_file.h"
#include "flame/model/train_step.h"
#include "flame/train/adamw.h"
#include "flame/train/checkpoint.h"
#include "flame/train/data_loader.h"
#include "flame/train/hash.h"
#include "flame/train/hf_safetensors.h"
#include "flame/train/init.h"
#include "flame/train/interrupt.h"
#include "flame/train/lr_schedule.h"
#include "flame/train/shards.h"
#include "flame/train/svg_plot.h"
#include "flame/train/train_metrics.h"

namespace flame {
namespace fs = std::filesystem;

double train_flops_per_token(const LlamaConfig& c, int64_t seq) {
  return 6.0 * static_cast<double>(c.n_matmul_params()) +
         12.0 * static_cast<double>(c.n_layers * c.n_heads * c.head_dim * seq);
}

void print_above_progress(const std::string& text) {
  static const bool tty = isatty(fileno(stderr));
  fmt::print(stderr, "{}{}\n", tty ? "\r\x1b[K" : "", text);
}

namespace {

using Clock = std::chrono::steady_clock;

void say(const std::string& text) {
  print_above_progress(text);
}

LrSchedule make_schedule(const TrainConfig& c) {
  LrSchedule s;
  s.kind = c.schedule == "wsd" ? LrSchedule::Kind::WarmupStableDecay : LrSchedule::Kind::Cosine;
  s.max_lr = static_cast<float>(c.lr);
  s.min_lr = static_cast<float>(c.lr * c.min_lr_ratio);
  s.warmup_steps = c.warmup;
  s.total_steps = c.steps;
  s.decay_steps = std::max<int64_t>(1, std::llround(c.decay_fraction * static_cast<double>(c.steps)));
  s.validate();
  return s;
}

// Lines of the trajectory-relevant config that differ, for a helpful resume error.
std::string config_differences(const TrainConfig& saved, const TrainConfig& now) {
  std::istringstream a(saved.to_toml()), b(now.to_toml());
  std::string la, lb, section, out;
  while (std::getline(a, la) && std::getline(b, lb)) {
    if (!la.empty() && la[0] == '[') section = la.substr(1, la.size() - 2);
    if (la != lb) out += fmt::format("\n  {}.{} (checkpoint) vs {} (now)", section, la, lb.substr(lb.find('=') + 2));
  }
  return out;
}

// Keeps the JSONL records of steps <= `step` (a resumed run re-does the steps after its checkpoint).
void truncate_log(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      if (nlohmann::json::parse(line).value("step", int64_t{0}) <= step) kept += line + "\n";
    } catch (const nlohmann::json::exception&) {
      // a torn last line from a killed run: drop it
    }
  }
  in.close();
  io::write_file_atomically(path, kept);
}

void write_loss_curve(const std::string& log_path, const std::string& svg_path, const std::string& title) {
  std::ifstream in(log_path);
  ChartSeries train{"train", "#a6c8e3", {}}, smooth{"train (smoothed)", "#1f77b4", {}},
      val{"validation", "#d62728", {}, true};
  std::string line;
  while (std::getline(in, line)) {
    try {
      const auto j = nlohmann::json::parse(line);
      if (j.contains("loss") && j["loss"].is_number())
        train.points.emplace_back(j["step"].get<double>(), j["loss"].get<double>());
      if (j.contains("val_loss")) val.points.emplace_back(j["step"].get<double>(), j["val_loss"].get<double>());
    } catch (const nlohmann::json::exception&) {
    }
  }
  // Exponential moving average with bias correction (as TensorBoard smooths), weight 0.9.
  double ema = 0, weight = 0;
  for (auto [x, y] : train.points) {
    ema = 0.9 * ema + 0.1 * y;
    weight = 0.9 * weight + 0.1;
    smooth.points.emplace_back(x, ema / weight);
  }
  LineChart chart{title, "step", "cross-entropy loss (nats/token)", {train, smooth, val}};
  io::write_file_atomically(svg_path, chart.to_svg());
}

std::string si(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

}  // namespace

TrainResult run_training(const TrainOptions& options) {
  TrainConfig cfg = options.config;
  cfg.validate();
  const bool resuming = !options.resume_dir.empty();
  if (resuming && fs::is_directory(options.resume_dir)) cfg.out_dir = options.resume_dir;

  const Manifest manifest = Manifest::load(cfg.data_dir);
  if (!cfg.tokenizer.empty()) manifest.check_tokenizer(file_fingerprint(cfg.tokenizer), cfg.tokenizer);
  const LlamaConfig model = cfg.llama_config(manifest.vocab_size);
  DataLoader train_data(manifest, DataLoader::Split::Train, cfg.seq, cfg.batch, static_cast<uint64_t>(cfg.seed));
  DataLoader val_data(manifest, DataLoader::Split::Val, cfg.seq, cfg.batch, static_cast<uint64_t>(cfg.seed));

  AdamWOptions adam;
  adam.beta1 = static_cast<float>(cfg.beta1);
  adam.beta2 = static_cast<float>(cfg.beta2);
  adam.eps = static_cast<float>(cfg.eps);
  adam.weight_decay = static_cast<float>(cfg.weight_decay);
  adam.grad_clip = static_cast<float>(cfg.clip);
  AdamW optimizer(model, adam);
  const LrSchedule schedule = make_schedule(cfg);

  LlamaWeights params;
  TrainState state;
  const std::string log_path = (fs::path(cfg.out_dir) / "train.jsonl").string();
  if (resuming) {
    Checkpoint ck = load_checkpoint(options.resume_dir);
    if (ck.state.config_hash != cfg.trajectory_hash())
      throw ArgumentError(
          "train", fmt::format("the checkpoint {} was made with another config; these settings differ:{}", ck.path,
                               config_differences(ck.config, cfg)));
    if (ck.state.tokenizer_hash != manifest.tokenizer_hash)
      throw ArgumentError("train",
                          fmt::format("the checkpoint {} was trained on shards of another tokenizer ({}) than {} ({})",
                                      ck.path, ck.state.tokenizer_hash, cfg.data_dir, manifest.tokenizer_hash));
    if (ck.state.step >= cfg.last_step())
      throw ArgumentError("train",
                          fmt::format("the checkpoint {} is already at step {} (this run ends at step {}); raise "
                                      "train.steps or train.max_steps",
                                      ck.path, ck.state.step, cfg.last_step()));
    ck.copy_optimizer_state(optimizer);
    params = std::move(ck.params);
    state = ck.state;
    truncate_log(log_path, state.step);
    say(fmt::format("resuming {} at step {}", ck.path, state.step));
    if (state.threads != ThreadPool::global().size())
      say(fmt::format(
          "note: the checkpoint was written with {} threads, this run uses {}: the result will not be bitwise "
          "identical to an uninterrupted run (use -t {})",
          state.threads, ThreadPool::global().size(), state.threads));
  } else {
    params = LlamaWeights::allocate(model);
    if (!cfg.init_from.empty())
      load_hf_safetensors_into(cfg.init_from, params);
    else
      init_random(params, static_cast<uint64_t>(cfg.seed), cfg.init_std);
    std::error_code ec;
    fs::create_directories(cfg.out_dir, ec);
    if (ec) throw IoError(cfg.out_dir, "cannot create the run folder: " + ec.message());
    fs::remove(log_path, ec);
  }
  state.config_hash = cfg.trajectory_hash();
  state.config_toml = cfg.to_toml();
  state.tokenizer_hash = manifest.tokenizer_hash;
  state.threads = ThreadPool::global().size();
  train_data.seek(state.data_position);
  io::write_file_atomically((fs::path(cfg.out_dir) / "config.toml").string(), state.config_toml);

  LlamaWeights grads = LlamaWeights::allocate(model);
  TrainWorkspace workspace(model, cfg.batch, cfg.seq);
  const int64_t tokens_per_micro = cfg.batch * cfg.seq, tokens_per_step = tokens_per_micro * cfg.grad_accum;
  std::vector<uint32_t> inputs(static_cast<size_t>(tokens_per_micro)), targets(inputs.size());
  const double flops_per_token = train_flops_per_token(model, cfg.seq);
  const int64_t last_step = cfg.last_step();
  double peak_gflops = options.peak_gflops > 0 ? options.peak_gflops : cfg.peak_gflops;
  const char* peak_source = options.peak_gflops > 0 ? "option" : "config";
  if (peak_gflops <= 0 && options.dump_grads.empty()) {
    peak_gflops = measure_gemm_peak_gflops(ThreadPool::global());
    peak_source = "measured";
  }
  bool peak_remeasured = false;

  auto evaluate = [&]() {
    double sum = 0;
    for (int64_t i = 0; i < cfg.eval_batches; ++i) {
      val_data.eval_batch(i, cfg.eval_batches, inputs.data(), targets.data());
      sum += train_forward_loss(params, inputs.data(), targets.data(), cfg.batch, cfg.seq, workspace);
    }
    return sum / static_cast<double>(cfg.eval_batches);
  };
  auto save = [&](double elapsed_now) {
    TrainState s = state;
    s.data_position = train_data.position();
    s.elapsed_seconds = elapsed_now;
    save_checkpoint(cfg.out_dir, params, optimizer, s);
  };

  say(fmt::format("model: {} ({} parameters, {} in matmuls); {} training tokens, {} validation", model.summary(),
                  si(static_cast<double>(model.n_params())), si(static_cast<double>(model.n_matmul_params())),
                  si(static_cast<double>(manifest.train_tokens)), si(static_cast<double>(manifest.val_tokens))));
  say(fmt::format("training steps {}..{} of {}: batch {} x seq {} x accum {} = {} tokens/step, {} threads, out {}",
                  state.step + 1, last_step, cfg.steps, cfg.batch, cfg.seq, cfg.grad_accum, tokens_per_step,
                  ThreadPool::global().size(), cfg.out_dir));

  if (options.dump_grads.empty())
    say(fmt::format("MFU is relative to an fp32 GEMM peak of {:.1f} GFLOP/s ({}{})", peak_gflops, peak_source,
                    peak_source == std::string("measured") ? ", set run.peak_gflops to fix it" : ""));
  JsonlLog log(log_path, /*append=*/true);
  log.write({{"step", state.step},
             {"event", resuming ? "resume" : "start"},
             {"peak_gflops", peak_gflops},
             {"peak_source", peak_source},
             {"flops_per_token", flops_per_token},
             {"threads", ThreadPool::global().size()},
             {"last_step", last_step},
             {"max_minutes", cfg.max_minutes}});
  install_interrupt_handler();
  TrainResult result;
  Progress progress("train", last_step, "step");
  progress.start_at(state.step);
  const int64_t first_step = state.step;
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  double window_tokens = 0, window_seconds = 0, smoothed_rate = 0;
  std::string val_text = "";

  while (state.step < last_step) {
    const auto step_start = Clock::now();
    zero_weights(grads);
    double loss_sum = 0;
    nlohmann::json batch_inputs = nlohmann::json::array(), batch_targets = nlohmann::json::array();
    for (int64_t micro = 0; micro < cfg.grad_accum; ++micro) {
      train_data.next_batch(inputs.data(), targets.data());
      if (!options.dump_grads.empty())
        for (int64_t b = 0; b < cfg.batch; ++b) {
          batch_inputs.push_back(
              std::vector<uint32_t>(inputs.begin() + b * cfg.seq, inputs.begin() + (b + 1) * cfg.seq));
          batch_targets.push_back(
              std::vector<uint32_t>(targets.begin() + b * cfg.seq, targets.begin() + (b + 1) * cfg.seq));
        }
      loss_sum += train_forward_backward(params, grads, inputs.data(), targets.data(), cfg.batch, cfg.seq, workspace,
                                         1.0f / static_cast<float>(cfg.grad_accum));
    }
    const float loss = static_cast<float>(loss_sum / static_cast<double>(cfg.grad_accum));
    if (!options.dump_grads.empty()) {
      // The batch and loss go into the metadata so another implementation can reproduce the step.
      const nlohmann::json shape = {{"dim", model.dim},           {"layers", model.n_layers},
                                    {"heads", model.n_heads},     {"kv", model.n_kv_heads},
                                    {"head_dim", model.head_dim}, {"ffn", model.ffn_dim},
                                    {"vocab", model.vocab_size},  {"eps", model.norm_eps},
                                    {"theta", model.rope_theta},  {"tied", model.tied_embeddings}};
      write_hf_safetensors(options.dump_grads, grads,
                           {{"flame.loss", fmt::format("{}", loss)},
                            {"flame.inputs", batch_inputs.dump()},
                            {"flame.targets", batch_targets.dump()},
                            {"flame.config", shape.dump()},
                            {"flame.step", std::to_string(state.step + 1)}});
      say(fmt::format("wrote the gradients of step {} (loss {:.6f}) to {}", state.step + 1, loss, options.dump_grads));
      result.step = state.step;
      result.last_loss = loss;
      return result;
    }
    const double raw_norm = global_grad_norm(grads);
    const int64_t step = state.step + 1;
    if (!std::isfinite(loss) || !std::isfinite(raw_norm)) {
      ++state.bad_steps;
      say(fmt::format("step {}: {} is {} - update skipped ({} in a row, limit {})", step,
                      std::isfinite(loss) ? "gradient norm" : "loss", std::isfinite(loss) ? raw_norm : loss,
                      state.bad_steps, cfg.max_bad_steps));
      log.write({{"step", step}, {"skipped", true}, {"loss", std::isfinite(loss) ? nlohmann::json(loss) : nullptr}});
      if (state.bad_steps >= cfg.max_bad_steps)
        throw Error(
            fmt::format("stopping: {} consecutive steps had a non-finite loss or gradient; the last good "
                        "checkpoint ({}) is unchanged. Try a lower optim.lr or optim.clip.",
                        state.bad_steps, checkpoint_path(cfg.out_dir)));
      state.step = step;  // the step is consumed (its data too), so the schedule moves on
      progress.update(state.step);
      continue;
    }
    state.bad_steps = 0;
    const float lr = schedule.lr(state.step);
    const float grad_norm = optimizer.step(params, grads, lr);
    state.step = step;
    state.tokens_seen += static_cast<uint64_t>(tokens_per_step);

    const double step_seconds = std::chrono::duration<double>(Clock::now() - step_start).count();
    window_tokens += static_cast<double>(tokens_per_step), window_seconds += step_seconds;
    const double rate = static_cast<double>(tokens_per_step) / step_seconds;
    smoothed_rate = smoothed_rate == 0 ? rate : 0.9 * smoothed_rate + 0.1 * rate;
    if (!peak_remeasured && peak_source == std::string("measured") && rate * flops_per_token > peak_gflops * 1e9) {
      // A step outran the start-up GEMM probe, so another process disturbed that probe (MFU would
      // read above 100%): probe once more, now that the run itself has the machine, and say so.
      peak_remeasured = true;
      peak_gflops = std::max(peak_gflops, measure_gemm_peak_gflops(ThreadPool::global()));
      log.write({{"event", "peak_remeasured"}, {"step", step}, {"peak_gflops", peak_gflops}});
      say(fmt::format(
          "step {} ran faster than the start-up GEMM probe (disturbed); MFU is now relative to {:.1f} GFLOP/s", step,
          peak_gflops));
    }
    const double mfu = rate * flops_per_token / (peak_gflops * 1e9);
    log.write({{"step", step},
               {"loss", loss},
               {"lr", lr},
               {"grad_norm", grad_norm},
               {"tokens", state.tokens_seen},
               {"tokens_per_s", rate},
               {"mfu", mfu},
               {"elapsed_s", state.elapsed_seconds + elapsed()}});
    result.last_loss = loss;

    const bool last = step == last_step;
    const bool time_up = cfg.max_minutes > 0 && elapsed() >= cfg.max_minutes * 60.0;
    const bool interrupted = interrupt_requested();
    // Evaluate on schedule, and once more when the run stops early so it ends with a val loss.
    if (cfg.eval_interval > 0 && (step % cfg.eval_interval == 0 || last || time_up || interrupted)) {
      const double val = evaluate();
      result.last_val_loss = val;
      log.write({{"step", step}, {"val_loss", val}});
      const double window_rate = window_tokens / window_seconds;
      say(fmt::format(
          "step {:>6}  train loss {:.4f}  val loss {:.4f}  (perplexity {:.1f})  lr {:.2e}  {} tok/s  MFU {:.1f}%", step,
          loss, val, std::exp(val), lr, si(window_rate), 100 * window_rate * flops_per_token / (peak_gflops * 1e9)));
      window_tokens = window_seconds = 0;
      val_text = fmt::format(" | val {:.3f}", val);
      if (options.on_eval) options.on_eval(step, val, params);
    }
    progress.set_suffix(fmt::format("loss {:.3f}{} | {} tok/s | lr {:.1e}", loss, val_text, si(smoothed_rate), lr));
    // Per-step time averaged over this invocation, so evaluations and checkpoints are counted.
    progress.set_eta(training_eta_seconds(last_step - step, elapsed() / static_cast<double>(step - first_step),
                                          cfg.max_minutes, elapsed()));
    progress.update(step);

    if (last || interrupted || time_up || (cfg.checkpoint_interval > 0 && step % cfg.checkpoint_interval == 0)) {
      save(state.elapsed_seconds + elapsed());
      result.checkpoint = checkpoint_path(cfg.out_dir);
    }
    if (interrupted || time_up) {
      result.interrupted = interrupted;
      result.time_limit = time_up;
      say(fmt::format("{} at step {}: checkpoint saved to {}; continue with --resume {}",
                      interrupted ? "interrupted" : "time limit reached", step, result.checkpoint, cfg.out_dir));
      break;
    }
  }
  progress.finish();
  result.step = state.step;
  const std::string svg = (fs::path(cfg.out_dir) / "loss.svg").string();
  write_loss_curve(log_path, svg,
                   fmt::format("{}: dim {}, {} layers, {} heads ({} kv), ffn {}, vocab {}", cfg.out_dir, model.dim,
                               model.n_layers, model.n_heads, model.n_kv_heads, model.ffn_dim, model.vocab_size));
  say(fmt::format("loss curve: {}", svg));
  return result;
}

}  // namespace flame
