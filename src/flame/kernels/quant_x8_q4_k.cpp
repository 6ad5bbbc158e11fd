// Q4_K in the x8 layout: format, pack/unpack and the scalar twin of the AVX2 group kernel
// (quant_x8_q4_k_avx2.cpp).
//
// A group of 8 rows of k elements is k / 256 super-blocks of 1184 bytes (8 GGUF blocks are 1152:
// the group is 2.8% larger, because the 6-bit scales and mins are stored unpacked as bytes):
//   [0, 16)      d of rows 0..7, fp16
//   [16, 32)     dmin of rows 0..7, fp16
//   [32, 96)     scale of row r, sub-block j at 32 + 8j + r (one 8-byte vector per sub-block)
//   [96, 160)    min of row r, sub-block j at 96 + 16(j/2) + 2r + j%2 (per sub-block pair: 8 rows x
//                (min 2i, min 2i+1), so one vpmaddwd against the activation's two sums gives all 8 rows)
//   [160, 1184)  levels: for sub-block pair c (0..3) and 4-element step t (0..7), 32 bytes at
//                160 + 256c + 32t; byte 4r + e holds element 4t+e of sub-block 2c (low nibble) and of
//                sub-block 2c+1 (high nibble) of row r. One broadcast of 4 activation bytes times these
//                32 bytes (vpmaddubsw) gives the pair sums of all 8 rows.
// The dot product keeps the per-row kernels' integers (isum = sum_j scale_j * sum_l q*y, msum =
// sum_j min_j * (bsum_2j + bsum_2j+1)) and float epilogue (k_block_value, summed over super-blocks
// in order), so out[r] is bit-identical to dot_q4_k_scalar on row r.
#include <cstring>

#include "flame/core/half.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_x8_detail.h"
#include "flame/kernels/quant_x8_k_layout.h"

namespace flame::quant::x8::detail {
namespace {

using namespace x8k;

inline size_t level_offset(int r, int j, int l) {
  return kQ4KLevels + 256 * (j / 2) + 32 * (l / 4) + 4 * r + l % 4;
}

// Inverse of unpack_scale_min_k4: 8 scales and 8 mins (6 bits each) -> the 12 packed bytes.
void pack_scales_mins_k4(const uint8_t* sc, const uint8_t* m, uint8_t* q) {
  for (int j = 0; j < 4; ++j) {
    q[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    q[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    q[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
  }
}

}  // namespace

size_t group_bytes_q4_k(int64_t k) {
  return static_cast<size_t>(super_blocks("x8 Q4_K", k)) * kQ4KSuperBytes;
}

void pack_q4_k(int64_t k, const uint8_t* rows, size_t row_bytes, uint8_t* group) {
  const int64_t nb = super_blocks("x8 Q4_K pack", k);
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* sb = group + b * kQ4KSuperBytes;
    for (int r = 0; r < 8; ++r) {
      const auto& x = reinterpret_cast<const BlockQ4_K*>(rows + r * row_bytes)[b];
      std::memcpy(sb + kQ4KD + 2 * r, &x.d, 2);
      std::memcpy(sb + kQ4KDmin + 2 * r, &x.dmin, 2);
      for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        unpack_scale_min_k4(j, x.scales, sc, m);
        sb[kQ4KScales + 8 * j + r] = sc;
        sb[kQ4KMins + 16 * (j / 2) + 2 * r + j % 2] = m;
      }
      // GGUF's qs[32c + l] already pairs element l of sub-blocks 2c (low nibble) and 2c+1 (high):
      // the group takes its bytes 4 at a time.
      for (int c = 0; c < 4; ++c)
        for (int t = 0; t < 8; ++t) std::memcpy(sb + level_offset(r, 2 * c, 4 * t), x.qs + 32 * c + 4 * t, 4);
    }
  }
}

void unpack_q4_k(int64_t k, const uint8_t* group, uint8_t* rows, size_t row_bytes) {
  const int64_t nb = super_blocks("x8 Q4_K unpack", k);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* sb = group + b * kQ4KSuperBytes;
    for (int r = 0; r < 8; ++r) {
      auto& x = reinterpret_cast<BlockQ4_K*>(rows + r * row_bytes)[b];
      std::memcpy(&x.d, sb + kQ4KD + 2 * r, 2);
      std::memcpy(&x.dmin, sb + kQ4KDmin + 2 * r, 2);
      uint8_t sc[8], m[8];
      for (int j = 0; j < 8; ++j) {
        sc[j] = sb[kQ4KScales + 8 * j + r];
        m[j] = sb[kQ4KMins + 16 * (j / 2) + 2 * r + j % 2];
      }
      pack_scales_mins_k4(sc, m, x.scales);
      for (int c = 0; c < 4; ++c)
        for (int t = 0; t < 8; ++t) std::memcpy(x.qs + 32 * c + 4 * t, sb + level_offset(r, 2 * c, 4 * t), 4);
    }
  }
}

void dot_q4_k_scalar(int64_t k, const uint8_t* group, const uint8_t* act, float* out) {
  const auto* y = reinterpret_cast<const BlockQ8_K*>(act);
  const int64_t nb = k / kQK_K;
  for (int r = 0; r < 8; ++r) {
    float sum = 0;
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* sb = group + b * kQ4KSuperBytes;
      int32_t isum = 0, msum = 0;
      for (int j = 0; j < 8; ++j) {
        int32_t sub = 0;
        for (int l = 0; l < 32; ++l) sub += ((sb[level_offset(r, j, l)] >> (4 * (j % 2))) & 0xF) * y[b].qs[32 * j + l];
        isum += sb[kQ4KScales + 8 * j + r] * sub;
        msum += sb[kQ4KMins + 16 * (j / 2) + 2 * r + j % 2] * (y[b].bsums[2 * j] + y[b].bsums[2 * j + 1]);
      }
      uint16_t d, dmin;
      std::memcpy(&d, sb + kQ4KD + 2 * r, 2);
      std::memcpy(&dmin, sb + kQ4KDmin + 2 * r, 2);
      sum += k_block_value(y[b].d, f16_to_f32(d), f16_to_f32(dmin), isum, msum);
    }
    out[r] = sum;
  }
}

}  // namespace flame::quant::x8::detail
