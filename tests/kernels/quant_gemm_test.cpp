// The integer GEMM of quant_gemm.h: AVX2 against its scalar twin (bit-identical: same integer sums,
// same float epilogue order), both against the per-row dot products and against a double-precision
// product of the dequantized weights with the float inputs, for awkward shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/core/half.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_gemm.h"
#include "support/test_support.h"

namespace flame {
namespace {

constexpr DType kGemmTypes[] = {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

using test::gaussian;

Tensor random_weight(DType type, int64_t n, int64_t k, uint32_t seed) {
  const auto src = gaussian(n * k, seed);
  Tensor w = Tensor::empty(type, {n, k});
  for (int64_t r = 0; r < n; ++r) quantize_row(type, src.data() + r * k, w.row<void>(r), k);
  return w;
}

// Activations with a few large channels, as real hidden states have (stresses the block scales).
std::vector<float> activations(int64_t m, int64_t k, uint32_t seed) {
  auto x = gaussian(m * k, seed);
  for (int64_t i = 0; i < m; ++i) x[i * k + (7 * i) % k] *= 20.0f;
  return x;
}

struct Shape {
  int64_t m, n, k;
};

// m = 1..17 and 512, n not a multiple of the 8-row panel, k from one super-block to 4096.
std::vector<Shape> awkward_shapes() {
  std::vector<Shape> shapes;
  for (int64_t m = 1; m <= 17; ++m) shapes.push_back({m, 8 + (m % 9), m % 2 ? 256 : 768});
  shapes.push_back({5, 21, 4096});
  shapes.push_back({512, 11, 256});
  shapes.push_back({512, 16, 2048});
  return shapes;
}

TEST(QuantGemm, Avx2EqualsScalarBitForBit) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  ThreadPool pool(2);
  for (DType t : kGemmTypes)
    for (const Shape& s : awkward_shapes()) {
      const Tensor w = random_weight(t, s.n, s.k, 11);
      const auto x = activations(s.m, s.k, 12);
      std::vector<float> fast(s.m * s.n, -1.0f), ref(s.m * s.n, -2.0f);
      quant_gemm(w, x.data(), fast.data(), s.m, pool);
      quant_gemm_scalar(w, x.data(), ref.data(), s.m, pool);
      for (int64_t i = 0; i < s.m * s.n; ++i)
        ASSERT_EQ(fast[i], ref[i]) << dtype_name(t) << " m=" << s.m << " n=" << s.n << " k=" << s.k << " at " << i / s.n
                                   << "," << i % s.n;
    }
}

// Q5_K levels reach 31, so 8 groups of vpmaddubsw pairs (8 * 2 * 31 * 127) would overflow the 16-bit
// sums the Q4_K kernel keeps per sub-block. All-maximal levels and scales against activations of
// +-127 must still equal the scalar twin's exact integer sums.
TEST(QuantGemm, Q5kExtremeLevelsDoNotSaturate16BitSums) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  ThreadPool pool(1);
  const int64_t n = 8, k = 512, m = 8;
  Tensor w = Tensor::empty(DType::Q5_K, {n, k});
  for (int64_t r = 0; r < n; ++r) {
    auto* blocks = static_cast<quant::BlockQ5_K*>(w.row<void>(r));
    for (int64_t b = 0; b < k / quant::kQK_K; ++b) {
      blocks[b].d = f32_to_f16(0.001f);
      blocks[b].dmin = f32_to_f16(r % 2 ? 0.0f : 0.002f);
      std::memset(blocks[b].scales, 0xFF, sizeof blocks[b].scales);  // scales and mins 63
      std::memset(blocks[b].qh, 0xFF, sizeof blocks[b].qh);          // every level 31
      std::memset(blocks[b].qs, 0xFF, sizeof blocks[b].qs);
    }
  }
  // Row i: all equal (every activation level -127), or the first one positive and the rest
  // negative (levels +127 after it), alternating.
  std::vector<float> x(m * k);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t e = 0; e < k; ++e) x[i * k + e] = i % 2 == 0 || e % quant::kQK_K == 0 ? 1.0f : -1.0f;
  std::vector<float> fast(m * n), ref(m * n);
  quant_gemm(w, x.data(), fast.data(), m, pool);
  quant_gemm_scalar(w, x.data(), ref.data(), m, pool);
  EXPECT_EQ(fast, ref);
  // Independent check of row 0 against activation 0 (all x = 1, quantized exactly): every weight
  // dequantizes to d * 63 * 31 - dmin * 63.
  const float dw = f16_to_f32(f32_to_f16(0.001f)), dm = f16_to_f32(f32_to_f16(0.002f));
  EXPECT_NEAR(ref[0], k * (dw * 63 * 31 - dm * 63), 1e-4 * k * dw * 63 * 31);
}

