// Fast paths against their scalar twins, and kernels against direct formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/core/half.h"
#include "flame/kernels/activation.h"
#include "flame/kernels/attention.h"
#include "flame/kernels/embedding.h"
#include "flame/kernels/matmul.h"
#include "flame/kernels/matmul_detail.h"
#include "flame/kernels/membw.h"
#include "flame/kernels/norm.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/rope.h"
#include "support/test_support.h"

namespace flame {
namespace {

Tensor random_weight(DType type, int64_t n, int64_t k, uint32_t seed) {
  const auto f = test::gaussian(static_cast<size_t>(n * k), seed);
  Tensor w = Tensor::empty(type, {n, k});
  for (int64_t r = 0; r < n; ++r) quantize_row(type, f.data() + r * k, w.row<void>(r), k);
  return w;
}

// Exact f64 product of the stored weights, the oracle both paths are held to.
std::vector<double> matmul_f64(const Tensor& w, const std::vector<float>& x, int64_t m) {
  const int64_t n = w.dim(0), k = w.dim(1);
  std::vector<double> y(static_cast<size_t>(m * n));
  std::vector<float> row(static_cast<size_t>(k));
  for (int64_t r = 0; r < n; ++r) {
    dequantize_row(w.dtype(), w.row<void>(r), row.data(), k);
    for (int64_t i = 0; i < m; ++i) {
      double acc = 0;
      for (int64_t j = 0; j < k; ++j) acc += static_cast<double>(x[i * k + j]) * row[j];
      y[i * n + r] = acc;
    }
  }
  return y;
}

double max_rel(const std::vector<float>& got, const std::vector<double>& want) {
  double diff = 0, ref = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::abs(got[i] - want[i]));
    ref = std::max(ref, std::abs(want[i]));
  }
  return diff / ref;
}

TEST(MatmulKernel, FastAndScalarPathsMatchFloat64ForEveryTypeAndShape) {
  ThreadPool pool(2);
  for (DType type : {DType::F32, DType::F16, DType::BF16}) {
    // m: decode (1..7 -> row-streaming) and prompt (8+ -> tiles + sgemm); odd k exercises tails.
    for (auto [m, n, k] : {std::tuple{1, 37, 96},
                           {3, 64, 200},
                           {5, 33, 7},
                           {6, 19, 531},
                           {2, 40, 77},
                           {8, 70, 352},
                           {17, 300, 256},
                           {64, 129, 77},
                           {1, 13, 8195},    // decode of long rows (k > 4096): 4 rows per pass, odd tail
                           {1, 6, 4104}}) {  // k % 16 == 8: one 8-wide step after the 16-wide loop
      SCOPED_TRACE(testing::Message() << dtype_name(type) << " m=" << m << " n=" << n << " k=" << k);
      const Tensor w = random_weight(type, n, k, 11 * m + k);
      const auto x = test::gaussian(static_cast<size_t>(m * k), 5 + m);
      const auto want = matmul_f64(w, x, m);
      std::vector<float> fast(static_cast<size_t>(m * n)), scalar(fast.size());
      matmul(w, x.data(), fast.data(), m, pool);
      set_force_scalar(true);
      matmul(w, x.data(), scalar.data(), m, pool);
      set_force_scalar(false);
      // f32 accumulation of k terms: ~sqrt(k) * 2^-24 relative; 1e-5 has a wide margin.
      EXPECT_LT(max_rel(fast, want), 1e-5);
      EXPECT_LT(max_rel(scalar, want), 1e-5);
    }
  }
}

