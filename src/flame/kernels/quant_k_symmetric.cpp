// Quantize/dequantize for the symmetric k-quants Q3_K and Q6_K, and the Q8_K activation blocks
// (scalar reference).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "flame/core/half.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_search.h"

namespace flame::quant {
namespace {

// Fits 16 sub-blocks of 16 symmetrically; returns per-sub-block scales and their weight sums.
void fit_sub_blocks16(const float* x, int nmax, float* scales, float* weight_sums) {
  float w[16];
  int8_t levels[16];
  for (int j = 0; j < 16; ++j) {
    float sum = 0;
    for (int l = 0; l < 16; ++l) {
      w[l] = x[16 * j + l] * x[16 * j + l];
      sum += w[l];
    }
    weight_sums[j] = sum;
    scales[j] = fit_symmetric(16, nmax, x + 16 * j, w, levels);
  }
}

}  // namespace

void unpack_scales_q3_k(const uint8_t* packed, int8_t* scales16) {
  for (int j = 0; j < 16; ++j) {
    const int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
    const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    scales16[j] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
}

void quantize_q3_k(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ3_K*>(dst);
  float scales[16], weight_sums[16];
  int8_t qscales[16];
  uint8_t levels[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    fit_sub_blocks16(x, 4, scales, weight_sums);
    const float d = fit_symmetric(16, 32, scales, weight_sums, qscales);
    // 16 six-bit scales (+32): low nibbles in bytes 0..7 (two per byte), top 2 bits in bytes 8..11.
    std::memset(y[b].scales, 0, sizeof y[b].scales);
    for (int j = 0; j < 16; ++j) {
      const int l = qscales[j] + 32;
      if (j < 8)
        y[b].scales[j] = static_cast<uint8_t>(l & 0xF);
      else
        y[b].scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
      y[b].scales[8 + j % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
    }
    y[b].d = f32_to_f16(d);
    int8_t stored[16];
    unpack_scales_q3_k(y[b].scales, stored);
    for (int j = 0; j < 16; ++j) {
      const float step = f16_to_f32(y[b].d) * stored[j];
      for (int l = 0; l < 16; ++l) {
        const int q = step != 0.0f ? std::clamp(nearest_int(x[16 * j + l] / step), -4, 3) : 0;
        levels[16 * j + l] = static_cast<uint8_t>(q + 4);
      }
    }
    // Bit 2 of element i goes to hmask[i % 32] bit i / 32; the low 2 bits pack like Q2_K.
    std::memset(y[b].hmask, 0, sizeof y[b].hmask);
    for (int i = 0; i < kQK_K; ++i) {
      if (levels[i] > 3) {
        y[b].hmask[i % 32] |= static_cast<uint8_t>(1 << (i / 32));
        levels[i] -= 4;
      }
    }
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        const uint8_t* L = levels + 128 * h + l;
        y[b].qs[32 * h + l] = static_cast<uint8_t>(L[0] | (L[32] << 2) | (L[64] << 4) | (L[96] << 6));
      }
  }
}

void dequantize_q3_k(const void* src, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ3_K*>(src);
  int8_t scales[16];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float d = f16_to_f32(x[b].d);
    unpack_scales_q3_k(x[b].scales, scales);
    for (int i = 0; i < kQK_K; ++i) {
      const int h = i / 128, run = (i % 128) / 32, l = i % 32;
      const int low = (x[b].qs[32 * h + l] >> (2 * run)) & 3;
      const int high = (x[b].hmask[l] >> (i / 32)) & 1;
      *y++ = d * static_cast<float>(scales[i / 16]) * static_cast<float>(low - (high ? 0 : 4));
    }
  }
}

void quantize_q6_k(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ6_K*>(dst);
  float scales[16], weight_sums[16];
  uint8_t levels[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    fit_sub_blocks16(x, 32, scales, weight_sums);
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; ++j)
      if (std::fabs(scales[j]) > amax) {
        amax = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    if (amax == 0.0f) {
      std::memset(&y[b], 0, sizeof y[b]);
      continue;
    }
    const float inv = -128.0f / max_scale;  // int8 scales; the extreme one maps to -128
    y[b].d = f32_to_f16(1.0f / inv);
    for (int j = 0; j < 16; ++j) y[b].scales[j] = static_cast<int8_t>(std::min(127, nearest_int(inv * scales[j])));
    for (int j = 0; j < 16; ++j) {
      const float step = f16_to_f32(y[b].d) * y[b].scales[j];
      for (int l = 0; l < 16; ++l) {
        const int q = step != 0.0f ? std::clamp(nearest_int(x[16 * j + l] / step), -32, 31) : 0;
        levels[16 * j + l] = static_cast<uint8_t>(q + 32);
      }
    }
    // Per 128-element half: ql[l] holds elements l (low) and l+64 (high nibble), ql[l+32] holds
    // l+32 and l+96; qh[l] holds the top 2 bits of l, l+32, l+64, l+96.
    for (int h = 0; h < 2; ++h) {
      uint8_t* ql = y[b].ql + 64 * h;
      uint8_t* qh = y[b].qh + 32 * h;
      const uint8_t* L = levels + 128 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((L[l] & 0xF) | ((L[l + 64] & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((L[l + 32] & 0xF) | ((L[l + 96] & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((L[l] >> 4) | ((L[l + 32] >> 4) << 2) | ((L[l + 64] >> 4) << 4) |
                                     ((L[l + 96] >> 4) << 6));
      }
    }
  }
}

void dequantize_q6_k(const void* src, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ6_K*>(src);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float d = f16_to_f32(x[b].d);
    for (int i = 0; i < kQK_K; ++i) {
      const int h = i / 128, run = (i % 128) / 32, l = i % 32;
      const uint8_t ql = x[b].ql[64 * h + l + 32 * (run & 1)];
      const int low = run < 2 ? ql & 0xF : ql >> 4;
      const int high = (x[b].qh[32 * h + l] >> (2 * run)) & 3;
      *y++ = d * static_cast<float>(x[b].scales[i / 16]) * static_cast<float>((low | (high << 4)) - 32);
    }
  }
}

void quantize_q8_k(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(dst);
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    float amax = 0, max = 0;
    for (int i = 0; i < kQK_K; ++i)
      if (std::fabs(x[i]) > amax) {
        amax = std::fabs(x[i]);
        max = x[i];
      }
    if (amax == 0.0f) {
      std::memset(&y[b], 0, sizeof y[b]);
      continue;
    }
    const float inv = -127.0f / max;
    for (int i = 0; i < kQK_K; ++i) y[b].qs[i] = static_cast<int8_t>(std::min(127, nearest_int(inv * x[i])));
    for (int j = 0; j < 16; ++j) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += y[b].qs[16 * j + l];
      y[b].bsums[j] = static_cast<int16_t>(sum);
    }
    y[b].d = 1.0f / inv;
  }
}

void dequantize_q8_k(const void* src, float* y, int64_t n) {
  const auto* x = static_cast<const BlockQ8_K*>(src);
  for (int64_t b = 0; b < n / kQK_K; ++b)
    for (int i = 0; i < kQK_K; ++i) *y++ = x[b].d * x[b].qs[i];
}

}  // namespace flame::quant
