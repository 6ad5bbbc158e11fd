#pragma once
// The shared level reader of Q4_K and Q5_K (scalar): both formats store eight 32-element sub-blocks
// with a 6-bit scale and min each and differ only in where a level's bits are, so the scalar dot
// product, quantizer and dequantizer are each one template over this reader.
//
//   for (int j = 0; j < 8; ++j)
//     for (int l = 0; l < 32; ++l) sum += k4_level(block, j, l) * act[32 * j + l];
#include "flame/kernels/quant_blocks.h"

namespace flame::quant {

// The level of element l (0..31) of sub-block j (0..7). Sub-blocks 2c and 2c+1 share the 32 bytes
// qs[32c..32c+31], low nibbles then high nibbles; Q5_K adds bit j of qh[l] as bit 4.
inline int k4_level(const BlockQ4_K& x, int j, int l) {
  return (x.qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0xF;
}
inline int k4_level(const BlockQ5_K& x, int j, int l) {
  return ((x.qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0xF) | (((x.qh[l] >> j) & 1) << 4);
}

}  // namespace flame::quant