TEST(MatmulKernel, Avx2RowKernelMatchesScalarTwinDirectly) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA/F16C";
  for (DType type : {DType::F32, DType::F16, DType::BF16}) {
    for (auto [n, k, m] : {std::tuple<int64_t, int64_t, int64_t>{19, 531, 6}, {13, 531, 1}, {9, 40, 1}}) {
      const Tensor w = random_weight(type, n, k, 3);
      const auto x = test::gaussian(static_cast<size_t>(m * k), 4);
      std::vector<float> a(static_cast<size_t>(m * n)), b(a.size());
      detail::gemv_rows_avx2(type, w.data(), w.row_bytes(), x.data(), a.data(), m, k, n, 0, n);
      detail::gemv_rows_scalar(type, w.data(), w.row_bytes(), x.data(), b.data(), m, k, n, 0, n);
      for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4 * (1 + std::abs(b[i])));
      std::vector<float> ca(static_cast<size_t>(n * k)), cb(ca.size());
      detail::rows_to_f32_avx2(type, w.data(), w.row_bytes(), ca.data(), n, k);
      detail::rows_to_f32_scalar(type, w.data(), w.row_bytes(), cb.data(), n, k);
      EXPECT_EQ(ca, cb) << dtype_name(type);  // conversion is exact
    }
  }
}

// Decode of rows longer than 4096 takes up to 4 weight rows per pass over x; every group size
// (1..4 rows at a range's end) and every k tail must still agree with the scalar twin.
TEST(MatmulKernel, Avx2LongRowDecodeMatchesScalarForEveryGroupSizeAndTail) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA/F16C";
  for (DType type : {DType::F32, DType::F16, DType::BF16}) {
    for (int64_t k : {4097, 4104, 4112, 8192, 8195}) {
      const int64_t n = 19;
      const Tensor w = random_weight(type, n, k, static_cast<uint32_t>(k));
      const auto x = test::gaussian(static_cast<size_t>(k), 6);
      std::vector<float> scalar(static_cast<size_t>(n));
      detail::gemv_rows_scalar(type, w.data(), w.row_bytes(), x.data(), scalar.data(), 1, k, n, 0, n);
      // Long rows go 8 per pass: ranges of whole passes plus tails of every length 0-7.
      for (auto [b, e] : {std::pair<int64_t, int64_t>{0, 19},
                          {1, 18},
                          {2, 19},
                          {3, 4},
                          {0, 16},
                          {5, 11},
                          {4, 8},
                          {6, 11},
                          {1, 7},
                          {9, 17}}) {
        SCOPED_TRACE(testing::Message() << dtype_name(type) << " k=" << k << " rows " << b << ".." << e);
        std::vector<float> fast(static_cast<size_t>(n), -1.0f);
        detail::gemv_rows_avx2(type, w.data(), w.row_bytes(), x.data(), fast.data(), 1, k, n, b, e);
        for (int64_t r = 0; r < n; ++r) {
          if (r < b || r >= e) {
            EXPECT_EQ(fast[r], -1.0f) << "row " << r << " is outside the range and must stay untouched";
            continue;
          }
          // Different summation orders over k terms of unit size: ~sqrt(k) * 2^-24 * |terms|.
          EXPECT_NEAR(fast[r], scalar[r], 2e-5 * std::sqrt(static_cast<double>(k)) * (1 + std::abs(scalar[r])))
              << "row " << r;
        }
      }
    }
  }
}

// A row's decode result must not depend on which rows share its pass (chunk boundaries differ
// between products and thread counts must not change the output bits).
TEST(MatmulKernel, Avx2DecodeRowResultDoesNotDependOnItsNeighbours) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA/F16C";
  for (DType type : {DType::F32, DType::F16, DType::BF16}) {
    for (int64_t k : {2048, 8192, 8195}) {
      SCOPED_TRACE(testing::Message() << dtype_name(type) << " k=" << k);
      const int64_t n = 13;  // one pass of 8 long rows and a tail of 5
      const Tensor w = random_weight(type, n, k, 9);
      const auto x = test::gaussian(static_cast<size_t>(k), 10);
      std::vector<float> together(static_cast<size_t>(n)), alone(static_cast<size_t>(n));
      detail::gemv_rows_avx2(type, w.data(), w.row_bytes(), x.data(), together.data(), 1, k, n, 0, n);
      for (int64_t r = 0; r < n; ++r)
        detail::gemv_rows_avx2(type, w.data(), w.row_bytes(), x.data(), alone.data(), 1, k, n, r, r + 1);
      EXPECT_EQ(together, alone);
    }
  }
}

