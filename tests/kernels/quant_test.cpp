// Round-trip error bounds per type, the AVX2 dot products against their scalar twins, the scalar
// dot products against a float dot of the dequantized operands, and matmul_quant end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <iterator>
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

using test::gaussian;

std::vector<uint8_t> quantized(DType type, const std::vector<float>& x) {
  std::vector<uint8_t> q(row_bytes(type, static_cast<int64_t>(x.size())));
  quantize_row(type, x.data(), q.data(), static_cast<int64_t>(x.size()));
  return q;
}

std::vector<float> dequantized(DType type, const std::vector<uint8_t>& q, int64_t n) {
  std::vector<float> y(n);
  dequantize_row(type, q.data(), y.data(), n);
  return y;
}

// Relative RMS round-trip error on Gaussian data. Bounds follow from the format: a uniform grid of
// L levels over a group's range gives RMS error step/sqrt(12); the bounds below are that estimate
// for the group size and bit width with margin for fp16 scales and clamping at the range ends
// (llama.cpp's own quantizers land at about the same values).
struct RoundTripCase {
  DType type;
  double max_relative_rms;
};

class QuantRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(QuantRoundTrip, ErrorWithinFormatBound) {
  const auto [type, bound] = GetParam();
  const int64_t n = 256 * 64;
  const auto x = gaussian(n, 42);
  const auto y = dequantized(type, quantized(type, x), n);
  double err2 = 0, ref2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    err2 += (x[i] - y[i]) * (x[i] - y[i]);
    ref2 += x[i] * x[i];
  }
  const double rel = std::sqrt(err2 / ref2);
  EXPECT_LT(rel, bound) << dtype_name(type);
  RecordProperty("relative_rms", std::to_string(rel));
}

INSTANTIATE_TEST_SUITE_P(AllTypes, QuantRoundTrip,
                         ::testing::Values(RoundTripCase{DType::Q8_0, 0.006}, RoundTripCase{DType::Q4_0, 0.12},
                                           RoundTripCase{DType::Q4_1, 0.10}, RoundTripCase{DType::Q5_0, 0.06},
                                           RoundTripCase{DType::Q5_1, 0.05}, RoundTripCase{DType::Q2_K, 0.40},
                                           RoundTripCase{DType::Q3_K, 0.20}, RoundTripCase{DType::Q4_K, 0.10},
                                           RoundTripCase{DType::Q5_K, 0.05}, RoundTripCase{DType::Q6_K, 0.025}),
                         [](const auto& info) { return std::string(dtype_name(info.param.type)); });

// Per-block worst case for the simple types: |x - y| <= half a step, except the one clamped end of
// the signed range in Q4_0/Q5_0 (the extreme value maps to -8/-16, so +amax may land a full step off).
TEST(QuantRoundTrip, SimpleTypesMaxErrorPerBlock) {
  const int64_t n = 32 * 256;
  const auto x = gaussian(n, 7);
  struct Case {
    DType type;
    double steps_of_range;  // max error as a fraction of the block's amax (or range for _1 types)
    bool uses_range;
  };
  for (const Case c : {Case{DType::Q8_0, 0.5 / 127 + 1.0 / 2048, false}, Case{DType::Q4_0, 1.0 / 8 + 1e-3, false},
                       Case{DType::Q5_0, 1.0 / 16 + 1e-3, false}, Case{DType::Q4_1, 0.5 / 15 + 2e-3, true},
                       Case{DType::Q5_1, 0.5 / 31 + 2e-3, true}}) {
    const auto y = dequantized(c.type, quantized(c.type, x), n);
    for (int64_t b = 0; b < n / 32; ++b) {
      float amax = 0, lo = x[32 * b], hi = x[32 * b];
      for (int j = 0; j < 32; ++j) {
        amax = std::max(amax, std::fabs(x[32 * b + j]));
        lo = std::min(lo, x[32 * b + j]);
        hi = std::max(hi, x[32 * b + j]);
      }
      const double limit = c.steps_of_range * (c.uses_range ? hi - lo : amax);
      for (int j = 0; j < 32; ++j) ASSERT_LE(std::fabs(x[32 * b + j] - y[32 * b + j]), limit) << dtype_name(c.type);
    }
  }
}

