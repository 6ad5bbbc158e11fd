// The AVX2 tile path of training attention against the portable sgemm-block path on the configs'
// shapes (head_dim 32 and 64, GQA, a sequence that is not a multiple of the tiles), plus its
// thread-count independence. Correctness against finite differences is in train_kernels_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/kernels/attention_train.h"
#include "support/test_support.h"

namespace flame {
namespace {

// max |a - b| / max |b|
double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, mag = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
    mag = std::max(mag, std::abs(double(b[i])));
  }
  return mag > 0 ? diff / mag : diff;
}

struct Shape {
  int64_t B, T, H, KVH, hd;
};

struct Result {
  std::vector<float> out, probs, dq, dk, dv;
};

struct Inputs {
  explicit Inputs(const Shape& s)
      : q(test::gaussian(s.B * s.T * s.H * s.hd, 1, 1.5f)),
        k(test::gaussian(s.B * s.T * s.KVH * s.hd, 2, 1.5f)),
        v(test::gaussian(s.B * s.T * s.KVH * s.hd, 3, 1.0f)),
        dout(test::gaussian(s.B * s.T * s.H * s.hd, 4, 1.0f)) {}
  std::vector<float> q, k, v, dout;
};

using Forward = void (*)(const float*, const float*, const float*, float*, float*, int64_t, int64_t, int64_t, int64_t,
                         int64_t, ThreadPool&);

// Forward, then `backward(result)` on the saved probabilities.
template <class Backward>
Result run(const Shape& s, const Inputs& in, Forward fwd, Backward backward, ThreadPool& pool) {
  Result r;
  r.out.assign(in.q.size(), 0.0f);
  r.probs.assign(s.B * s.H * s.T * s.T, 0.0f);
  r.dq.assign(in.q.size(), 0.0f);
  r.dk.assign(in.k.size(), 7.0f);  // overwritten, not accumulated into
  r.dv.assign(in.v.size(), 7.0f);
  fwd(in.q.data(), in.k.data(), in.v.data(), r.out.data(), r.probs.data(), s.B, s.T, s.H, s.KVH, s.hd, pool);
  backward(r);
  return r;
}

// with_out: the backward gets the forward output (row sums fused into the dP tiles).
Result run_avx2(const Shape& s, const Inputs& in, ThreadPool& pool, bool with_out = true) {
  return run(
      s, in, avx2::attention_forward,
      [&](Result& r) {
        avx2::attention_backward(in.dout.data(), in.q.data(), in.k.data(), in.v.data(),
                                 with_out ? r.out.data() : nullptr, r.probs.data(), r.dq.data(), r.dk.data(),
                                 r.dv.data(), s.B, s.T, s.H, s.KVH, s.hd, pool);
      },
      pool);
}
Result run_sgemm(const Shape& s, const Inputs& in, ThreadPool& pool) {
  return run(
      s, in, sgemm_blocks::attention_forward,
      [&](Result& r) {
        sgemm_blocks::attention_backward(in.dout.data(), in.q.data(), in.k.data(), in.v.data(), r.probs.data(),
                                         r.dq.data(), r.dk.data(), r.dv.data(), s.B, s.T, s.H, s.KVH, s.hd, pool);
      },
      pool);
}

// Each saved row t: P[t][0..t] close to the reference path, exact zeros up to the end of t's
// 64-row block (the header's contract, which the sgemm backward relies on).
void expect_probs_match(const Shape& s, const std::vector<float>& got, const std::vector<float>& want) {
  double worst = 0, row_sum_err = 0;
  for (int64_t bh = 0; bh < s.B * s.H; ++bh)
    for (int64_t t = 0; t < s.T; ++t) {
      const float* g = got.data() + (bh * s.T + t) * s.T;
      const float* w = want.data() + (bh * s.T + t) * s.T;
      double sum = 0;
      for (int64_t j = 0; j <= t; ++j) worst = std::max(worst, std::abs(double(g[j]) - w[j])), sum += g[j];
      row_sum_err = std::max(row_sum_err, std::abs(sum - 1.0));
      const int64_t zero_end = std::min(s.T, (t / 64 + 1) * 64);
      for (int64_t j = t + 1; j < zero_end; ++j) ASSERT_EQ(g[j], 0.0f) << "bh " << bh << " row " << t << " col " << j;
    }
  EXPECT_LT(worst, 2e-6);
  EXPECT_LT(row_sum_err, 1e-5);
}