// StreamReader reads the bytes asked for through its buffer, wrapping at the end, on any pool.
TEST(StreamReader, ReadsAnyAmountThroughItsBuffer) {
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    StreamReader reader(64 << 10, pool);
    for (size_t bytes : {size_t{0}, size_t{1000}, size_t{40} << 10, size_t{200} << 10}) {
      const double s = reader.read(bytes);
      EXPECT_GE(s, 0.0) << bytes;
      EXPECT_LT(s, 10.0) << bytes;
    }
  }
}

TEST(MatmulKernel, RejectsNon2DWeight) {
  Tensor w = Tensor::empty(DType::F32, {4});
  float x = 0, y = 0;
  EXPECT_THROW(matmul(w, &x, &y, 1), ArgumentError);
}

TEST(AttentionKernel, MatchesNaiveCausalGqaAndScalarTwin) {
  const AttentionShape s{6, 2, 16};
  const int64_t pos0 = 5, n = 4, total = pos0 + n, kv = s.n_kv_heads * s.head_dim, qd = s.n_heads * s.head_dim;
  const auto q = test::gaussian(static_cast<size_t>(n * qd), 1);
  const auto k = test::gaussian(static_cast<size_t>(total * kv), 2);
  const auto v = test::gaussian(static_cast<size_t>(total * kv), 3);
  std::vector<float> fast(static_cast<size_t>(n * qd)), scalar(fast.size());
  ThreadPool pool(2);
  attention_causal(q.data(), k.data(), v.data(), fast.data(), n, pos0, s, pool);
  set_force_scalar(true);
  attention_causal(q.data(), k.data(), v.data(), scalar.data(), n, pos0, s, pool);
  set_force_scalar(false);
  // Naive float64: head h uses kv head h / 3; token t sees positions 0..pos0+t.
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < s.n_heads; ++h) {
      const int64_t g = h / 3, keys = pos0 + t + 1;
      std::vector<double> p(static_cast<size_t>(keys));
      double mx = -1e300, sum = 0;
      for (int64_t j = 0; j < keys; ++j) {
        double d = 0;
        for (int64_t i = 0; i < s.head_dim; ++i) d += q[t * qd + h * 16 + i] * k[j * kv + g * 16 + i];
        p[j] = d / 4.0;
        mx = std::max(mx, p[j]);
      }
      for (auto& x : p) sum += (x = std::exp(x - mx));
      for (int64_t i = 0; i < s.head_dim; ++i) {
        double o = 0;
        for (int64_t j = 0; j < keys; ++j) o += p[j] / sum * v[j * kv + g * 16 + i];
        EXPECT_NEAR(fast[t * qd + h * 16 + i], o, 1e-5);
        EXPECT_NEAR(scalar[t * qd + h * 16 + i], o, 1e-5);
      }
    }
}

TEST(AttentionKernel, VectorHelpersMatchScalarTwins) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  for (int64_t n : {1, 7, 8, 16, 64, 100, 128}) {
    const auto a = test::gaussian(static_cast<size_t>(n), 1), b = test::gaussian(static_cast<size_t>(n), 2);
    EXPECT_NEAR(detail::dot_avx2(a.data(), b.data(), n), detail::dot_scalar(a.data(), b.data(), n), 1e-4);
    auto y1 = b, y2 = b;
    detail::axpy_avx2(0.3f, a.data(), y1.data(), n);
    detail::axpy_scalar(0.3f, a.data(), y2.data(), n);
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(y1[i], y2[i], 1e-6);
  }
}

TEST(RopeKernel, RotatesAdjacentPairsByPositionTimesFrequency) {
  const int64_t head_dim = 8, heads = 2;
  const auto table = RopeTable::make(head_dim, 10000.0f, {1.0f, 2.0f, 4.0f, 8.0f});
  auto x = test::gaussian(static_cast<size_t>(2 * heads * head_dim), 9);
  const auto orig = x;
  rope_apply(x.data(), 2, heads, head_dim, table, 3);
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < head_dim / 2; ++i) {
        const double f = std::pow(10000.0, -2.0 * i / head_dim) / std::pow(2.0, i);
        const double a = (3 + t) * f;
        const size_t base = static_cast<size_t>(t * heads * head_dim + h * head_dim + 2 * i);
        EXPECT_NEAR(x[base], orig[base] * std::cos(a) - orig[base + 1] * std::sin(a), 1e-6);
        EXPECT_NEAR(x[base + 1], orig[base] * std::sin(a) + orig[base + 1] * std::cos(a), 1e-6);
      }
  rope_apply(x.data(), 2, heads, head_dim, table, 3, /*inverse=*/true);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], orig[i], 1e-6);
}

