// Q8_0 in the x8 layout (quant_x8_legacy_layout.h): per block of 32 elements, 272 bytes =
//   8 x fp16 row scales d[r], then 8 chunks of 32 bytes; chunk c holds row r's levels
//   qs[4c..4c+3] at bytes 4r..4r+3.
// Each lane accumulates acc = fma(d[r] * d_act, sum_j q_j * y_j, acc) block by block. This file is
// the scalar twin of quant_x8_q8_0_avx2.cpp.
#include <cmath>

#include "flame/core/half.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_x8_detail.h"
#include "flame/kernels/quant_x8_legacy_layout.h"

namespace flame::quant::x8::detail {

namespace {
constexpr int kLevelBytes = kQK;
constexpr size_t kBlockGroup = legacy_x8::block_group_bytes<kLevelBytes>();
}  // namespace

size_t group_bytes_q8_0(int64_t k) {
  return static_cast<size_t>(k / kQK) * kBlockGroup;
}

void pack_q8_0(int64_t k, const uint8_t* rows, size_t row_bytes, uint8_t* group) {
  legacy_x8::pack<kLevelBytes>(k, rows, row_bytes, group);
}

void unpack_q8_0(int64_t k, const uint8_t* group, uint8_t* rows, size_t row_bytes) {
  legacy_x8::unpack<kLevelBytes>(k, group, rows, row_bytes);
}

void dot_q8_0_scalar(int64_t k, const uint8_t* group, const uint8_t* act, float* out) {
  const auto* y = reinterpret_cast<const BlockQ8_0*>(act);
  float acc[8] = {};
  for (int64_t b = 0; b < k / kQK; ++b) {
    const uint8_t* blk = group + b * kBlockGroup;
    const auto* levels = reinterpret_cast<const int8_t*>(blk + legacy_x8::kScaleBytes);
    const float act_d = f16_to_f32(y[b].d);
    for (int r = 0; r < 8; ++r) {
      int32_t isum = 0;
      for (int c = 0; c < 8; ++c)
        for (int i = 0; i < 4; ++i) isum += levels[32 * c + 4 * r + i] * y[b].qs[4 * c + i];
      uint16_t d;
      std::memcpy(&d, blk + 2 * r, 2);
      acc[r] = std::fma(f16_to_f32(d) * act_d, static_cast<float>(isum), acc[r]);
    }
  }
  for (int r = 0; r < 8; ++r) out[r] = acc[r];
}

}  // namespace flame::quant::x8::detail
