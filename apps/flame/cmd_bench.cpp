// `flame bench -m MODEL [-p 512] [-n 128] [-t N] [-r 3] [--json]`: prompt processing (pp) and token
// generation (tg) speed like llama-bench, against the memory-bandwidth bound of decode.
//
// tg reads every weight matrix once per token; its bound is (bytes of weights read per token) /
// (measured read bandwidth). `flame membw` runs the bandwidth probe alone.
//
// Long context: `--depth N` runs pp and tg after N cached positions (like llama-bench's -d). The N
// positions are filled with pseudo-random keys/values (InferenceSession::fill_cache_for_benchmark)
// rather than a prefill run, since attention's cost does not depend on the values; the bound then
// also counts the KV bytes a decode step reads (2 * layers * N * kv_dim * element size).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.h"
#include "flame/core/memory.h"
#include "flame/core/progress.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/membw.h"
#include "flame/model/inference.h"
#include "model_options.h"

namespace {

struct Options {
  bool no_repack = false;
  std::string model;
  int64_t prompt = 512, generate = 128;
  int repetitions = 3, threads = 0;
  bool json = false;
  int64_t membw_mib = 1024;
  int64_t depth = 0;
  std::string kv_type = "f32";
};

struct Stats {
  double mean = 0, sd = 0, median = 0;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  double sq = 0;
  for (double x : v) sq += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(sq / (v.size() - 1)) : 0;
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  const size_t h = sorted.size() / 2;
  s.median = sorted.size() % 2 ? sorted[h] : 0.5 * (sorted[h - 1] + sorted[h]);
  return s;
}

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Bytes of weights a decode step reads: every matrix (and norm) once, one embedding row.
double weight_bytes_per_token(const flame::LlamaWeights& w) {
  double bytes = 0;
  w.for_each([&](const std::string& name, const flame::Tensor& t) {
    if (name == "token_embd.weight")
      bytes += w.config.tied_embeddings ? t.nbytes() : t.row_bytes();
    else
      bytes += t.nbytes();
  });
  return bytes;
}

int run_bench(const Options& o) {
  flame::cli::apply_threads(o.threads);
  const size_t rss_start = flame::resident_bytes();
  const auto load_start = std::chrono::steady_clock::now();
  auto model = flame::cli::load_model(o.model, !o.no_repack);
  const double load_seconds = seconds(load_start);
  const flame::RepackSummary repack = model.repack;
  const double weight_bytes = weight_bytes_per_token(model.weights);
  const int64_t context = o.depth + std::max<int64_t>(o.prompt, o.generate) + 1;
  flame::InferenceSession session(std::move(model.weights), context, flame::cli::kv_dtype(o.kv_type));
  const flame::LlamaConfig& cfg = session.config();
  // KV bytes a decode step at depth d reads: keys and values of every layer up to d.
  const double kv_bytes_at_depth = 2.0 * cfg.n_layers * static_cast<double>(o.depth + o.generate / 2) * cfg.n_kv_heads *
                                   cfg.head_dim * (o.kv_type == "f16" ? 2 : 4);
  const double bytes_per_token = weight_bytes + kv_bytes_at_depth;
  const size_t rss_load = flame::resident_bytes();

  std::mt19937 rng(1234);
  const int64_t vocab = session.config().vocab_size;
  std::vector<int32_t> tokens(static_cast<size_t>(std::max<int64_t>(o.prompt, 1)));
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % vocab);

  // Warm-up: touches every weight page once (mmap) and the caches.
  session.forward(tokens.data(), std::min<int64_t>(o.prompt > 0 ? o.prompt : 1, 16), 0);
  const size_t rss_warm = flame::resident_bytes();

