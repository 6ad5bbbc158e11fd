// Streaming (online-softmax) attention over F32 and F16 KV caches, against a float64 oracle, and its
// AVX2 tile kernels against their scalar twins.
//
// Tolerance: the oracle is float64 softmax attention over exactly the stored keys and values (for an
// F16 cache, the fp16-rounded ones), so the only error left is flame's f32 arithmetic: dot products
// of length head_dim (<= 128, ~sqrt(128) * 2^-24 ~ 7e-7 relative), the exp polynomial (~2 ulp) and
// the online rescaling. Outputs are weighted means of values of magnitude ~1, so an absolute 2e-5
// is a >10x margin; a wrong mask, chunk boundary or segment merge moves outputs by ~1e-2 or more.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/core/half.h"
#include "flame/kernels/attention.h"

namespace flame {
namespace {

std::vector<float> normal_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::vector<uint16_t> to_f16(const std::vector<float>& v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = f32_to_f16(v[i]);
  return h;
}

// float64 causal GQA attention; k and v are the values the cache holds.
std::vector<double> naive_attention(const std::vector<float>& q, const std::vector<double>& k,
                                    const std::vector<double>& v, int64_t n, int64_t pos0, const AttentionShape& s) {
  const int64_t hd = s.head_dim, qd = s.n_heads * hd, kvd = s.n_kv_heads * hd, group = s.n_heads / s.n_kv_heads;
  std::vector<double> out(static_cast<size_t>(n * qd));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < s.n_heads; ++h) {
      const int64_t g = h / group, keys = pos0 + t + 1;
      std::vector<double> p(static_cast<size_t>(keys));
      double mx = -1e300, sum = 0;
      for (int64_t j = 0; j < keys; ++j) {
        double d = 0;
        for (int64_t i = 0; i < hd; ++i) d += q[t * qd + h * hd + i] * k[j * kvd + g * hd + i];
        p[j] = d / std::sqrt(static_cast<double>(hd));
        mx = std::max(mx, p[j]);
      }
      for (auto& x : p) sum += (x = std::exp(x - mx));
      for (int64_t i = 0; i < hd; ++i) {
        double o = 0;
        for (int64_t j = 0; j < keys; ++j) o += p[j] / sum * v[j * kvd + g * hd + i];
        out[t * qd + h * hd + i] = o;
      }
    }
  return out;
}

struct Case {
  AttentionShape shape;
  int64_t n_tokens, pos0;
};

// Covers: several query blocks and key chunks with the causal diagonal inside a chunk (prompt),
// a prompt continuing a cache, decode with one KV head (split into key segments), odd head_dim.
const Case kCases[] = {
    {{8, 2, 64}, 70, 0},    {{8, 2, 64}, 20, 130}, {{32, 8, 64}, 1, 700},
    {{4, 1, 128}, 1, 1500}, {{6, 2, 20}, 9, 61},   {{2, 2, 16}, 3, 0},
};

TEST(AttentionStreaming, MatchesFloat64OracleForF32AndF16CachesFastAndScalar) {
  for (const Case& c : kCases) {
    const AttentionShape& s = c.shape;
    const int64_t total = c.pos0 + c.n_tokens, qd = s.n_heads * s.head_dim, kvd = s.n_kv_heads * s.head_dim;
    // Keys scaled up so softmax is peaked (exercises the running-max rescaling), values ~1.
    const auto q = normal_floats(static_cast<size_t>(c.n_tokens * qd), 1);
    const auto k = normal_floats(static_cast<size_t>(total * kvd), 2, 2.0f);
    const auto v = normal_floats(static_cast<size_t>(total * kvd), 3);
    const auto k16 = to_f16(k), v16 = to_f16(v);
    std::vector<double> k64(k.begin(), k.end()), v64(v.begin(), v.end()), k64h(k.size()), v64h(v.size());
    for (size_t i = 0; i < k.size(); ++i) {
      k64h[i] = f16_to_f32(k16[i]);
      v64h[i] = f16_to_f32(v16[i]);
    }
    const auto want32 = naive_attention(q, k64, v64, c.n_tokens, c.pos0, s);
    const auto want16 = naive_attention(q, k64h, v64h, c.n_tokens, c.pos0, s);
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      for (bool scalar : {false, true}) {
        set_force_scalar(scalar);
        std::vector<float> got32(static_cast<size_t>(c.n_tokens * qd)), got16(got32.size());
        attention_causal(q.data(), KvRows{k.data(), v.data(), DType::F32}, got32.data(), c.n_tokens, c.pos0, s, pool);
        attention_causal(q.data(), KvRows{k16.data(), v16.data(), DType::F16}, got16.data(), c.n_tokens, c.pos0, s,
                         pool);
        set_force_scalar(false);
        double err32 = 0, err16 = 0, f16_vs_exact = 0;
        for (size_t i = 0; i < got32.size(); ++i) {
          err32 = std::max(err32, std::abs(got32[i] - want32[i]));
          err16 = std::max(err16, std::abs(got16[i] - want16[i]));
          f16_vs_exact = std::max(f16_vs_exact, std::abs(got16[i] - want32[i]));
        }
        SCOPED_TRACE(testing::Message() << "heads " << s.n_heads << "/" << s.n_kv_heads << " hd " << s.head_dim << " n "
                                        << c.n_tokens << " pos0 " << c.pos0 << " threads " << threads
                                        << (scalar ? " scalar" : " fast"));
        EXPECT_LT(err32, 2e-5);
        EXPECT_LT(err16, 2e-5);
        // The oracle can tell the two caches apart: fp16 rounding of keys scaled by 2 moves scores by
        // ~1e-3, far above the bound above.
        EXPECT_GT(f16_vs_exact, 1e-4);
      }
    }
  }
}

