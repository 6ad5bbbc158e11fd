// The x8 (interleaved 8-row) layout of Q4_K and Q6_K: pack/unpack invert each other byte for byte,
// and the group kernels (AVX2 and scalar twin) give, bit for bit, the per-row dot_scalar of each of
// the 8 rows (the independent oracle: the GGUF-layout reference kernel, not the code under test) on
// quantized Gaussian weights, on random bytes with extreme fp16 scales, and on extreme activations.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/core/half.h"
#include "flame/core/tensor.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/matmul.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_x8.h"
#include "flame/kernels/quant_x8_tensor.h"
#include "support/test_support.h"

namespace flame {
namespace {

namespace x8 = quant::x8;
using test::gaussian;

constexpr DType kTypes[] = {DType::Q4_K, DType::Q6_K};

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// The fp16 scale fields of a block (d, and dmin for Q4_K), to overwrite random bytes with finite values.
std::vector<size_t> scale_offsets(DType t) {
  if (t == DType::Q4_K) return {offsetof(quant::BlockQ4_K, d), offsetof(quant::BlockQ4_K, dmin)};
  return {offsetof(quant::BlockQ6_K, d)};
}

// 8 rows of k elements, `stride` bytes apart. Mode 0: quantized Gaussians of growing magnitude; mode
// 1: random bytes (every 6-bit scale, min and level) with finite fp16 scales from the smallest
// subnormal to 65504, the extremes the format can hold.
std::vector<uint8_t> make_rows(DType t, int64_t k, size_t stride, int mode, uint32_t seed) {
  std::vector<uint8_t> rows(8 * stride, 0xEE);
  std::mt19937 rng(seed);
  const size_t block = static_cast<size_t>(dtype_info(t).type_size);
  const float extremes[] = {65504.0f, 5.96e-8f, 6.1e-5f, -65504.0f, 1.0f, -0.5f, 1e-3f, 300.0f};
  for (int r = 0; r < 8; ++r) {
    uint8_t* row = rows.data() + r * stride;
    if (mode == 0) {
      const auto f = gaussian(k, seed * 16 + r, 0.01f * static_cast<float>(1 << (2 * r)));
      quantize_row(t, f.data(), row, k);
      continue;
    }
    for (size_t i = 0; i < row_bytes(t, k); ++i) row[i] = static_cast<uint8_t>(rng());
    for (int64_t b = 0; b < k / quant::kQK_K; ++b)
      for (size_t off : scale_offsets(t)) {
        const uint16_t h = f32_to_f16(extremes[rng() % 8] * (rng() % 2 ? 1.0f : 0.25f));
        std::memcpy(row + b * block + off, &h, 2);
      }
  }
  return rows;
}

// One Q8_K activation row. Mode 0: quantized Gaussian; mode 1: levels of -128 and 127 only (the
// largest int16 pair sums the kernels accumulate), with matching block sums.
std::vector<uint8_t> make_act(int64_t k, int mode, uint32_t seed) {
  std::vector<uint8_t> act(row_bytes(DType::Q8_K, k));
  const auto f = gaussian(k, seed, 3.0f);
  quantize_row(DType::Q8_K, f.data(), act.data(), k);
  if (mode == 1) {
    std::mt19937 rng(seed);
    auto* y = reinterpret_cast<quant::BlockQ8_K*>(act.data());
    for (int64_t b = 0; b < k / quant::kQK_K; ++b) {
      y[b].d = b % 2 ? 1e-3f : 7.5f;
      for (int j = 0; j < 16; ++j) {
        int sum = 0;
        for (int l = 0; l < 16; ++l) sum += y[b].qs[16 * j + l] = rng() % 4 ? -128 : 127;
        y[b].bsums[j] = static_cast<int16_t>(sum);
      }
    }
  }
  return act;
}

TEST(QuantX8KQuant, SupportedAndGroupBytes) {
  EXPECT_TRUE(x8::supported(DType::Q4_K));
  EXPECT_TRUE(x8::supported(DType::Q6_K));
  EXPECT_FALSE(x8::supported(DType::Q5_K));
  for (int64_t k : {256, 4096, 8192}) {
    // Q4_K: 8 blocks plus 32 bytes per super-block (scales and mins unpacked to bytes): +2.8%.
    EXPECT_EQ(x8::group_bytes(DType::Q4_K, k), static_cast<size_t>(k / 256 * 1184));
    EXPECT_LT(x8::group_bytes(DType::Q4_K, k), 1.03 * 8 * row_bytes(DType::Q4_K, k));
    EXPECT_EQ(x8::group_bytes(DType::Q6_K, k), 8 * row_bytes(DType::Q6_K, k));  // exactly 8 rows
  }
  EXPECT_THROW(x8::group_bytes(DType::Q4_K, 100), ArgumentError);
  EXPECT_THROW(x8::group_bytes(DType::Q6_K, 0), ArgumentError);
  EXPECT_THROW(x8::group_bytes(DType::Q5_K, 256), UnsupportedError);
}

TEST(QuantX8KQuant, PackUnpackRoundTripIsBitExact) {
  for (DType t : kTypes)
    for (int64_t k : {256, 512, 1280, 8192})
      for (int mode : {0, 1}) {
        const size_t rb = row_bytes(t, k), stride = rb + 24;  // padding between rows stays untouched
        const auto rows = make_rows(t, k, stride, mode, static_cast<uint32_t>(k + mode));
        std::vector<uint8_t> group(x8::group_bytes(t, k));
        x8::pack_group(t, k, rows.data(), stride, group.data());
        std::vector<uint8_t> back(rows.size(), 0xEE);
        x8::unpack_group(t, k, group.data(), back.data(), stride);
        EXPECT_EQ(back, rows) << dtype_name(t) << " k=" << k << " mode=" << mode;
        // The group is a different arrangement, not a copy (the test would otherwise pass vacuously).
        EXPECT_NE(std::memcmp(group.data(), rows.data(), rb), 0);
      }
}

// out[r] of the scalar twin and of the AVX2 kernel == dot_scalar of row r (and the per-row AVX2
// dot), compared as bit patterns.
TEST(QuantX8KQuant, GroupDotsAreBitIdenticalToPerRowScalar) {
  const bool avx2 = cpu().has_avx2_fma();
  set_force_scalar(false);
  int compared = 0;
  for (DType t : kTypes) {
    const auto& kern = quant::kernels(t);
    for (int64_t k : {256, 768, 4096, 8192})
      for (int wmode : {0, 1})
        for (int amode : {0, 1}) {
          const uint32_t seed = static_cast<uint32_t>(k * 4 + wmode * 2 + amode);
          const size_t rb = row_bytes(t, k);
          const auto rows = make_rows(t, k, rb, wmode, seed);
          const auto act = make_act(k, amode, seed + 7);
          std::vector<uint8_t> group(x8::group_bytes(t, k));
          x8::pack_group(t, k, rows.data(), rb, group.data());
          float scalar[8], fast[8];
          x8::group_dot_scalar(t)(k, group.data(), act.data(), scalar);
          if (avx2) x8::group_dot(t)(k, group.data(), act.data(), fast);  // the AVX2 kernel (not forced scalar)
          for (int r = 0; r < 8; ++r) {
            const float want = kern.dot_scalar(k, rows.data() + r * rb, act.data());
            const auto where = ::testing::Message()
                               << dtype_name(t) << " k=" << k << " w=" << wmode << " a=" << amode << " row " << r;
            EXPECT_EQ(float_bits(scalar[r]), float_bits(want)) << where << ": " << scalar[r] << " vs " << want;
            if (!avx2) continue;
            EXPECT_EQ(float_bits(fast[r]), float_bits(want)) << where << ": " << fast[r] << " vs " << want;
            EXPECT_EQ(float_bits(kern.dot_avx2(k, rows.data() + r * rb, act.data())), float_bits(want)) << where;
            ++compared;
          }
        }
  }
  if (!avx2) GTEST_SKIP() << "no AVX2/FMA: only the scalar twins were checked";
  EXPECT_EQ(compared, 2 * 4 * 2 * 2 * 8);
}

// A second, float-level oracle that shares no code with the dot products: the double product of the
// dequantized weight rows (dequantize_q4_k / dequantize_q6_k) and the dequantized activations. The
// group kernel sums exact integers and rounds once per super-block product, so it agrees within
// 1e-5 of sum |w a|.
TEST(QuantX8KQuant, GroupDotMatchesDequantizedDoubleProduct) {
  for (DType t : kTypes)
    for (int64_t k : {256, 4096}) {
      const size_t rb = row_bytes(t, k);
      const auto rows = make_rows(t, k, rb, 0, 91);
      const auto act = make_act(k, 0, 92);
      std::vector<uint8_t> group(x8::group_bytes(t, k));
      x8::pack_group(t, k, rows.data(), rb, group.data());
      float out[8];
      x8::group_dot(t)(k, group.data(), act.data(), out);
      std::vector<float> wf(k), af(k);
      dequantize_row(DType::Q8_K, act.data(), af.data(), k);
      for (int r = 0; r < 8; ++r) {
        dequantize_row(t, rows.data() + r * rb, wf.data(), k);
        double want = 0, mag = 0;
        for (int64_t i = 0; i < k; ++i) {
          want += static_cast<double>(wf[i]) * af[i];
          mag += std::fabs(static_cast<double>(wf[i]) * af[i]);
        }
        EXPECT_NEAR(out[r], want, 1e-5 * mag) << dtype_name(t) << " k=" << k << " row " << r;
      }
    }
}

// Through matmul (x8-legacy's wiring): a Q4_K/Q6_K weight carrying the x8 layout gives exactly the
// results of the same weight without it, in decode (m < 8: group kernels vs per-row dots, which are
// bit-identical) and in the prompt GEMM (m = 64: groups unpacked back to the same GGUF bytes), for
// any thread count. So decode output does not change when packing is on.
TEST(QuantX8KQuant, PackedWeightMatmulEqualsUnpackedExactly) {
  const int64_t n = 72, k = 1024;
  for (DType t : kTypes) {
    Tensor plain = Tensor::empty(t, {n, k});
    const auto f = gaussian(n * k, 5, 0.05f);
    for (int64_t r = 0; r < n; ++r) quantize_row(t, f.data() + r * k, plain.row<void>(r), k);
    ThreadPool one(1);
    Tensor packed = plain;
    packed.set_layout(pack_x8(plain, one));
    ASSERT_NE(x8_weight(packed), nullptr) << dtype_name(t);
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      for (int64_t m : {1, 2, 5, 7, 64}) {
        const auto x = gaussian(m * k, 20 + static_cast<uint32_t>(m));
        std::vector<float> a(m * n), b(m * n);
        matmul(plain, x.data(), a.data(), m, pool);
        matmul(packed, x.data(), b.data(), m, pool);
        EXPECT_EQ(a, b) << dtype_name(t) << " m=" << m << " threads=" << threads;
      }
    }
  }
}

TEST(QuantX8KQuant, ForceScalarSelectsTheScalarTwin) {
  for (DType t : kTypes) {
    set_force_scalar(true);
    EXPECT_EQ(x8::group_dot(t), x8::group_dot_scalar(t));
    set_force_scalar(false);
    if (cpu().has_avx2_fma()) EXPECT_NE(x8::group_dot(t), x8::group_dot_scalar(t));
  }
}

}  // namespace
}  // namespace flame
