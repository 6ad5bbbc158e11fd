// Two identical training runs (same weights, batches, thread count) give bitwise equal losses,
// gradients and parameters; bad arguments to the training step are rejected with named errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/model/train_step.h"
#include "flame/train/adamw.h"
#include "flame/train/adamw_update.h"
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
  const LlamaConfig c = small_config();
  // Batch-parallel (3 sequences over 2 threads, uneven) and kernel-parallel (1 sequence, 2 threads).
  for (auto [threads, batch] : {std::pair{2, int64_t(3)}, std::pair{2, int64_t(1)}}) {
    ThreadPool::set_global_threads(threads);
    const RunResult a = run(c, batch, 67), b = run(c, batch, 67);
    ThreadPool::set_global_threads(0);
    ASSERT_EQ(a.losses.size(), b.losses.size());
    EXPECT_EQ(0, std::memcmp(a.losses.data(), b.losses.data(), a.losses.size() * sizeof(float))) << threads;
    EXPECT_TRUE(a.grads == b.grads) << threads;
    EXPECT_TRUE(a.params == b.params) << threads;
  }
}

// Two half-scaled micro-batches of the same data accumulate to one full-scale gradient, and the
// logits entry point agrees with the fused loss.
TEST(TrainStep, AccumulatesScaledGradientsAndLogitsMatchLoss) {
  const LlamaConfig c = small_config();
  const int64_t B = 2, T = 9;
  LlamaWeights params = random_weights(c, 5), once = LlamaWeights::allocate(c), twice = LlamaWeights::allocate(c);
  TrainWorkspace ws(c, B, T);
  std::vector<uint32_t> inputs(B * T), targets(B * T);
  for (int64_t i = 0; i < B * T; ++i) inputs[i] = uint32_t(i * 13 % 97), targets[i] = uint32_t(i * 31 % 97);
  const float loss = train_forward_backward(params, once, inputs.data(), targets.data(), B, T, ws);
  train_forward_backward(params, twice, inputs.data(), targets.data(), B, T, ws, 0.5f);
  train_forward_backward(params, twice, inputs.data(), targets.data(), B, T, ws, 0.5f);
  std::vector<float> a, b;
  once.for_each(
      [&](const std::string&, const Tensor& t) { a.insert(a.end(), t.data<float>(), t.data<float>() + t.numel()); });
  twice.for_each(
      [&](const std::string&, const Tensor& t) { b.insert(b.end(), t.data<float>(), t.data<float>() + t.numel()); });
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6f + 1e-5f * std::abs(a[i])) << i;

  std::vector<float> logits(B * T * c.vocab_size);
  train_forward_logits(params, inputs.data(), B, T, ws, logits.data());
  double sum = 0;
  for (int64_t n = 0; n < B * T; ++n) {
    const float* row = logits.data() + n * c.vocab_size;
    double mx = row[0], z = 0;
    for (int64_t v = 0; v < c.vocab_size; ++v) mx = std::max(mx, double(row[v]));
    for (int64_t v = 0; v < c.vocab_size; ++v) z += std::exp(row[v] - mx);
    sum += mx + std::log(z) - row[targets[n]];
  }
  EXPECT_NEAR(sum / double(B * T), loss, 1e-5 * loss);
}

std::vector<float> grads_with_threads(int threads, float* loss) {
  ThreadPool::set_global_threads(threads);
  const LlamaConfig c = small_config();
  const int64_t B = 2, T = 67;
  LlamaWeights params = random_weights(c, 9), grads = LlamaWeights::allocate(c);
  TrainWorkspace ws(c, B, T);
  std::vector<uint32_t> inputs(B * T), targets(B * T);
  for (int64_t i = 0; i < B * T; ++i) inputs[i] = uint32_t(i * 17 % 97), targets[i] = uint32_t(i * 29 % 97);
  *loss = train_forward_backward(params, grads, inputs.data(), targets.data(), B, T, ws);
  ThreadPool::set_global_threads(0);
  std::vector<float> out;
  grads.for_each([&](const std::string&, const Tensor& t) {
    out.insert(out.end(), t.data<float>(), t.data<float>() + t.numel());
  });
  return out;
}