TEST(AttentionStreaming, ResultDoesNotDependOnThreadCountWithoutKeySegments) {
  // A prompt has enough (block, head) tasks that keys are never split; each task's arithmetic is
  // fixed, so 1 and 3 threads agree bitwise.
  const AttentionShape s{8, 2, 64};
  const int64_t n = 200, qd = 8 * 64, kvd = 2 * 64;
  const auto q = normal_floats(static_cast<size_t>(n * qd), 4);
  const auto k = normal_floats(static_cast<size_t>(n * kvd), 5), v = normal_floats(static_cast<size_t>(n * kvd), 6);
  std::vector<float> a(static_cast<size_t>(n * qd)), b(a.size());
  ThreadPool one(1), three(3);
  attention_causal(q.data(), k.data(), v.data(), a.data(), n, 0, s, one);
  attention_causal(q.data(), k.data(), v.data(), b.data(), n, 0, s, three);
  EXPECT_EQ(a, b);
}

TEST(AttentionStreaming, HeadMajorStridesReadTheSameKeysAsRows) {
  // The inference cache is head-major ([kv head][capacity][head_dim]); the same keys in that layout
  // give bitwise the same output as the row layout, for F32 and F16.
  const AttentionShape s{8, 2, 64};
  const int64_t n = 5, pos0 = 300, total = pos0 + n, capacity = 400, hd = 64, kvd = 2 * 64;
  const auto q = normal_floats(static_cast<size_t>(n * 8 * hd), 7);
  const auto k = normal_floats(static_cast<size_t>(total * kvd), 8), v = normal_floats(k.size(), 9);
  std::vector<float> kh(static_cast<size_t>(2 * capacity * hd)), vh(kh.size());
  for (int64_t j = 0; j < total; ++j)
    for (int64_t g = 0; g < 2; ++g)
      for (int64_t d = 0; d < hd; ++d) {
        kh[g * capacity * hd + j * hd + d] = k[j * kvd + g * hd + d];
        vh[g * capacity * hd + j * hd + d] = v[j * kvd + g * hd + d];
      }
  const auto k16 = to_f16(k), v16 = to_f16(v), kh16 = to_f16(kh), vh16 = to_f16(vh);
  ThreadPool pool(2);
  std::vector<float> a(q.size()), b(q.size()), c(q.size()), d(q.size());
  attention_causal(q.data(), KvRows{k.data(), v.data(), DType::F32}, a.data(), n, pos0, s, pool);
  attention_causal(q.data(), KvRows{kh.data(), vh.data(), DType::F32, hd, capacity * hd}, b.data(), n, pos0, s, pool);
  attention_causal(q.data(), KvRows{k16.data(), v16.data(), DType::F16}, c.data(), n, pos0, s, pool);
  attention_causal(q.data(), KvRows{kh16.data(), vh16.data(), DType::F16, hd, capacity * hd}, d.data(), n, pos0, s,
                   pool);
  EXPECT_EQ(a, b);
  EXPECT_EQ(c, d);
  EXPECT_NE(a, c);
}

