// Q6_K in the x8 layout: format, pack/unpack and the scalar twin of the AVX2 group kernel
// (quant_x8_q6_k_avx2.cpp).
//
// A group of 8 rows of k elements is k / 256 super-blocks of 1680 bytes, exactly 8 GGUF blocks:
//   [0, 16)       d of rows 0..7, fp16
//   [16, 144)     int8 scale of row r, sub-block j (16 elements) at 16 + 16(j/2) + 2r + j%2 (per
//                 sub-block pair: 8 rows x (scale 2i, scale 2i+1), one vpmovsxbw away from the int16
//                 pairs that vpmaddwd needs)
//   [144, 1168)   low 4 bits of the 6-bit levels: sub-block j at 144 + 64j; element 4t+e (t 0..3,
//                 e 0..3) of row r in byte 32(t%2) + 4r + e, low nibble for t < 2, high nibble else
//   [1168, 1680)  high 2 bits: sub-block j at 1168 + 32j; element 4t+e of row r in bits 2t, 2t+1 of
//                 byte 4r + e
// So the 32 bytes of step t, after and/shift/or, hold 4 consecutive levels of each of the 8 rows, and
// one vpmaddubsw with a broadcast group of 4 activation bytes gives the pair sums of all 8 rows.
// out[r] keeps dot_q6_k_scalar's integers (isum = sum_j scale_j * sum_l (q - 32) * y) and float
// epilogue (k_block_value with dmin 0, summed over super-blocks in order): bit-identical results.
#include <cstring>

#include "flame/core/half.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_x8_detail.h"
#include "flame/kernels/quant_x8_k_layout.h"

namespace flame::quant::x8::detail {
namespace {

using namespace x8k;

// Element i (0..255) of a GGUF Q6_K block: its low-nibble byte and shift, its qh byte and shift.
struct Q6Place {
  int ql, ql_shift, qh, qh_shift;
};
inline Q6Place gguf_place(int i) {
  const int h = i / 128, run = (i % 128) / 32, p = i % 32;
  return {64 * h + p + 32 * (run & 1), run < 2 ? 0 : 4, 32 * h + p, 2 * run};
}

// Element i of row r inside a group super-block.
struct GroupPlace {
  size_t low, high;
  int low_shift, high_shift;
};
inline GroupPlace group_place(int r, int i) {
  const int j = i / 16, t = (i % 16) / 4, e = i % 4;
  return {kQ6KLow + 64 * j + 32 * (t % 2) + 4 * r + e, kQ6KHigh + 32 * j + 4 * r + e, t < 2 ? 0 : 4, 2 * t};
}

inline int group_level(const uint8_t* sb, int r, int i) {
  const GroupPlace g = group_place(r, i);
  return ((sb[g.low] >> g.low_shift) & 0xF) | (((sb[g.high] >> g.high_shift) & 3) << 4);
}

inline size_t scale_offset(int r, int j) {
  return kQ6KScales + 16 * (j / 2) + 2 * r + j % 2;
}

}  // namespace

size_t group_bytes_q6_k(int64_t k) {
  return static_cast<size_t>(super_blocks("x8 Q6_K", k)) * kQ6KSuperBytes;
}

void pack_q6_k(int64_t k, const uint8_t* rows, size_t row_bytes, uint8_t* group) {
  const int64_t nb = super_blocks("x8 Q6_K pack", k);
  std::memset(group, 0, nb * kQ6KSuperBytes);  // the levels are or-ed in bit field by bit field
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* sb = group + b * kQ6KSuperBytes;
    for (int r = 0; r < 8; ++r) {
      const auto& x = reinterpret_cast<const BlockQ6_K*>(rows + r * row_bytes)[b];
      std::memcpy(sb + kQ6KD + 2 * r, &x.d, 2);
      for (int j = 0; j < 16; ++j) sb[scale_offset(r, j)] = static_cast<uint8_t>(x.scales[j]);
      for (int i = 0; i < kQK_K; ++i) {
        const Q6Place s = gguf_place(i);
        const GroupPlace g = group_place(r, i);
        sb[g.low] |= static_cast<uint8_t>(((x.ql[s.ql] >> s.ql_shift) & 0xF) << g.low_shift);
        sb[g.high] |= static_cast<uint8_t>(((x.qh[s.qh] >> s.qh_shift) & 3) << g.high_shift);
      }
    }
  }
}

void unpack_q6_k(int64_t k, const uint8_t* group, uint8_t* rows, size_t row_bytes) {
  const int64_t nb = super_blocks("x8 Q6_K unpack", k);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* sb = group + b * kQ6KSuperBytes;
    for (int r = 0; r < 8; ++r) {
      auto& x = reinterpret_cast<BlockQ6_K*>(rows + r * row_bytes)[b];
      std::memset(&x, 0, sizeof x);
      std::memcpy(&x.d, sb + kQ6KD + 2 * r, 2);
      for (int j = 0; j < 16; ++j) x.scales[j] = static_cast<int8_t>(sb[scale_offset(r, j)]);
      for (int i = 0; i < kQK_K; ++i) {
        const int q = group_level(sb, r, i);
        const Q6Place s = gguf_place(i);
        x.ql[s.ql] |= static_cast<uint8_t>((q & 0xF) << s.ql_shift);
        x.qh[s.qh] |= static_cast<uint8_t>((q >> 4) << s.qh_shift);
      }
    }
  }
}

void dot_q6_k_scalar(int64_t k, const uint8_t* group, const uint8_t* act, float* out) {
  const auto* y = reinterpret_cast<const BlockQ8_K*>(act);
  const int64_t nb = k / kQK_K;
  for (int r = 0; r < 8; ++r) {
    float sum = 0;
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* sb = group + b * kQ6KSuperBytes;
      int32_t isum = 0;
      for (int j = 0; j < 16; ++j) {
        int32_t sub = 0;
        for (int l = 0; l < 16; ++l) sub += (group_level(sb, r, 16 * j + l) - 32) * y[b].qs[16 * j + l];
        isum += static_cast<int8_t>(sb[scale_offset(r, j)]) * sub;
      }
      uint16_t d;
      std::memcpy(&d, sb + kQ6KD + 2 * r, 2);
      sum += k_block_value(y[b].d, f16_to_f32(d), 0.0f, isum, 0);
    }
    out[r] = sum;
  }
}

}  // namespace flame::quant::x8::detail
