// The interleaved 8-row (x8) layout of Q4_0 and Q8_0: pack/unpack is a bit-exact round trip, the
// AVX2 group kernels equal their scalar twins bit for bit, and the scalar twins agree with the
// per-row scalar dot products (quant::kernels(t).dot_scalar, an independent summation) within float
// rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/core/half.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_x8.h"
#include "support/test_support.h"

namespace flame {
namespace {

using test::gaussian;

constexpr DType kTypes[] = {DType::Q4_0, DType::Q8_0};

// 8 rows of k elements quantized from N(0, scale^2), rows `row_bytes` apart.
std::vector<uint8_t> quantized_rows(DType t, int64_t k, uint32_t seed, float scale) {
  const auto f = gaussian(8 * k, seed, scale);
  const size_t rb = row_bytes(t, k);
  std::vector<uint8_t> rows(8 * rb);
  for (int r = 0; r < 8; ++r) quantize_row(t, f.data() + r * k, rows.data() + r * rb, k);
  return rows;
}

// Rows with random level bytes (every value, -128 included for Q8_0) and random finite fp16 scales
// spanning subnormals to 65504: the extreme cases quantize_row never produces.
std::vector<uint8_t> random_rows(DType t, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  const size_t rb = row_bytes(t, k), block = dtype_info(t).type_size;
  std::vector<uint8_t> rows(8 * rb);
  for (auto& byte : rows) byte = static_cast<uint8_t>(rng());
  const uint16_t extremes[] = {0x0001, 0x03FF, 0x7BFF, 0xFBFF, 0x8001, 0x0000, 0x3C00};
  for (size_t b = 0; b < rows.size() / block; ++b) {
    uint16_t d = static_cast<uint16_t>(rng());
    if ((d & 0x7C00) == 0x7C00) d &= 0xBFFF;  // no inf/NaN: keep products finite
    if (b % 5 == 0) d = extremes[(b / 5) % std::size(extremes)];
    std::memcpy(rows.data() + b * block, &d, 2);
  }
  return rows;
}

std::vector<uint8_t> pack(DType t, int64_t k, const std::vector<uint8_t>& rows) {
  std::vector<uint8_t> group(quant::x8::group_bytes(t, k));
  quant::x8::pack_group(t, k, rows.data(), row_bytes(t, k), group.data());
  return group;
}

std::vector<uint8_t> activation(DType t, int64_t k, uint32_t seed, float scale = 1.0f) {
  const auto& kern = quant::kernels(t);
  const auto x = gaussian(k, seed, scale);
  std::vector<uint8_t> act(row_bytes(kern.act_type, k));
  quantize_row(kern.act_type, x.data(), act.data(), k);
  return act;
}

TEST(QuantX8, SupportsLegacyTypesWithSameSize) {
  for (DType t : kTypes) {
    ASSERT_TRUE(quant::x8::supported(t)) << dtype_name(t);
    EXPECT_EQ(quant::x8::group_bytes(t, 4096), 8 * row_bytes(t, 4096)) << dtype_name(t);
  }
  EXPECT_FALSE(quant::x8::supported(DType::F16));
  EXPECT_FALSE(quant::x8::supported(DType::Q5_0));
}

TEST(QuantX8, PackUnpackRoundTripIsBitExact) {
  for (DType t : kTypes)
    for (int64_t k : {32, 96, 2048})
      for (uint32_t seed = 0; seed < 3; ++seed) {
        const auto rows = random_rows(t, k, 10 + seed);
        const auto group = pack(t, k, rows);
        // A larger row stride than the data: pack/unpack honour row_bytes.
        const size_t stride = row_bytes(t, k) + 40;
        std::vector<uint8_t> back(8 * stride, 0xAB);
        quant::x8::unpack_group(t, k, group.data(), back.data(), stride);
        for (int r = 0; r < 8; ++r)
          ASSERT_EQ(0, std::memcmp(back.data() + r * stride, rows.data() + r * row_bytes(t, k), row_bytes(t, k)))
              << dtype_name(t) << " k=" << k << " row " << r;
        EXPECT_NE(group, rows) << "x8 layout should interleave, not copy";
      }
}

TEST(QuantX8, Avx2EqualsScalarBitForBit) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  for (DType t : kTypes) {
    const auto avx2 = quant::x8::group_dot(t);
    const auto scalar = quant::x8::group_dot_scalar(t);
    ASSERT_NE(avx2, scalar) << dtype_name(t);
    // k = 32 * 13: the AVX2 Q4_0 kernel's 8-block stride plus a tail of 5.
    for (int64_t k : {32, 416, 4096})
      for (uint32_t seed = 0; seed < 4; ++seed) {
        const auto rows = seed % 2 ? random_rows(t, k, 20 + seed) : quantized_rows(t, k, 20 + seed, 0.5f + seed);
        const auto group = pack(t, k, rows);
        const auto act = activation(t, k, 30 + seed, seed == 3 ? 1e4f : 1.0f);
        float a[8], s[8];
        avx2(k, group.data(), act.data(), a);
        scalar(k, group.data(), act.data(), s);
        EXPECT_EQ(0, std::memcmp(a, s, sizeof a)) << dtype_name(t) << " k=" << k << " seed " << seed;
      }
  }
}

// Scalar x8 vs the per-row scalar dot (which sums blocks in its own lane order): equal within
// 1e-6 of sum |terms| (about sqrt(blocks) * 2^-24 relative rounding for up to 128 blocks), and
// exactly when all scales are 1 (every partial sum is then an integer well inside float's range).
TEST(QuantX8, ScalarAgreesWithPerRowDot) {
  for (DType t : kTypes) {
    const auto& kern = quant::kernels(t);
    const int64_t k = 4096;
    for (uint32_t seed = 0; seed < 3; ++seed) {
      auto rows = quantized_rows(t, k, 40 + seed, 0.1f + seed);
      auto act = activation(t, k, 50 + seed);
      const size_t rb = row_bytes(t, k);
      std::vector<float> wf(k), af(k);
      dequantize_row(kern.act_type, act.data(), af.data(), k);
      float out[8];
      quant::x8::group_dot_scalar(t)(k, pack(t, k, rows).data(), act.data(), out);
      for (int r = 0; r < 8; ++r) {
        dequantize_row(t, rows.data() + r * rb, wf.data(), k);
        double mag = 0;
        for (int64_t j = 0; j < k; ++j) mag += std::fabs(static_cast<double>(wf[j]) * af[j]);
        EXPECT_NEAR(out[r], kern.dot_scalar(k, rows.data() + r * rb, act.data()), 1e-6 * mag)
            << dtype_name(t) << " row " << r << " seed " << seed;
      }
      // Unit scales: bytes 0..1 of every block are its fp16 d.
      const size_t wb = dtype_info(t).type_size, ab = dtype_info(kern.act_type).type_size;
      for (size_t b = 0; b < rows.size() / wb; ++b) rows[b * wb] = 0x00, rows[b * wb + 1] = 0x3C;
      for (size_t b = 0; b < act.size() / ab; ++b) act[b * ab] = 0x00, act[b * ab + 1] = 0x3C;
      quant::x8::group_dot_scalar(t)(k, pack(t, k, rows).data(), act.data(), out);
      for (int r = 0; r < 8; ++r)
        EXPECT_EQ(out[r], kern.dot_scalar(k, rows.data() + r * rb, act.data())) << dtype_name(t) << " row " << r;
    }
  }
}

// groups_dot (a run of groups per call, the decode loop) equals group_dot called group by group,
// bit for bit, for every x8 type, AVX2 and scalar: the Q4_0 multi-group kernel prepares the
// activation once per call and must not change any operation. Counts 1-5 and k with a tail of
// blocks (416 = 13 Q4_0 blocks) for the legacy types; k-quants need whole super-blocks of 256.
TEST(QuantX8, GroupsDotEqualsGroupDotPerGroupBitForBit) {
  for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K}) {
    const bool k_quant = t == DType::Q4_K || t == DType::Q6_K;
    for (int64_t k : k_quant ? std::vector<int64_t>{256, 2048} : std::vector<int64_t>{32, 416, 2048})
      for (int64_t count : {1, 2, 5}) {
        SCOPED_TRACE(testing::Message() << dtype_name(t) << " k=" << k << " groups " << count);
        const size_t gb = quant::x8::group_bytes(t, k);
        std::vector<uint8_t> groups(gb * count);
        for (int64_t g = 0; g < count; ++g) {
          const auto seed = static_cast<uint32_t>(60 + g);
          const auto rows = (g % 2 && !k_quant) ? random_rows(t, k, seed) : quantized_rows(t, k, seed, 0.3f + g);
          quant::x8::pack_group(t, k, rows.data(), row_bytes(t, k), groups.data() + g * gb);
        }
        const auto act = activation(t, k, 70);
        for (bool scalar : {false, true}) {
          if (!scalar && !cpu().has_avx2_fma()) continue;
          set_force_scalar(scalar);
          std::vector<float> together(8 * count, -1.0f), one_by_one(8 * count, -2.0f);
          quant::x8::groups_dot(t)(k, groups.data(), count, act.data(), together.data());
          for (int64_t g = 0; g < count; ++g)
            quant::x8::group_dot(t)(k, groups.data() + g * gb, act.data(), one_by_one.data() + 8 * g);
          set_force_scalar(false);
          EXPECT_EQ(0, std::memcmp(together.data(), one_by_one.data(), together.size() * sizeof(float)))
              << (scalar ? "scalar" : "avx2");
        }
      }
  }
}

}  // namespace
}  // namespace flame