// The AVX2 activation quantizers write the same bytes as the scalar ones, including all-zero
// blocks, exact .5 ties after scaling, and a block whose largest magnitude appears with both signs.
TEST(QuantGemm, Avx2ActivationQuantizersEqualScalar) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  const int64_t n = 4096;
  auto x = activations(1, n, 51);
  for (int i = 0; i < 256; ++i) x[i] = 0.0f;  // zero blocks
  // Every 32-block starts with 127, so the scale is 1 (Q8_0) or -1 (Q8_K) and the k + 0.5 values
  // are exact ties: lround and nearest_int both round them away from zero.
  for (int i = 256; i < 512; ++i) x[i] = i % 32 == 0 ? 127.0f : static_cast<float>(i % 64) - 31.5f;
  x[600] = 9.0f;  // +-max in one block: first wins
  x[700] = -9.0f;
  x[1100] = -9.0f;
  x[1200] = 9.0f;
  for (auto [type, fast] :
       {std::pair{DType::Q8_0, &quant::quantize_q8_0_avx2}, std::pair{DType::Q8_K, &quant::quantize_q8_k_avx2}}) {
    std::vector<uint8_t> a(row_bytes(type, n)), b(row_bytes(type, n));
    quantize_row(type, x.data(), a.data(), n);
    fast(x.data(), b.data(), n);
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size())) << dtype_name(type);
  }
}

// Against the per-row dot products on the same quantized activations: the integer sums per block
// are the same, only the float summation order differs, so the gap is a few float roundings of
// the magnitude sum (bound 1e-5 * sum |w_deq * a_deq|).
TEST(QuantGemm, MatchesPerRowDotProducts) {
  ThreadPool pool(2);
  for (DType t : kGemmTypes) {
    const auto& kern = quant::kernels(t);
    for (const Shape& s : awkward_shapes()) {
      if (s.m == 512 && s.k > 256) continue;  // the scalar dot oracle is slow; one 512-row case is enough
      const Tensor w = random_weight(t, s.n, s.k, 21);
      const auto x = activations(s.m, s.k, 22);
      std::vector<float> y(s.m * s.n);
      quant_gemm(w, x.data(), y.data(), s.m, pool);
      std::vector<uint8_t> aq(row_bytes(kern.act_type, s.k));
      std::vector<float> wd(s.k), ad(s.k);
      for (int64_t i = 0; i < s.m; ++i) {
        quantize_row(kern.act_type, x.data() + i * s.k, aq.data(), s.k);
        dequantize_row(kern.act_type, aq.data(), ad.data(), s.k);
        for (int64_t r = 0; r < s.n; ++r) {
          dequantize_row(t, w.row<void>(r), wd.data(), s.k);
          double mag = 0;
          for (int64_t e = 0; e < s.k; ++e) mag += std::fabs(static_cast<double>(wd[e]) * ad[e]);
          const float dot = kern.dot_scalar(s.k, w.row<void>(r), aq.data());
          ASSERT_NEAR(y[i * s.n + r], dot, 1e-5 * mag + 1e-6)
              << dtype_name(t) << " m=" << s.m << " n=" << s.n << " k=" << s.k << " at " << i << "," << r;
        }
      }
    }
  }
}