TEST(QuantRoundTrip, ZerosStayZero) {
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K,
                  DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K}) {
    const std::vector<float> x(256, 0.0f);
    for (float v : dequantized(t, quantized(t, x), 256)) ASSERT_EQ(v, 0.0f) << dtype_name(t);
  }
}

TEST(QuantRoundTrip, BadSizesAndTypesAreErrors) {
  std::vector<float> x(100);
  std::vector<uint8_t> q(1000);
  EXPECT_THROW(quantize_row(DType::Q4_K, x.data(), q.data(), 100), ArgumentError);
  EXPECT_THROW(dequantize_row(DType::Q8_0, q.data(), x.data(), 33), ArgumentError);
  EXPECT_THROW(dequantize_row(DType::I32, q.data(), x.data(), 4), UnsupportedError);
  EXPECT_TRUE(quant_type_supported(DType::Q6_K));
  EXPECT_FALSE(quant_type_supported(DType::Q8_1));
}

const DType kWeightTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,
                              DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};

// The scalar dot must equal the float dot of the dequantized operands (it is the same sum, done in
// integers per block): tolerance is float rounding of a 4096-term sum, 1e-5 of sum |terms|.
TEST(QuantDot, ScalarEqualsDequantizedFloatDot) {
  const int64_t n = 4096;
  for (DType t : kWeightTypes) {
    const auto& k = quant::kernels(t);
    const auto w = quantized(t, gaussian(n, 1));
    const auto a = quantized(k.act_type, gaussian(n, 2));
    const auto wf = dequantized(t, w, n), af = dequantized(k.act_type, a, n);
    double ref = 0, mag = 0;
    for (int64_t i = 0; i < n; ++i) {
      ref += static_cast<double>(wf[i]) * af[i];
      mag += std::fabs(static_cast<double>(wf[i]) * af[i]);
    }
    EXPECT_NEAR(k.dot_scalar(n, w.data(), a.data()), ref, 1e-5 * mag) << dtype_name(t);
  }
}

// AVX2 twins: every type but Q4_0/Q8_0 produces the same integer sums as its scalar twin and
// repeats its float epilogue, so they must match bit for bit. Q4_0/Q8_0 accumulate block floats in
// 8 lanes: 1e-6 of sum |terms| on random scales, and exactly when every scale is 1 (all partial sums
// are then exact integers in float).
bool avx2_is_bit_exact(DType t) {
  return t != DType::Q4_0 && t != DType::Q8_0;
}

TEST(QuantDot, EveryWeightTypeHasAnAvx2Twin) {
  for (DType t : kWeightTypes) EXPECT_NE(quant::kernels(t).dot_avx2, nullptr) << dtype_name(t);
}

TEST(QuantDot, Avx2MatchesScalar) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  const int64_t n = 4096;
  for (DType t : kWeightTypes) {
    const auto& k = quant::kernels(t);
    if (!k.dot_avx2) continue;
    for (uint32_t seed = 0; seed < 5; ++seed) {
      auto w = quantized(t, gaussian(n, 10 + seed, 0.1f + seed));
      auto a = quantized(k.act_type, gaussian(n, 20 + seed));
      const float s = k.dot_scalar(n, w.data(), a.data());
      const float v = k.dot_avx2(n, w.data(), a.data());
      if (avx2_is_bit_exact(t)) {
        EXPECT_EQ(v, s) << dtype_name(t) << " seed " << seed;
        continue;
      }
      const auto wf = dequantized(t, w, n), af = dequantized(k.act_type, a, n);
      double mag = 0;
      for (int64_t i = 0; i < n; ++i) mag += std::fabs(static_cast<double>(wf[i]) * af[i]);
      EXPECT_NEAR(v, s, 1e-6 * mag) << dtype_name(t);
      // Unit scales: bytes 0..1 of every 32-element block are its fp16 d.
      const size_t wb = dtype_info(t).type_size, ab = dtype_info(k.act_type).type_size;
      for (int64_t b = 0; b < n / 32; ++b) {
        w[b * wb] = 0x00, w[b * wb + 1] = 0x3C;
        a[b * ab] = 0x00, a[b * ab + 1] = 0x3C;
      }
      EXPECT_EQ(k.dot_avx2(n, w.data(), a.data()), k.dot_scalar(n, w.data(), a.data())) << dtype_name(t);
    }
  }
}