TEST(AttentionStreaming, RejectsUnsupportedCacheType) {
  const AttentionShape s{2, 1, 8};
  std::vector<float> q(16), out(16), kv(8);
  EXPECT_THROW(attention_causal(q.data(), KvRows{kv.data(), kv.data(), DType::BF16}, out.data(), 1, 0, s),
               ArgumentError);
}

TEST(AttentionTileKernels, Avx2MatchesScalarTwins) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA/F16C";
  const auto& fast = detail::attention_kernels_avx2();
  const auto& ref = detail::attention_kernels_scalar();
  for (int64_t hd : {8, 20, 64, 128}) {
    for (int64_t rows : {1, 5}) {
      for (int64_t keys : {1, 3, 4, 13, 64}) {
        const int64_t ld = 64, stride = hd + 24;
        const auto q = normal_floats(static_cast<size_t>(rows * hd), 1);
        const auto kv = normal_floats(static_cast<size_t>(keys * stride), 2);
        std::vector<float> s1(static_cast<size_t>(rows * ld)), s2(s1.size());
        fast.score_tile(q.data(), rows, kv.data(), keys, stride, hd, s1.data(), ld);
        ref.score_tile(q.data(), rows, kv.data(), keys, stride, hd, s2.data(), ld);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < keys; ++j) EXPECT_NEAR(s1[r * ld + j], s2[r * ld + j], 1e-5 * std::sqrt(hd));
        const auto p = normal_floats(static_cast<size_t>(rows * ld), 3, 0.2f);
        auto o1 = normal_floats(static_cast<size_t>(rows * hd), 4), o2 = o1;
        fast.pv_tile(p.data(), rows, ld, kv.data(), keys, stride, hd, o1.data());
        ref.pv_tile(p.data(), rows, ld, kv.data(), keys, stride, hd, o2.data());
        for (size_t i = 0; i < o1.size(); ++i) EXPECT_NEAR(o1[i], o2[i], 1e-5);
      }
    }
  }
  // exp: relative error of the polynomial (a few ulp) over the softmax range, 0 far below it.
  for (int64_t n : {1, 7, 8, 9, 64}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) x[i] = -100.0f + 100.0f * static_cast<float>(i) / static_cast<float>(n);
    x[0] = -1000.0f;
    auto a = x, b = x;
    const float sa = fast.exp_shift_sum(a.data(), n, 0.5f), sb = ref.exp_shift_sum(b.data(), n, 0.5f);
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(a[i], b[i], 4e-7 * b[i] + 1e-38f) << x[i];
    EXPECT_EQ(a[0], 0.0f);
    EXPECT_NEAR(sa, sb, 1e-6 * sb);
  }
  // fp16 conversions are exact both ways (F16C rounds to nearest even like f32_to_f16).
  std::vector<float> f = normal_floats(1000, 7, 100.0f);
  f.insert(f.end(), {0.0f, -0.0f, 65504.0f, 65520.0f, 1e6f, -1e6f, 6e-8f, 3e-8f, 2.98e-8f, 1e-5f,
                     std::numeric_limits<float>::infinity(), 1.0009765625f, 1.00048828125f, 1.00146484375f});
  std::vector<uint16_t> h1(f.size()), h2(f.size());
  fast.f32_to_f16(f.data(), h1.data(), static_cast<int64_t>(f.size()));
  ref.f32_to_f16(f.data(), h2.data(), static_cast<int64_t>(f.size()));
  EXPECT_EQ(h1, h2);
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> w1(all.size()), w2(all.size());
  fast.f16_rows_to_f32(all.data(), 256, 256, 256, w1.data());
  ref.f16_rows_to_f32(all.data(), 256, 256, 256, w2.data());
  for (size_t i = 0; i < all.size(); ++i)
    if (!std::isnan(w2[i])) EXPECT_EQ(w1[i], w2[i]) << i;
}

}  // namespace
}  // namespace flame
