// flame's training step against an independent PyTorch Llama (tests/reference/llama_torch.py):
// same initial weights and batches (written by train_reference.py), loss within 1e-5 relative,
// every gradient within 1e-4 (max-abs-diff over max-abs), and a 50-step AdamW loss curve within
// 1e-3 relative at every step. Plus bitwise determinism of two identical runs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "flame/model/train_step.h"
#include "flame/train/adamw.h"
#include "flame/train/lr_schedule.h"
#include "support/test_support.h"

namespace flame {
namespace {

using nlohmann::json;

struct Case {
  std::string name;
  json cfg;
};

json base_config() {
  return json{{"seed", 1234},
              {"init_std", 0.1},
              {"norm_eps", 1e-5},
              {"rope_theta", 10000.0},
              {"batches", 4},
              {"steps", 50},
              {"adam", {{"beta1", 0.9}, {"beta2", 0.95}, {"eps", 1e-8}, {"weight_decay", 0.1}, {"grad_clip", 1.0}}},
              {"schedule", {{"max_lr", 1e-2}, {"min_lr", 1e-3}, {"warmup", 5}, {"total", 50}}}};
}

Case make_case(std::string name, int vocab, int dim, int layers, int heads, int kv_heads, int ffn, int seq, int batch,
               bool tied) {
  json c = base_config();
  c["vocab"] = vocab, c["dim"] = dim, c["layers"] = layers, c["heads"] = heads, c["kv_heads"] = kv_heads;
  c["ffn"] = ffn, c["seq"] = seq, c["batch"] = batch, c["tied"] = tied;
  return {std::move(name), c};
}

LlamaConfig to_llama_config(const json& c) {
  LlamaConfig lc;
  lc.vocab_size = c["vocab"], lc.dim = c["dim"], lc.n_layers = c["layers"], lc.n_heads = c["heads"];
  lc.n_kv_heads = c["kv_heads"], lc.ffn_dim = c["ffn"], lc.context_length = c["seq"];
  lc.head_dim = lc.dim / lc.n_heads, lc.rope_dim = lc.head_dim;
  lc.norm_eps = c["norm_eps"], lc.rope_theta = c["rope_theta"], lc.tied_embeddings = c["tied"];
  if (c.contains("rope_scaling")) {
    const json& r = c["rope_scaling"];
    lc.rope_scaling.factor = r["factor"], lc.rope_scaling.low_freq_factor = r["low_freq_factor"];
    lc.rope_scaling.high_freq_factor = r["high_freq_factor"], lc.rope_scaling.original_context = r["original_context"];
  }
  return lc;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// name -> float data, from <stem>.bin + <stem>.json
std::map<std::string, std::vector<float>> read_tensors(const std::string& stem) {
  const std::string bin = read_file(stem + ".bin");
  const json index = json::parse(read_file(stem + ".json"));
  std::map<std::string, std::vector<float>> out;
  for (const auto& e : index) {
    size_t n = 1;
    for (int64_t d : e["shape"]) n *= size_t(d);
    std::vector<float> v(n);
    std::memcpy(v.data(), bin.data() + size_t(e["offset"]) * 4, n * 4);
    out[e["name"]] = std::move(v);
  }
  return out;
}

struct Golden {
  LlamaConfig config;
  json cfg;
  LlamaWeights init;
  std::map<std::string, std::vector<float>> grads;
  std::vector<uint32_t> tokens;  // [batches, B, T+1]
  json result;
};

Golden run_reference(const Case& c) {
  const std::string dir = test::scratch_dir("train_reference_" + c.name);
  test::run_python("tests/reference/train_reference.py",
                   "--config " + test::shell_quote(c.cfg.dump()) + " --out " + test::shell_quote(dir));
  Golden g;
  g.cfg = c.cfg;
  g.config = to_llama_config(c.cfg);
  g.init = LlamaWeights::allocate(g.config);
  const auto weights = read_tensors(dir + "/weights");
  size_t loaded = 0;
  g.init.for_each([&](const std::string& name, Tensor& t) {
    const auto& w = weights.at(name);
    EXPECT_EQ(size_t(t.numel()), w.size()) << name;
    std::memcpy(t.data(), w.data(), w.size() * 4);
    ++loaded;
  });
  EXPECT_EQ(loaded, weights.size());
  g.grads = read_tensors(dir + "/grads");
  const std::string tok = read_file(dir + "/tokens.bin");
  g.tokens.resize(tok.size() / 4);
  std::memcpy(g.tokens.data(), tok.data(), tok.size());
  g.result = json::parse(read_file(dir + "/result.json"));
  return g;
}

// Splits batch i of the golden tokens into inputs and targets.
void batch_of(const Golden& g, int64_t i, std::vector<uint32_t>& inputs, std::vector<uint32_t>& targets) {
  const int64_t B = g.cfg["batch"], T = g.cfg["seq"];
  inputs.resize(B * T), targets.resize(B * T);
  const uint32_t* base = g.tokens.data() + i * B * (T + 1);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      inputs[b * T + t] = base[b * (T + 1) + t];
      targets[b * T + t] = base[b * (T + 1) + t + 1];
    }
}

LlamaWeights clone_weights(const LlamaWeights& w) {
  LlamaWeights c = LlamaWeights::allocate(w.config);
  std::map<std::string, const Tensor*> src;
  w.for_each([&](const std::string& name, const Tensor& t) { src[name] = &t; });
  c.for_each([&](const std::string& name, Tensor& t) { std::memcpy(t.data(), src.at(name)->data(), t.nbytes()); });
  return c;
}

void check_against_pytorch(const Case& c) {
  const Golden g = run_reference(c);
  const int64_t B = c.cfg["batch"], T = c.cfg["seq"];
  std::vector<uint32_t> inputs, targets;
  batch_of(g, 0, inputs, targets);

  // Loss and every gradient at the initial weights.
  TrainWorkspace ws(g.config, B, T);
  LlamaWeights grads = LlamaWeights::allocate(g.config);
  const float loss = train_forward_backward(g.init, grads, inputs.data(), targets.data(), B, T, ws);
  const double ref_loss = g.result["loss"];
  EXPECT_LT(std::abs(loss - ref_loss) / std::abs(ref_loss), 1e-5) << c.name << " loss " << loss << " vs " << ref_loss;
  EXPECT_FLOAT_EQ(train_forward_loss(g.init, inputs.data(), targets.data(), B, T, ws), loss);
  size_t compared = 0;
  grads.for_each([&](const std::string& name, const Tensor& t) {
    const auto& ref = g.grads.at(name);
    double diff = 0, mag = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      diff = std::max(diff, std::abs(double(t.data<float>()[i]) - ref[i]));
      mag = std::max(mag, std::abs(double(ref[i])));
    }
    EXPECT_GT(mag, 0.0) << c.name << " " << name;
    EXPECT_LT(diff / mag, 1e-4) << c.name << " gradient of " << name;
    ++compared;
  });
  EXPECT_EQ(compared, g.grads.size());