  // Bandwidth is probed inside every repetition, right before and right after the tg run it bounds:
  // on a shared machine the rate memory delivers swings by 30% and more within a minute, so each tg
  // run is compared with the mean of the two probes around it, and the reported share is the median
  // of those per-repetition shares (the ratio of the medians is printed too).
  std::vector<double> pp, tg, bw, pp_cpu, tg_cpu, bw_cpu, tg_share;
  const size_t probe_bytes = static_cast<size_t>(o.membw_mib) << 20;
  auto probe = [&] {
    const auto r = flame::measure_read_bandwidth_both(probe_bytes, 2);
    bw.push_back(r.wall_bytes_per_s);
    bw_cpu.push_back(r.cpu_bytes_per_s);
    return r.wall_bytes_per_s;
  };
  for (int r = 0; r < o.repetitions; ++r) {
    if (o.prompt > 0) {
      session.fill_cache_for_benchmark(o.depth);
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = flame::process_cpu_seconds();
      session.forward(tokens.data(), o.prompt, o.depth);
      pp.push_back(o.prompt / seconds(t0));
      pp_cpu.push_back(o.prompt / ((flame::process_cpu_seconds() - c0) / flame::ThreadPool::global().size()));
    }
    if (o.generate > 0) {
      session.fill_cache_for_benchmark(o.depth);
      const double before = probe();
      int32_t token = tokens[0];
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = flame::process_cpu_seconds();
      for (int64_t i = 0; i < o.generate; ++i) {
        const flame::Tensor& logits = session.forward(&token, 1, o.depth + i);
        token = static_cast<int32_t>(std::max_element(logits.data<float>(), logits.data<float>() + vocab) -
                                     logits.data<float>());
      }
      tg.push_back(o.generate / seconds(t0));
      tg_cpu.push_back(o.generate / ((flame::process_cpu_seconds() - c0) / flame::ThreadPool::global().size()));
      const double after = probe();
      tg_share.push_back(tg.back() * bytes_per_token / (0.5 * (before + after)));
    } else {
      probe();
    }
  }
  // The share measured a third way, least exposed to the drift: decode steps alternate with reads
  // of the same number of bytes (~25 ms each for a 1B Q4_0), so both see the same state of memory;
  // share = read time / decode time. One pass of o.generate pairs per repetition.
  std::vector<double> interleaved_share;
  double interleaved_decode_s = 0, interleaved_read_s = 0;
  if (o.generate > 0) {
    flame::StreamReader reader(probe_bytes);
    for (int r = 0; r < o.repetitions; ++r) {
      session.fill_cache_for_benchmark(o.depth);
      int32_t token = tokens[0];
      double decode_s = 0, read_s = 0;
      for (int64_t i = 0; i < o.generate; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const flame::Tensor& logits = session.forward(&token, 1, o.depth + i);
        token = static_cast<int32_t>(std::max_element(logits.data<float>(), logits.data<float>() + vocab) -
                                     logits.data<float>());
        decode_s += seconds(t0);
        read_s += reader.read(static_cast<size_t>(bytes_per_token));
      }
      interleaved_share.push_back(read_s / decode_s);
      interleaved_decode_s += decode_s;
      interleaved_read_s += read_s;
    }
  }
  const size_t rss_end = flame::resident_bytes();
  const Stats pps = stats(pp), ppc = stats(pp_cpu), tgs = stats(tg), bws = stats(bw), tgc = stats(tg_cpu),
              bwc = stats(bw_cpu), shares = stats(tg_share), interleaved = stats(interleaved_share);
  const double interleaved_steps = static_cast<double>(o.generate) * o.repetitions;
  const double bound_cpu = bwc.median / bytes_per_token;
  const double bandwidth = bws.median;
  const double bound = bandwidth / bytes_per_token;
  const int threads = flame::ThreadPool::global().size();