TEST(RopeKernel, Llama3FactorsHaveTheThreeBands) {
  // Llama 3.2: head_dim 64, theta 500000, factor 32, original context 8192.
  const auto f = llama3_freq_factors(64, 500000.0f, 32.0f, 1.0f, 4.0f, 8192);
  ASSERT_EQ(f.size(), 32u);
  EXPECT_EQ(f.front(), 1.0f);  // high frequencies untouched
  EXPECT_EQ(f.back(), 32.0f);  // low frequencies fully scaled
  for (size_t i = 1; i < f.size(); ++i) EXPECT_GE(f[i], f[i - 1]);
  EXPECT_THROW(RopeTable::make(7, 10000.0f), ArgumentError);
}

TEST(NormKernel, RmsNormMatchesFormula) {
  const auto x = test::gaussian(2 * 96, 1), w = test::gaussian(96, 2);
  std::vector<float> y(x.size());
  rmsnorm(x.data(), w.data(), y.data(), 2, 96, 1e-5f);
  for (int r = 0; r < 2; ++r) {
    double ss = 0;
    for (int i = 0; i < 96; ++i) ss += x[r * 96 + i] * x[r * 96 + i];
    const double s = 1.0 / std::sqrt(ss / 96 + 1e-5);
    for (int i = 0; i < 96; ++i) EXPECT_NEAR(y[r * 96 + i], x[r * 96 + i] * s * w[i], 1e-5);
  }
}

TEST(ActivationKernel, SwigluAndSoftmax) {
  // 19 values: two AVX2 vectors and a scalar tail, gates from -40 to 50 (sigmoid saturating both ways).
  float gate[19], up[19], out[19];
  for (int i = 0; i < 19; ++i) {
    gate[i] = -40.0f + 5.0f * i;
    up[i] = 0.5f - 0.25f * (i % 5);
  }
  swiglu(gate, up, out, 19);
  for (int i = 0; i < 19; ++i) {
    const double expected = gate[i] / (1 + std::exp(-static_cast<double>(gate[i]))) * up[i];
    EXPECT_NEAR(out[i], expected, 2e-6 * std::abs(expected) + 1e-30) << "gate " << gate[i];
  }
  float p[3] = {1000.0f, 1001.0f, 999.0f};  // stable for large values
  softmax(p, 3);
  EXPECT_NEAR(p[0] + p[1] + p[2], 1.0f, 1e-6);
  EXPECT_NEAR(p[1] / p[0], std::exp(1.0f), 1e-4);
}

TEST(EmbeddingKernel, LooksUpRowsOfAnyTypeAndRejectsBadIds) {
  const Tensor table = random_weight(DType::BF16, 10, 6, 1);
  const int32_t ids[2] = {7, 2};
  std::vector<float> out(12);
  embedding_lookup(table, ids, 2, out.data());
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(out[i], bf16_to_f32(table.row<uint16_t>(7)[i]));
    EXPECT_EQ(out[6 + i], bf16_to_f32(table.row<uint16_t>(2)[i]));
  }
  const int32_t bad = 10;
  EXPECT_THROW(embedding_lookup(table, &bad, 1, out.data()), ArgumentError);
}

TEST(MemoryBandwidthProbe, StreamSumTwinsAgreeAndProbeReturnsPositive) {
  auto v = test::gaussian(1000, 1);
  v.resize(1024, 0.0f);
  if (cpu().has_avx2_fma())
    EXPECT_NEAR(detail::stream_sum_avx2(v.data(), 1024), detail::stream_sum_scalar(v.data(), 1024), 1e-3);
  ThreadPool pool(2);
  EXPECT_GT(measure_read_bandwidth(1 << 20, 1, pool), 0.0);
}

}  // namespace
}  // namespace flame