  // The AdamW loss curve.
  LlamaWeights params = clone_weights(g.init);
  const json& a = c.cfg["adam"];
  const json& s = c.cfg["schedule"];
  AdamW opt(g.config, AdamWOptions{.beta1 = a["beta1"],
                                   .beta2 = a["beta2"],
                                   .eps = a["eps"],
                                   .weight_decay = a["weight_decay"],
                                   .grad_clip = a["grad_clip"]});
  const LrSchedule schedule{.kind = LrSchedule::Kind::Cosine,
                            .max_lr = s["max_lr"],
                            .min_lr = s["min_lr"],
                            .warmup_steps = s["warmup"],
                            .total_steps = s["total"]};
  const auto& ref_losses = g.result["losses"];
  const auto& ref_norms = g.result["grad_norms"];
  const int64_t steps = c.cfg["steps"], nb = c.cfg["batches"];
  double worst = 0;
  for (int64_t step = 0; step < steps; ++step) {
    batch_of(g, step % nb, inputs, targets);
    zero_weights(grads);
    const float l = train_forward_backward(params, grads, inputs.data(), targets.data(), B, T, ws);
    const float norm = opt.step(params, grads, schedule.lr(step));
    const double rel = std::abs(l - double(ref_losses[step])) / std::abs(double(ref_losses[step]));
    worst = std::max(worst, rel);
    EXPECT_LT(rel, 1e-3) << c.name << " step " << step << ": " << l << " vs " << double(ref_losses[step]);
    EXPECT_LT(std::abs(norm - double(ref_norms[step])) / double(ref_norms[step]), 1e-3) << c.name << " step " << step;
  }
  // The run must actually learn, or the curve comparison says little.
  EXPECT_LT(double(ref_losses[steps - 1]), 0.9 * double(ref_losses[0])) << c.name;
  std::printf("[%s] loss %.7f (torch %.7f), worst curve rel diff %.2e\n", c.name.c_str(), loss, ref_loss, worst);
}

TEST(TrainReference, GqaTiedMatchesPytorch) {
  check_against_pytorch(make_case("gqa_tied", 64, 32, 2, 4, 2, 48, 16, 2, true));
}

TEST(TrainReference, MhaUntiedMatchesPytorch) {
  check_against_pytorch(make_case("mha_untied", 50, 24, 2, 3, 3, 40, 12, 3, false));
}

// One KV head for four query heads, sequence longer than the attention block, llama3 RoPE scaling.
TEST(TrainReference, GqaUntiedLongLlama3RopeMatchesPytorch) {
  Case c = make_case("gqa_untied_llama3", 70, 32, 3, 4, 1, 64, 80, 2, false);
  c.cfg["rope_scaling"] = {
      {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0}, {"original_context", 64}};
  check_against_pytorch(c);
}

// head_dim 32 (the configs' size): the AVX2 attention tiles where present, with a sequence that
// ends in partial 6-row and 16-key tiles.
TEST(TrainReference, GqaHeadDim32TiledAttentionMatchesPytorch) {
  Case c = make_case("gqa_hd32", 64, 64, 2, 2, 1, 96, 40, 2, false);
  // At the shared max_lr of 1e-2 this wider model's loss curve drifts from PyTorch's by 2-4e-4
  // over the 50 steps whatever the kernels (the scalar path too): fp32 rounding amplified by
  // the updates. A gentler rate keeps the comparison far inside its 1e-3 bound.
  c.cfg["schedule"]["max_lr"] = 3e-3;
  check_against_pytorch(c);
}

}  // namespace
}  // namespace flame