// Offsets of the fp16 scale fields (d, and m/dmin where the type has one) inside each weight block.
std::vector<size_t> half_scale_offsets(DType t) {
  switch (t) {
    case DType::Q4_1:
    case DType::Q5_1:
    case DType::Q4_K:
    case DType::Q5_K:
      return {0, 2};
    case DType::Q5_0:
      return {0};
    case DType::Q2_K:
      return {offsetof(quant::BlockQ2_K, d), offsetof(quant::BlockQ2_K, dmin)};
    case DType::Q3_K:
      return {offsetof(quant::BlockQ3_K, d)};
    case DType::Q6_K:
      return {offsetof(quant::BlockQ6_K, d)};
    default:
      return {};
  }
}

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Random bytes as weight and activation blocks (every level, every high bit, int8 -128 included),
// with scales drawn from fp16's extremes (largest, smallest subnormal, smallest normal, +-0) and
// ordinary values; Q8_K bsums are recomputed from the random qs as the format requires. The AVX2 dot
// must give the scalar twin's float bit for bit, overflow to inf/NaN included.
TEST(QuantDot, Avx2EqualsScalarOnRandomBlocksWithExtremeScales) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  const uint16_t halves[] = {0x7BFF, 0xFBFF, 0x0001, 0x8001, 0x0400, 0x0000, 0x8000, 0x3C00, 0xB800, 0x2E66, 0x5A00};
  const float act_scales[] = {1.0f, 1e-30f, 3e20f, -2.5e-3f, 0.0f, 7.5f};
  std::mt19937 rng(42);
  const int64_t n = 8 * 256;  // 8 super-blocks = 64 32-element blocks
  for (DType t : kWeightTypes) {
    if (!avx2_is_bit_exact(t)) continue;
    const auto& k = quant::kernels(t);
    const size_t wb = dtype_info(t).type_size, ab = dtype_info(k.act_type).type_size;
    for (int64_t len : {n, n - 96}) {  // n - 96: legacy types end with a partial group of 4 blocks
      if (len % dtype_info(t).block_size != 0) continue;
      for (int trial = 0; trial < 40; ++trial) {
        std::vector<uint8_t> w(row_bytes(t, len)), a(row_bytes(k.act_type, len));
        for (auto& byte : w) byte = static_cast<uint8_t>(rng());
        for (auto& byte : a) byte = static_cast<uint8_t>(rng());
        for (size_t b = 0; b < w.size() / wb; ++b)
          for (size_t off : half_scale_offsets(t)) {
            const uint16_t h = trial % 4 == 0 ? static_cast<uint16_t>(0x3C00)  // unit scales
                                              : halves[rng() % std::size(halves)];
            std::memcpy(&w[b * wb + off], &h, 2);
          }
        for (size_t b = 0; b < a.size() / ab; ++b) {
          if (k.act_type == DType::Q8_0) {
            const uint16_t h = halves[rng() % std::size(halves)];
            std::memcpy(&a[b * ab], &h, 2);
          } else {
            auto* blk = reinterpret_cast<quant::BlockQ8_K*>(&a[b * ab]);
            blk->d = act_scales[rng() % std::size(act_scales)];
            for (int j = 0; j < 16; ++j) {
              int s = 0;
              for (int l = 0; l < 16; ++l) s += blk->qs[16 * j + l];
              blk->bsums[j] = static_cast<int16_t>(s);
            }
          }
        }
        const float s = k.dot_scalar(len, w.data(), a.data());
        const float v = k.dot_avx2(len, w.data(), a.data());
        ASSERT_EQ(float_bits(v), float_bits(s))
            << dtype_name(t) << " len " << len << " trial " << trial << ": " << v << " vs " << s;
      }
    }
  }
}

