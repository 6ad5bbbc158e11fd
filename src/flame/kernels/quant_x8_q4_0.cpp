// Q4_0 in the x8 layout (quant_x8_legacy_layout.h): per block of 32 elements, 144 bytes =
//   8 x fp16 row scales d[r], then 4 chunks of 32 bytes; chunk c holds row r's nibble bytes
//   qs[4c..4c+3] at bytes 4r..4r+3 (low nibble: element 4c+i, high nibble: element 16+4c+i).
// The value of row r's block is d[r] * d_act * (sum_j q_j * y_j - 8 * sum_j y_j) with unsigned
// nibbles q, as the per-row kernels compute it; each lane accumulates acc = fma(d[r] * d_act,
// isum, acc) block by block. This file is the scalar twin of quant_x8_q4_0_avx2.cpp.
#include <cmath>

#include "flame/core/half.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_x8_detail.h"
#include "flame/kernels/quant_x8_legacy_layout.h"

namespace flame::quant::x8::detail {

namespace {
constexpr int kLevelBytes = kQK / 2;
constexpr size_t kBlockGroup = legacy_x8::block_group_bytes<kLevelBytes>();
}  // namespace

size_t group_bytes_q4_0(int64_t k) {
  return static_cast<size_t>(k / kQK) * kBlockGroup;
}

void pack_q4_0(int64_t k, const uint8_t* rows, size_t row_bytes, uint8_t* group) {
  legacy_x8::pack<kLevelBytes>(k, rows, row_bytes, group);
}

void unpack_q4_0(int64_t k, const uint8_t* group, uint8_t* rows, size_t row_bytes) {
  legacy_x8::unpack<kLevelBytes>(k, group, rows, row_bytes);
}

void dot_q4_0_scalar(int64_t k, const uint8_t* group, const uint8_t* act, float* out) {
  const auto* y = reinterpret_cast<const BlockQ8_0*>(act);
  float acc[8] = {};
  for (int64_t b = 0; b < k / kQK; ++b) {
    const uint8_t* blk = group + b * kBlockGroup;
    const uint8_t* levels = blk + legacy_x8::kScaleBytes;
    int32_t act_sum = 0;
    for (int j = 0; j < kQK; ++j) act_sum += y[b].qs[j];
    const float act_d = f16_to_f32(y[b].d);
    for (int r = 0; r < 8; ++r) {
      int32_t isum = 0;
      for (int c = 0; c < 4; ++c)
        for (int i = 0; i < 4; ++i) {
          const uint8_t q = levels[32 * c + 4 * r + i];
          isum += (q & 0x0F) * y[b].qs[4 * c + i] + (q >> 4) * y[b].qs[16 + 4 * c + i];
        }
      isum -= 8 * act_sum;
      uint16_t d;
      std::memcpy(&d, blk + 2 * r, 2);
      acc[r] = std::fma(f16_to_f32(d) * act_d, static_cast<float>(isum), acc[r]);
    }
  }
  for (int r = 0; r < 8; ++r) out[r] = acc[r];
}

}  // namespace flame::quant::x8::detail