  if (o.json) {
    nlohmann::json j = {
        {"model", o.model},
        {"threads", threads},
        {"repetitions", o.repetitions},
        {"config", session.config().summary()},
        {"pp",
         {{"tokens", o.prompt},
          {"tok_s_mean", pps.mean},
          {"tok_s_sd", pps.sd},
          {"tok_s_median", pps.median},
          {"cpu_view_tok_s_median", ppc.median},
          {"runs", pp}}},
        {"tg",
         {{"tokens", o.generate},
          {"tok_s_mean", tgs.mean},
          {"tok_s_sd", tgs.sd},
          {"tok_s_median", tgs.median},
          {"cpu_view_tok_s_median", tgc.median},
          {"runs", tg}}},
        {"weight_bytes_per_token", weight_bytes},
        {"weights_layout", repack.describe()},
        {"repacked_matrices", repack.matrices},
        {"load_seconds", load_seconds},
        {"depth", o.depth},
        {"kv_type", o.kv_type},
        {"kv_cache_bytes", session.kv_cache_bytes()},
        {"kv_bytes_per_token_at_depth", kv_bytes_at_depth},
        {"read_bandwidth_bytes_s", bandwidth},
        {"tg_bound_tok_s", bound},
        {"tg_fraction_of_bound", tgs.median / bound},
        {"tg_share_of_adjacent_probes", {{"median", shares.median}, {"runs", tg_share}}},
        {"tg_share_interleaved",
         {{"median", interleaved.median},
          {"runs", interleaved_share},
          {"decode_seconds", interleaved_decode_s},
          {"read_seconds", interleaved_read_s},
          {"steps", interleaved_steps}}},
        {"read_bandwidth_probes_bytes_s", bw},
        {"rss_bytes", {{"start", rss_start}, {"after_load", rss_load}, {"after_warmup", rss_warm}, {"end", rss_end}}}};
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("model: {}\n{}\nthreads: {}  repetitions: {}  kv cache: {} ({})  depth: {}\n", o.model,
             session.config().summary(), threads, o.repetitions, o.kv_type,
             flame::human_bytes(session.kv_cache_bytes()), o.depth);
  fmt::print("weights in memory: {}; load {:.2f} s\n", repack.describe(), load_seconds);
  fmt::print("| test   |        tok/s |\n|--------|--------------|\n");
  if (o.prompt > 0) fmt::print("| pp{:<4} | {:7.2f} ± {:5.2f} |\n", o.prompt, pps.mean, pps.sd);
  if (o.generate > 0) fmt::print("| tg{:<4} | {:7.2f} ± {:5.2f} |\n", o.generate, tgs.mean, tgs.sd);
  fmt::print("weights read per token: {}, KV read per token (mean over tg): {}\n", flame::human_bytes(weight_bytes),
             flame::human_bytes(kv_bytes_at_depth));
  fmt::print("read bandwidth ({} threads, median of {} probes): {}/s -> tg bound {:.2f} tok/s\n", threads, bw.size(),
             flame::human_bytes(bandwidth), bound);
  if (o.generate > 0) {
    std::string runs;
    for (double share : tg_share) runs += fmt::format("{}{:.0f}%", runs.empty() ? "" : " / ", 100.0 * share);
    fmt::print("tg per repetition against the probes just before and after it: {} -> median {:.0f}% of the bound\n",
               runs, 100.0 * shares.median);
    fmt::print("median tg {:.2f} tok/s against the median bound: {:.0f}% ({:.2f}x from it)\n", tgs.median,
               100.0 * tgs.median / bound, bound / tgs.median);
    std::string passes;
    for (double share : interleaved_share)
      passes += fmt::format("{}{:.0f}%", passes.empty() ? "" : " / ", 100.0 * share);
    fmt::print(
        "tg steps alternating with reads of the same bytes: {:.2f} ms per step vs {:.2f} ms per read, passes {} -> "
        "median {:.0f}% of the bound\n",
        1e3 * interleaved_decode_s / interleaved_steps, 1e3 * interleaved_read_s / interleaved_steps, passes,
        100.0 * interleaved.median);
  }
  if (o.prompt > 0)
    fmt::print("CPU-time view (shared machine): pp{} {:.2f} tok/s (tokens per CPU-second per thread)\n", o.prompt,
               ppc.median);
  fmt::print("CPU-time view (shared machine): tg {:.2f} tok/s, bandwidth {}/s, bound {:.2f} tok/s, {:.0f}% ({:.2f}x)\n",
             tgc.median, flame::human_bytes(bwc.median), bound_cpu, 100.0 * tgc.median / bound_cpu,
             bound_cpu / tgc.median);
  fmt::print("RSS: start {}, after load {}, after warm-up {}, end {}\n", flame::human_bytes(rss_start),
             flame::human_bytes(rss_load), flame::human_bytes(rss_warm), flame::human_bytes(rss_end));
  return 0;
}

flame::cli::Registration reg{
    "bench", "Measure prompt and generation speed against the bandwidth bound", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "GGUF model")->required();
      app.add_option("-p,--n-prompt", o->prompt, "Prompt tokens (0 = skip)")->capture_default_str();
      app.add_option("-n,--n-gen", o->generate, "Generated tokens (0 = skip)")->capture_default_str();
      app.add_option("-r,--repetitions", o->repetitions, "Repetitions")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      app.add_option("--membw-mib", o->membw_mib, "Bandwidth probe buffer (MiB)")->capture_default_str();
      app.add_flag("--json", o->json, "JSON output");
      app.add_option("-d,--depth", o->depth, "Cached positions before pp and tg (filled synthetically)")
          ->check(CLI::NonNegativeNumber)
          ->capture_default_str();
      flame::cli::add_kv_type_option(app, o->kv_type);
      flame::cli::add_threads_option(app, o->threads);
      flame::cli::add_repack_option(app, o->no_repack);
      return [o] { return run_bench(*o); };
    }};

}  // namespace