// matmul_quant against a float matmul of the dequantized weights and dequantized activations
// (exactly the operands the kernel multiplies), for decode and prompt shapes, 2 threads.
TEST(QuantMatmul, MatchesDequantizedReference) {
  ThreadPool pool(2);
  const int64_t n = 72, k = 512;
  for (DType t : kWeightTypes) {
    const auto& kern = quant::kernels(t);
    const auto wf32 = gaussian(n * k, 3);
    Tensor w = Tensor::empty(t, {n, k});
    for (int64_t r = 0; r < n; ++r) quantize_row(t, wf32.data() + r * k, w.row<void>(r), k);
    for (int64_t m : {1, 7}) {
      const auto x = gaussian(m * k, 5);
      std::vector<float> y(m * n);
      matmul_quant(w, x.data(), y.data(), m, pool);
      std::vector<float> wrow(k), xq(k);
      std::vector<uint8_t> aq(row_bytes(kern.act_type, k));
      for (int64_t i = 0; i < m; ++i) {
        quantize_row(kern.act_type, x.data() + i * k, aq.data(), k);
        dequantize_row(kern.act_type, aq.data(), xq.data(), k);
        for (int64_t r = 0; r < n; ++r) {
          dequantize_row(t, w.row<void>(r), wrow.data(), k);
          double ref = 0, mag = 0;
          for (int64_t j = 0; j < k; ++j) {
            ref += static_cast<double>(wrow[j]) * xq[j];
            mag += std::fabs(static_cast<double>(wrow[j]) * xq[j]);
          }
          ASSERT_NEAR(y[i * n + r], ref, 1e-5 * mag) << dtype_name(t) << " m=" << m << " row " << r;
        }
      }
    }
  }
}

// The prompt path (m >= 8) against a double-precision product of the dequantized weights and the
// float inputs. Types with the integer GEMM (quant_gemm.h) quantize the activations to 8 bits, so
// their bound adds sum |w| * |x - x_deq|; the dequantize + sgemm types keep float activations.
TEST(QuantMatmul, PromptPathMatchesDequantizedFloatProduct) {
  ThreadPool pool(2);
  const int64_t n = 40, k = 512, m = 9;
  for (DType t : kWeightTypes) {
    const auto wf32 = gaussian(n * k, 8);
    Tensor w = Tensor::empty(t, {n, k});
    for (int64_t r = 0; r < n; ++r) quantize_row(t, wf32.data() + r * k, w.row<void>(r), k);
    const auto x = gaussian(m * k, 9);
    std::vector<float> y(m * n), wrow(k), xq(m * k);
    matmul_quant(w, x.data(), y.data(), m, pool);
    const DType act_type = quant::kernels(t).act_type;
    std::vector<uint8_t> aq(row_bytes(act_type, k));
    for (int64_t i = 0; i < m; ++i) {
      quantize_row(act_type, x.data() + i * k, aq.data(), k);
      dequantize_row(act_type, aq.data(), xq.data() + i * k, k);
    }
    for (int64_t r = 0; r < n; ++r) {
      dequantize_row(t, w.row<void>(r), wrow.data(), k);
      for (int64_t i = 0; i < m; ++i) {
        double ref = 0, mag = 0, act_err = 0;
        for (int64_t j = 0; j < k; ++j) {
          ref += static_cast<double>(wrow[j]) * x[i * k + j];
          mag += std::fabs(static_cast<double>(wrow[j]) * x[i * k + j]);
          act_err +=
              std::fabs(static_cast<double>(wrow[j])) * std::fabs(static_cast<double>(x[i * k + j]) - xq[i * k + j]);
        }
        const double bound = 1e-5 * mag + (quant_gemm_supported(t) ? act_err : 0.0);
        ASSERT_NEAR(y[i * n + r], ref, bound) << dtype_name(t) << " row " << r;
      }
    }
  }
}

TEST(QuantMatmul, RejectsBadShapesAndTypes) {
  ThreadPool pool(1);
  std::vector<float> x(64), y(64);
  Tensor q8k = Tensor::empty(DType::Q8_K, {2, 256});
  EXPECT_THROW(matmul_quant(q8k, x.data(), y.data(), 1, pool), UnsupportedError);
  Tensor i32 = Tensor::empty(DType::I32, {2, 32});
  EXPECT_THROW(matmul_quant(i32, x.data(), y.data(), 1, pool), UnsupportedError);
}

}  // namespace
}  // namespace flame