// 1 thread: one shard; 2 threads: one sequence per thread (batch-parallel); 3 threads with a batch
// of 2: one shard, kernels split over the pool. All three agree to rounding.
TEST(TrainStep, BatchParallelAndKernelParallelAgree) {
  float l1, l2, l3;
  const auto g1 = grads_with_threads(1, &l1), g2 = grads_with_threads(2, &l2), g3 = grads_with_threads(3, &l3);
  EXPECT_NEAR(l1, l2, 1e-6f * l1);
  EXPECT_NEAR(l1, l3, 1e-6f * l1);
  float mag = 0;
  for (float v : g1) mag = std::max(mag, std::abs(v));
  for (size_t i = 0; i < g1.size(); ++i) {
    ASSERT_NEAR(g1[i], g2[i], 1e-5f * mag) << i;
    ASSERT_NEAR(g1[i], g3[i], 1e-5f * mag) << i;
  }
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
  grads.layers[0].wq.data<float>()[3] = std::nanf("");
  const float before = params.layers[0].wq.data<float>()[0];
  EXPECT_TRUE(std::isnan(opt.step(params, grads, 0.1f)));
  EXPECT_EQ(opt.step_count(), 1);
  EXPECT_EQ(params.layers[0].wq.data<float>()[0], before);
  int states = 0;
  opt.for_each_state([&](const std::string& name, Tensor&) { states += name.rfind("adam_", 0) == 0; });
  EXPECT_EQ(states, 2 * (1 + 9 + 1 + 1));
}

}  // namespace
}  // namespace flame

namespace flame {
namespace {
TEST(AdamWTest, Avx2UpdateMatchesScalar) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  const int64_t n = 1003;  // leaves a scalar tail
  std::mt19937 rng(4);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> p(n), g(n), m(n), v(n);
  for (int64_t i = 0; i < n; ++i) p[i] = d(rng), g[i] = d(rng), m[i] = 0.1f * d(rng), v[i] = std::abs(d(rng));
  auto p2 = p, m2 = m, v2 = v;
  const AdamWScalars s{0.5f, 0.9f, 0.95f, 1e-8f, 0.99f, 1e-2f, 0.3f};
  avx2::adamw_update(p.data(), g.data(), m.data(), v.data(), n, s);
  scalar::adamw_update(p2.data(), g.data(), m2.data(), v2.data(), n, s);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_NEAR(p[i], p2[i], 1e-6f * (1 + std::abs(p2[i]))) << i;
    ASSERT_NEAR(m[i], m2[i], 1e-6f * (1 + std::abs(m2[i]))) << i;
    ASSERT_NEAR(v[i], v2[i], 1e-6f * (1 + std::abs(v2[i]))) << i;
  }
}

// The gradient-norm pass: AVX2 lanes against the scalar double loop and a long-double sum.
TEST(AdamWTest, Avx2SumOfSquaresMatchesScalar) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  std::mt19937 rng(5);
  std::normal_distribution<float> d(0.0f, 3.0f);
  for (int64_t n : {0, 1, 7, 8, 9, 1003, 100000}) {
    std::vector<float> g(n);
    for (auto& x : g) x = d(rng);
    long double exact = 0;
    for (float x : g) exact += (long double)x * x;
    const double a = avx2::sum_of_squares_f64(g.data(), n), s = scalar::sum_of_squares_f64(g.data(), n);
    EXPECT_NEAR(a, double(exact), 1e-13 * double(exact)) << n;
    EXPECT_NEAR(s, double(exact), 1e-12 * double(exact)) << n;
  }
}
}  // namespace
}  // namespace flame
