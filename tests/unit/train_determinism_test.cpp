// Two identical training runs (same weights, batches, thread count) give bitwise equal losses,
// gradients and parameters; bad arguments to the training step are rejected with named errors.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "flame/core/error.h"
#include "flame/model/train_step.h"
#include "flame/train/adamw.h"
#include "flame/train/lr_schedule.h"

namespace flame {
namespace {

LlamaConfig small_config() {
  LlamaConfig c;
  c.vocab_size = 97, c.dim = 48, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.ffn_dim = 80;
  c.context_length = 70, c.head_dim = 12, c.rope_dim = 12, c.rope_theta = 10000.0f;
  return c;
}

LlamaWeights random_weights(const LlamaConfig& c, uint32_t seed) {
  LlamaWeights w = LlamaWeights::allocate(c);
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.1f);
  w.for_each([&](const std::string&, Tensor& t) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = t.ndim() == 1 ? 1.0f + d(rng) : d(rng);
  });
  return w;
}

struct RunResult {
  std::vector<float> losses;
  std::vector<uint8_t> params, grads;
};

std::vector<uint8_t> bytes_of(const LlamaWeights& w) {
  std::vector<uint8_t> out;
  w.for_each([&](const std::string&, const Tensor& t) {
    const auto* p = static_cast<const uint8_t*>(t.data());
    out.insert(out.end(), p, p + t.nbytes());
  });
  return out;
}

RunResult run(const LlamaConfig& c, int64_t B, int64_t T) {
  LlamaWeights params = random_weights(c, 7), grads = LlamaWeights::allocate(c);
  TrainWorkspace ws(c, B, T);
  AdamW opt(c, AdamWOptions{});
  const LrSchedule schedule{.kind = LrSchedule::Kind::Cosine, .max_lr = 1e-2f, .warmup_steps = 1, .total_steps = 4};
  std::mt19937 rng(3);
  std::vector<uint32_t> inputs(B * T), targets(B * T);
  RunResult r;
  for (int step = 0; step < 4; ++step) {
    for (auto& t : inputs) t = rng() % c.vocab_size;
    for (auto& t : targets) t = rng() % c.vocab_size;
    zero_weights(grads);
    // Two micro-batches accumulated, as gradient accumulation does.
    r.losses.push_back(train_forward_backward(params, grads, inputs.data(), targets.data(), B, T, ws, 0.5f));
    r.losses.push_back(train_forward_backward(params, grads, targets.data(), inputs.data(), B, T, ws, 0.5f));
    if (step == 3) r.grads = bytes_of(grads);
    opt.step(params, grads, schedule.lr(step));
  }
  r.params = bytes_of(params);
  return r;
}

TEST(TrainDeterminism, TwoRunsAreBitwiseEqual) {
  ThreadPool::set_global_threads(2);
  const LlamaConfig c = small_config();
  const RunResult a = run(c, 2, 67), b = run(c, 2, 67);
  ThreadPool::set_global_threads(0);
  ASSERT_EQ(a.losses.size(), b.losses.size());
  EXPECT_EQ(0, std::memcmp(a.losses.data(), b.losses.data(), a.losses.size() * sizeof(float)));
  EXPECT_TRUE(a.grads == b.grads);
  EXPECT_TRUE(a.params == b.params);
}

TEST(TrainStepErrors, RejectsBadArguments) {
  const LlamaConfig c = small_config();
  LlamaWeights params = random_weights(c, 1), grads = LlamaWeights::allocate(c);
  TrainWorkspace ws(c, 1, 8);
  std::vector<uint32_t> ok(8, 1), bad(8, 1);
  bad[5] = 97;
  EXPECT_THROW(train_forward_backward(params, grads, bad.data(), ok.data(), 1, 8, ws), ArgumentError);
  EXPECT_THROW(train_forward_backward(params, grads, ok.data(), bad.data(), 1, 8, ws), ArgumentError);
  EXPECT_THROW(train_forward_backward(params, grads, ok.data(), ok.data(), 2, 4, ws), ArgumentError);
  EXPECT_THROW(TrainWorkspace(c, 1, 71), ArgumentError);  // seq past context_length
  LlamaConfig other = c;
  other.tied_embeddings = true;
  LlamaWeights tied = LlamaWeights::allocate(other);
  EXPECT_THROW(train_forward_backward(params, tied, ok.data(), ok.data(), 1, 8, ws), ArgumentError);
  try {
    train_forward_loss(params, bad.data(), ok.data(), 1, 8, ws);
    FAIL();
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("inputs[5] = 97"), std::string::npos) << e.what();
  }
}