// Against sum_e w_deq[e] * x[e] in double with the ORIGINAL float inputs. The only approximation
// is the 8-bit activation quantization, so |y - ref| <= sum_e |w_deq[e]| * |x[e] - x_deq[e]| plus
// float rounding (1e-5 * sum |w_deq * x|).
TEST(QuantGemm, MatchesDequantizedFloatProductWithinActivationError) {
  ThreadPool pool(2);
  for (DType t : kGemmTypes) {
    const auto& kern = quant::kernels(t);
    for (const Shape& s : {Shape{9, 13, 256}, Shape{17, 19, 1024}, Shape{512, 8, 512}}) {
      const Tensor w = random_weight(t, s.n, s.k, 31);
      const auto x = activations(s.m, s.k, 32);
      std::vector<float> y(s.m * s.n);
      quant_gemm(w, x.data(), y.data(), s.m, pool);
      std::vector<uint8_t> aq(row_bytes(kern.act_type, s.k));
      std::vector<float> wd(s.k), ad(s.k);
      double worst_fraction = 0;  // how much of the bound is used: must be < 1, and not ~0
      for (int64_t i = 0; i < s.m; ++i) {
        const float* xi = x.data() + i * s.k;
        quantize_row(kern.act_type, xi, aq.data(), s.k);
        dequantize_row(kern.act_type, aq.data(), ad.data(), s.k);
        for (int64_t r = 0; r < s.n; ++r) {
          dequantize_row(t, w.row<void>(r), wd.data(), s.k);
          double ref = 0, mag = 0, act_err = 0;
          for (int64_t e = 0; e < s.k; ++e) {
            ref += static_cast<double>(wd[e]) * xi[e];
            mag += std::fabs(static_cast<double>(wd[e]) * xi[e]);
            act_err += std::fabs(static_cast<double>(wd[e])) * std::fabs(static_cast<double>(xi[e]) - ad[e]);
          }
          const double bound = act_err + 1e-5 * mag;
          ASSERT_NEAR(y[i * s.n + r], ref, bound) << dtype_name(t) << " m=" << s.m << " at " << i << "," << r;
          worst_fraction = std::max(worst_fraction, std::fabs(y[i * s.n + r] - ref) / bound);
        }
      }
      // The bound is not vacuous: the error really comes from the activation rounding.
      EXPECT_GT(worst_fraction, 0.01) << dtype_name(t);
    }
  }
}

// matmul_quant routes prompts (m >= 8) of these types through the integer GEMM.
TEST(QuantGemm, MatmulQuantUsesItForPrompts) {
  ThreadPool pool(2);
  for (DType t : kGemmTypes) {
    const Tensor w = random_weight(t, 24, 512, 41);
    const auto x = activations(12, 512, 42);
    std::vector<float> a(12 * 24), b(12 * 24);
    matmul_quant(w, x.data(), a.data(), 12, pool);
    quant_gemm(w, x.data(), b.data(), 12, pool);
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << dtype_name(t);
  }
}

TEST(QuantGemm, RejectsUnsupportedTypesAndShapes) {
  ThreadPool pool(1);
  std::vector<float> x(1024), y(1024);
  EXPECT_FALSE(quant_gemm_supported(DType::Q4_1));
  EXPECT_THROW(quant_gemm(Tensor::empty(DType::Q4_1, {2, 32}), x.data(), y.data(), 8, pool), UnsupportedError);
  EXPECT_THROW(quant_gemm(Tensor::empty(DType::F32, {2, 32}), x.data(), y.data(), 8, pool), UnsupportedError);
  EXPECT_THROW(quant_gemm(Tensor::empty(DType::Q4_0, {2, 2, 32}), x.data(), y.data(), 8, pool), ArgumentError);
}

}  // namespace
}  // namespace flame
