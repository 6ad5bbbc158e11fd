#pragma once
// Byte offsets inside one super-block of the x8 (interleaved 8-row) groups of Q4_K and Q6_K, shared
// by the scalar twins (quant_x8_q4_k.cpp, quant_x8_q6_k.cpp, which document the formats) and the
// AVX2 kernels. A group of k elements is k / 256 of these super-blocks, back to back.
//
//   const uint8_t* sb = group + b * x8k::kQ4KSuperBytes;
//   uint8_t scale = sb[x8k::kQ4KScales + 8 * j + r];   // row r, sub-block j
#include <cstddef>
#include <cstdint>

#include "flame/core/error.h"
#include "flame/kernels/quant_blocks.h"

namespace flame::quant::x8k {

// Q4_K: d[8], dmin[8] (fp16), scales[8 sub-blocks][8 rows], mins[4 pairs][8 rows][2], levels.
constexpr size_t kQ4KD = 0;
constexpr size_t kQ4KDmin = 16;
constexpr size_t kQ4KScales = 32;
constexpr size_t kQ4KMins = 96;
constexpr size_t kQ4KLevels = 160;
constexpr size_t kQ4KSuperBytes = kQ4KLevels + 8 * kQK_K / 2;  // 1184 = 8 * 144 + 32
static_assert(kQ4KSuperBytes == 1184);

// Q6_K: d[8] (fp16), scales[8 pairs][8 rows][2] (int8), then per 16-element sub-block j 96 bytes at
// kQ6KLevels + 96j: two vectors of low nibbles and one of high 2-bit fields, in reading order (one
// forward stream through memory; split low/high regions ran at a third of the speed from DRAM).
constexpr size_t kQ6KD = 0;
constexpr size_t kQ6KScales = 16;
constexpr size_t kQ6KLevels = 144;
constexpr size_t kQ6KSubBytes = 96;
constexpr size_t kQ6KHighInSub = 64;
constexpr size_t kQ6KSuperBytes = kQ6KLevels + 16 * kQ6KSubBytes;  // 1680 = 8 * 210
static_assert(kQ6KSuperBytes == 8 * sizeof(BlockQ6_K));

// Software prefetch distance of the Q4_K and Q6_K group kernels, in bytes of the group (about 3.5
// Q4_K / 2.4 Q6_K super-blocks ahead): from memory the kernels ran 5-25% faster with it, one core
// (BM_QuantX8KDot/.../16384), and Q4_K_M decode ~5%; in L2 it costs ~1%.
constexpr size_t kPrefetchAhead = 4096;

// Throws unless k is a positive multiple of the 256-element super-block.
inline int64_t super_blocks(const char* op, int64_t k) {
  if (k <= 0 || k % kQK_K != 0) throw ArgumentError(op, "k must be a positive multiple of 256");
  return k / kQK_K;
}

}  // namespace flame::quant::x8k