TEST(LrScheduleTest, WarmupCosineAndWsd) {
  LrSchedule cos{
      .kind = LrSchedule::Kind::Cosine, .max_lr = 1.0f, .min_lr = 0.1f, .warmup_steps = 4, .total_steps = 14};
  EXPECT_FLOAT_EQ(cos.lr(0), 0.25f);
  EXPECT_FLOAT_EQ(cos.lr(3), 1.0f);
  EXPECT_FLOAT_EQ(cos.lr(4), 1.0f);
  EXPECT_FLOAT_EQ(cos.lr(9), 0.55f);  // half way: (max + min) / 2
  EXPECT_FLOAT_EQ(cos.lr(14), 0.1f);
  LrSchedule wsd{.kind = LrSchedule::Kind::WarmupStableDecay,
                 .max_lr = 1.0f,
                 .min_lr = 0.0f,
                 .warmup_steps = 2,
                 .total_steps = 10,
                 .decay_steps = 4};
  EXPECT_FLOAT_EQ(wsd.lr(5), 1.0f);
  EXPECT_FLOAT_EQ(wsd.lr(6), 0.75f);
  EXPECT_FLOAT_EQ(wsd.lr(9), 0.0f);
  wsd.decay_steps = 20;
  EXPECT_THROW(wsd.validate(), ArgumentError);
}

TEST(AdamWTest, ClipsGlobalNormAndDecaysOnlyMatrices) {
  LlamaConfig c = small_config();
  c.n_layers = 1;
  LlamaWeights params = LlamaWeights::allocate(c), grads = LlamaWeights::allocate(c);
  params.for_each([](const std::string&, Tensor& t) { std::fill_n(t.data<float>(), t.numel(), 2.0f); });
  grads.for_each([](const std::string&, Tensor& t) { std::fill_n(t.data<float>(), t.numel(), 0.0f); });
  grads.output_norm.data<float>()[0] = 30.0f;
  grads.output_norm.data<float>()[1] = 40.0f;
  AdamW opt(c, AdamWOptions{.beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.5f, .grad_clip = 1.0f});
  EXPECT_FLOAT_EQ(opt.step(params, grads, 0.1f), 50.0f);
  EXPECT_EQ(grads.output_norm.data<float>()[0], 30.0f);                  // gradients are not rewritten
  EXPECT_NEAR(opt.m().output_norm.data<float>()[0], 0.1f * 0.6f, 1e-7);  // m = (1 - b1) * clipped g
  // First step: m_hat/sqrt(v_hat) = sign(g) => p = 2 - 0.1 for a gradient entry of a norm,
  // p = 2 * (1 - 0.1 * 0.5) for a matrix with zero gradient, untouched for a norm with zero grad.
  EXPECT_NEAR(params.output_norm.data<float>()[0], 1.9f, 1e-6);
  EXPECT_FLOAT_EQ(params.output_norm.data<float>()[2], 2.0f);
  EXPECT_FLOAT_EQ(params.layers[0].wq.data<float>()[0], 1.9f);
  EXPECT_EQ(opt.step_count(), 1);
  int states = 0;
  opt.for_each_state([&](const std::string& name, Tensor&) { states += name.rfind("adam_", 0) == 0; });
  EXPECT_EQ(states, 2 * (1 + 9 + 1 + 1));
}

}  // namespace
}  // namespace flame
