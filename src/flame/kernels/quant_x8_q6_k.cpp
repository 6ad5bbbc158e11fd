// Q6_K in the x8 layout: format, pack/unpack and the scalar twin of the AVX2 group kernel
// (quant_x8_q6_k_avx2.cpp).
//
// A group of 8 rows of k elements is k / 256 super-blocks of 1680 bytes, exactly 8 GGUF blocks:
//   [0, 16)       d of rows 0..7, fp16
//   [16, 144)     int8 scale of row r, sub-block j (16 elements) at 16 + 16(j/2) + 2r + j%2 (per
//                 sub-block pair: 8 rows x (scale 2i, scale 2i+1), one vpmovsxbw away from the int16
//                 pairs that vpmaddwd needs)
//   [144, 1680)   levels, 96 bytes per 16-element sub-block j at 144 + 96j: bytes [0, 64) hold the
//                 low 4 bits, element 4t+e (t 0..3, e 0..3) of row r in byte 32(t%2) + 4r + e (low
//                 nibble for t < 2, high nibble else); bytes [64, 96) the high 2 bits, element 4t+e
//                 of row r in bits 2t, 2t+1 of byte 64 + 4r + e. (Low and high bits of a sub-block
//                 sit together so the kernel reads one forward stream: with the low nibbles and the
//                 high bits in two regions of the super-block it ran at a third of the speed from
//                 memory, though faster in cache.)
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

// Element i of row r inside a group super-block.
struct GroupPlace {
  size_t low, high;
  int low_shift, high_shift;
};
inline GroupPlace group_place(int r, int i) {
  const int j = i / 16, t = (i % 16) / 4, e = i % 4;
  return {kQ6KLevels + kQ6KSubBytes * j + 32 * (t % 2) + 4 * r + e,
          kQ6KLevels + kQ6KSubBytes * j + kQ6KHighInSub + 4 * r + e, t < 2 ? 0 : 4, 2 * t};
}

// GGUF block <-> its 256 levels (0..63), one byte each. Element 128h + 32run + p has its low 4 bits
// in ql[64h + p + 32(run & 1)] (low nibble for run < 2) and its high 2 bits at 2run of qh[32h + p].
void gguf_to_levels(const BlockQ6_K& x, uint8_t* q) {
  for (int h = 0; h < 2; ++h)
    for (int p = 0; p < 32; ++p) {
      const uint8_t lo0 = x.ql[64 * h + p], lo1 = x.ql[64 * h + 32 + p], hi = x.qh[32 * h + p];
      uint8_t* e = q + 128 * h + p;
      e[0] = static_cast<uint8_t>((lo0 & 0xF) | ((hi & 3) << 4));
      e[32] = static_cast<uint8_t>((lo1 & 0xF) | (((hi >> 2) & 3) << 4));
      e[64] = static_cast<uint8_t>((lo0 >> 4) | (((hi >> 4) & 3) << 4));
      e[96] = static_cast<uint8_t>((lo1 >> 4) | ((hi >> 6) << 4));
    }
}
void levels_to_gguf(const uint8_t* q, BlockQ6_K& x) {
  for (int h = 0; h < 2; ++h)
    for (int p = 0; p < 32; ++p) {
      const uint8_t* e = q + 128 * h + p;
      x.ql[64 * h + p] = static_cast<uint8_t>((e[0] & 0xF) | ((e[64] & 0xF) << 4));
      x.ql[64 * h + 32 + p] = static_cast<uint8_t>((e[32] & 0xF) | ((e[96] & 0xF) << 4));
      x.qh[32 * h + p] =
          static_cast<uint8_t>((e[0] >> 4) | ((e[32] >> 4) << 2) | ((e[64] >> 4) << 4) | ((e[96] >> 4) << 6));
    }
}

// Row r's 256 levels <-> the group super-block. For sub-block j, the 4-byte words at 4r of its two
// low-nibble vectors and its high-bit vector hold elements 4t + e (e = byte 0..3) of steps t = 0..3;
// the conversion works on the 4 bytes of a word at once.
constexpr uint32_t kNibbles = 0x0F0F0F0F, kTwoBits = 0x03030303;

inline uint32_t load_word(const uint8_t* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}
inline void store_word(uint8_t* p, uint32_t w) {
  std::memcpy(p, &w, 4);
}

void levels_to_group(const uint8_t* q, int r, uint8_t* sb) {
  for (int j = 0; j < 16; ++j) {
    uint32_t v[4];  // v[t]: elements 4t .. 4t+3 of sub-block j
    std::memcpy(v, q + 16 * j, 16);
    store_word(sb + kQ6KLevels + kQ6KSubBytes * j + 4 * r, (v[0] & kNibbles) | ((v[2] & kNibbles) << 4));
    store_word(sb + kQ6KLevels + kQ6KSubBytes * j + 32 + 4 * r, (v[1] & kNibbles) | ((v[3] & kNibbles) << 4));
    store_word(sb + kQ6KLevels + kQ6KSubBytes * j + kQ6KHighInSub + 4 * r,
               ((v[0] >> 4) & kTwoBits) | (((v[1] >> 4) & kTwoBits) << 2) | (((v[2] >> 4) & kTwoBits) << 4) |
                   (((v[3] >> 4) & kTwoBits) << 6));
  }
}
void group_to_levels(const uint8_t* sb, int r, uint8_t* q) {
  for (int j = 0; j < 16; ++j) {
    const uint32_t lo0 = load_word(sb + kQ6KLevels + kQ6KSubBytes * j + 4 * r);
    const uint32_t lo1 = load_word(sb + kQ6KLevels + kQ6KSubBytes * j + 32 + 4 * r);
    const uint32_t hi = load_word(sb + kQ6KLevels + kQ6KSubBytes * j + kQ6KHighInSub + 4 * r);
    const uint32_t v[4] = {(lo0 & kNibbles) | ((hi & kTwoBits) << 4), (lo1 & kNibbles) | (((hi >> 2) & kTwoBits) << 4),
                           ((lo0 >> 4) & kNibbles) | (((hi >> 4) & kTwoBits) << 4),
                           ((lo1 >> 4) & kNibbles) | (((hi >> 6) & kTwoBits) << 4)};
    std::memcpy(q + 16 * j, v, 16);
  }
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
  uint8_t levels[kQK_K];
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* sb = group + b * kQ6KSuperBytes;
    for (int r = 0; r < 8; ++r) {
      const auto& x = reinterpret_cast<const BlockQ6_K*>(rows + r * row_bytes)[b];
      std::memcpy(sb + kQ6KD + 2 * r, &x.d, 2);
      for (int j = 0; j < 16; ++j) sb[scale_offset(r, j)] = static_cast<uint8_t>(x.scales[j]);
      gguf_to_levels(x, levels);
      levels_to_group(levels, r, sb);
    }
  }
}

void unpack_q6_k(int64_t k, const uint8_t* group, uint8_t* rows, size_t row_bytes) {
  const int64_t nb = super_blocks("x8 Q6_K unpack", k);
  uint8_t levels[kQK_K];
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* sb = group + b * kQ6KSuperBytes;
    for (int r = 0; r < 8; ++r) {
      auto& x = reinterpret_cast<BlockQ6_K*>(rows + r * row_bytes)[b];
      std::memcpy(&x.d, sb + kQ6KD + 2 * r, 2);
      for (int j = 0; j < 16; ++j) x.scales[j] = static_cast<int8_t>(sb[scale_offset(r, j)]);
      group_to_levels(sb, r, levels);
      levels_to_gguf(levels, x);
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