void expect_paths_agree(const Shape& s) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  ASSERT_TRUE(avx2::attention_supported(s.hd));
  ThreadPool pool(2);
  const Inputs in(s);
  const Result b = run_sgemm(s, in, pool);
  for (bool with_out : {true, false}) {
    SCOPED_TRACE(with_out ? "backward given the output" : "backward summing P dP itself");
    const Result a = run_avx2(s, in, pool, with_out);
    EXPECT_LT(rel_diff(a.out, b.out), 1e-5);
    expect_probs_match(s, a.probs, b.probs);
    EXPECT_LT(rel_diff(a.dq, b.dq), 2e-5);
    EXPECT_LT(rel_diff(a.dk, b.dk), 2e-5);
    EXPECT_LT(rel_diff(a.dv, b.dv), 2e-5);
  }
  const Result a = run_avx2(s, in, pool);
  // The sgemm backward reads the AVX2 forward's probabilities (mixed paths keep working).
  Result mixed = a;
  sgemm_blocks::attention_backward(in.dout.data(), in.q.data(), in.k.data(), in.v.data(), a.probs.data(),
                                   mixed.dq.data(), mixed.dk.data(), mixed.dv.data(), s.B, s.T, s.H, s.KVH, s.hd, pool);
  EXPECT_LT(rel_diff(mixed.dq, a.dq), 2e-5);
  EXPECT_LT(rel_diff(mixed.dk, a.dk), 2e-5);
  EXPECT_LT(rel_diff(mixed.dv, a.dv), 2e-5);
}

TEST(AttentionTrainAvx2, MatchesSgemmBlocksConfigBShape) {
  expect_paths_agree({2, 256, 8, 4, 32});
}
TEST(AttentionTrainAvx2, MatchesSgemmBlocksConfigCShape) {
  expect_paths_agree({1, 200, 8, 4, 64});
}
TEST(AttentionTrainAvx2, MatchesSgemmBlocksRaggedTiles) {
  expect_paths_agree({2, 77, 3, 1, 16});
}

TEST(AttentionTrainAvx2, SameBitsForEveryThreadCount) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  const Shape s{3, 100, 4, 2, 32};
  const Inputs in(s);
  ThreadPool one(1), two(2), three(3);
  const Result a = run_avx2(s, in, one), b = run_avx2(s, in, two), c = run_avx2(s, in, three);
  const Result d = run_avx2(s, in, one, false), e = run_avx2(s, in, three, false);
  EXPECT_EQ(d.dq, e.dq);
  EXPECT_EQ(d.dk, e.dk);
  EXPECT_EQ(d.dv, e.dv);
  for (const Result* r : {&b, &c}) {
    EXPECT_EQ(r->out, a.out);
    EXPECT_EQ(r->probs, a.probs);
    EXPECT_EQ(r->dq, a.dq);
    EXPECT_EQ(r->dk, a.dk);
    EXPECT_EQ(r->dv, a.dv);
  }
}

// Other head sizes fall back to the sgemm path through the public entry points.
TEST(AttentionTrainAvx2, OnlyMultiplesOf16AreTiled) {
  EXPECT_TRUE(avx2::attention_supported(32));
  EXPECT_TRUE(avx2::attention_supported(64));
  EXPECT_FALSE(avx2::attention_supported(24));
  EXPECT_FALSE(avx2::attention_supported(0));
}

}  // namespace
}  // namespace flame
