// Quantize/dequantize for the k-quants with a per-sub-block min: Q2_K, Q4_K, Q5_K (scalar reference).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "flame/core/half.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_k4.h"
#include "flame/kernels/quant_search.h"

namespace flame::quant {
namespace {

// Fits every sub-block of `sub` elements of one super-block: x ~ scale * L - min.
void fit_sub_blocks(const float* x, int sub, int nmax, uint8_t* levels, float* scales, float* mins) {
  float sum_x2 = 0;
  for (int i = 0; i < kQK_K; ++i) sum_x2 += x[i] * x[i];
  const float rms = std::sqrt(sum_x2 / kQK_K);
  float weights[32];
  for (int j = 0; j < kQK_K / sub; ++j) {
    for (int l = 0; l < sub; ++l) weights[l] = rms + std::fabs(x[sub * j + l]);
    scales[j] = fit_with_min(sub, nmax, x + sub * j, weights, levels + sub * j, &mins[j]);
  }
}

// Scales/mins quantized to `bits` levels of a common super-block step; returns the steps.
void quantize_sub_scales(const float* scales, const float* mins, int count, int top, uint8_t* qs, uint8_t* qm, float& d,
                         float& dmin) {
  const float max_scale = *std::max_element(scales, scales + count);
  const float max_min = *std::max_element(mins, mins + count);
  const float inv_s = max_scale > 0 ? top / max_scale : 0.0f;
  const float inv_m = max_min > 0 ? top / max_min : 0.0f;
  for (int j = 0; j < count; ++j) {
    qs[j] = static_cast<uint8_t>(std::min(top, nearest_int(inv_s * scales[j])));
    qm[j] = static_cast<uint8_t>(std::min(top, nearest_int(inv_m * mins[j])));
  }
  d = max_scale / top;
  dmin = max_min / top;
}

// Final levels for the stored (rounded) scales: L = round((x + dmin*m) / (d*sc)).
void requantize(const float* x, int sub, int nmax, float d, float dmin, const uint8_t* qs, const uint8_t* qm,
                uint8_t* levels) {
  for (int j = 0; j < kQK_K / sub; ++j) {
    const float step = d * qs[j];
    if (step == 0.0f) {
      std::fill(levels + sub * j, levels + sub * (j + 1), 0);
      continue;
    }
    const float offset = dmin * qm[j];
    for (int l = 0; l < sub; ++l)
      levels[sub * j + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[sub * j + l] + offset) / step), 0, nmax));
  }
}

// Q4_K/Q5_K: eight 6-bit scales and mins into 12 bytes (inverse of unpack_scale_min_k4).
void pack_scale_min_k4(const uint8_t* qs, const uint8_t* qm, uint8_t* packed) {
  std::memset(packed, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      packed[j] = qs[j];
      packed[j + 4] = qm[j];
    } else {
      packed[j + 4] = static_cast<uint8_t>((qs[j] & 0xF) | ((qm[j] & 0xF) << 4));
      packed[j - 4] |= static_cast<uint8_t>((qs[j] >> 4) << 6);
      packed[j] |= static_cast<uint8_t>((qm[j] >> 4) << 6);
    }
  }
}

// Shared by Q4_K and Q5_K: levels (0..nmax) and the header of one super-block.
void quantize_k4_header(const float* x, int nmax, uint16_t& d16, uint16_t& dmin16, uint8_t* packed, uint8_t* levels) {
  float scales[8], mins[8], d, dmin;
  uint8_t qs[8], qm[8];
  fit_sub_blocks(x, 32, nmax, levels, scales, mins);
  quantize_sub_scales(scales, mins, 8, 63, qs, qm, d, dmin);
  d16 = f32_to_f16(d);
  dmin16 = f32_to_f16(dmin);
  pack_scale_min_k4(qs, qm, packed);
  requantize(x, 32, nmax, f16_to_f32(d16), f16_to_f32(dmin16), qs, qm, levels);
}

}  // namespace

void quantize_q2_k(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ2_K*>(dst);
  uint8_t levels[kQK_K], qs[16], qm[16];
  float scales[16], mins[16], d, dmin;
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    fit_sub_blocks(x, 16, 3, levels, scales, mins);
    quantize_sub_scales(scales, mins, 16, 15, qs, qm, d, dmin);
    y[b].d = f32_to_f16(d);
    y[b].dmin = f32_to_f16(dmin);
    for (int j = 0; j < 16; ++j) y[b].scales[j] = static_cast<uint8_t>(qs[j] | (qm[j] << 4));
    requantize(x, 16, 3, f16_to_f32(y[b].d), f16_to_f32(y[b].dmin), qs, qm, levels);
    // Each 128-element half packs four 32-element runs into the 2-bit fields of 32 bytes.
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        const uint8_t* L = levels + 128 * h + l;
        y[b].qs[32 * h + l] = static_cast<uint8_t>(L[0] | (L[32] << 2) | (L[64] << 4) | (L[96] << 6));
      }
  }
}

void dequantize_q2_k(const void* src, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ2_K*>(src);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float d = f16_to_f32(x[b].d), dmin = f16_to_f32(x[b].dmin);
    for (int i = 0; i < kQK_K; ++i) {
      const int h = i / 128, run = (i % 128) / 32, l = i % 32;
      const uint8_t sc = x[b].scales[i / 16];
      const int q = (x[b].qs[32 * h + l] >> (2 * run)) & 3;
      *y++ = d * static_cast<float>(sc & 0xF) * static_cast<float>(q) - dmin * static_cast<float>(sc >> 4);
    }
  }
}

namespace {
// Q4_K (kFiveBit false) and Q5_K: the same scale search and header; Q5_K's bit 4 of each level goes
// to qh (bit 4 of chunk c's first/second 32 elements -> bit 2c / 2c+1 of qh[l]).
template <class Block>
void quantize_k4(const float* x, void* dst, int64_t n) {
  constexpr bool kFiveBit = std::is_same_v<Block, BlockQ5_K>;
  auto* y = static_cast<Block*>(dst);
  uint8_t levels[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    quantize_k4_header(x, kFiveBit ? 31 : 15, y[b].d, y[b].dmin, y[b].scales, levels);
    if constexpr (kFiveBit) std::memset(y[b].qh, 0, sizeof y[b].qh);
    // Each 64-element chunk: first 32 in the low nibbles of 32 bytes, next 32 in the high nibbles.
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) {
        const uint8_t lo = levels[64 * c + l], hi = levels[64 * c + 32 + l];
        y[b].qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
        if constexpr (kFiveBit) y[b].qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
  }
}

template <class Block>
void dequantize_k4(const void* src, float* y, int64_t n) {
  const auto* x = static_cast<const Block*>(src);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float d = f16_to_f32(x[b].d), dmin = f16_to_f32(x[b].dmin);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      unpack_scale_min_k4(j, x[b].scales, sc, m);
      for (int l = 0; l < 32; ++l) *y++ = d * sc * static_cast<float>(k4_level(x[b], j, l)) - dmin * m;
    }
  }
}
}  // namespace

void quantize_q4_k(const float* x, void* dst, int64_t n) {
  quantize_k4<BlockQ4_K>(x, dst, n);
}
void dequantize_q4_k(const void* src, float* y, int64_t n) {
  dequantize_k4<BlockQ4_K>(src, y, n);
}
void quantize_q5_k(const float* x, void* dst, int64_t n) {
  quantize_k4<BlockQ5_K>(x, dst, n);
}
void dequantize_q5_k(const void* src, float* y, int64_t n) {
  dequantize_k4<BlockQ5_K>(src, y, n);
}

}  // namespace flame::quant
