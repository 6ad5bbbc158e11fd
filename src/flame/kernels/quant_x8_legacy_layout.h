#pragma once
// The x8 group layout shared by the 32-element types with one fp16 scale per block (Q4_0, Q8_0):
// per block of 32 elements, 8 rows' fp16 scales contiguous (16 bytes, one vcvtph2ps), then the
// rows' level bytes in 32-byte chunks, chunk c holding bytes 4c..4c+3 of row r's levels at bytes
// 4r..4r+3. One vpmaddubsw of a chunk with a broadcast group of 4 activation bytes then gives pair
// sums of all 8 rows, row r in int32 lane r after vpmaddwd. A group is as big as the 8 rows it packs.
//
//   legacy_x8::pack<16>(k, rows, row_bytes, group);   // Q4_0: 16 nibble bytes per row-block
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace flame::quant::x8::legacy_x8 {

constexpr int64_t kBlock = 32;      // elements per block
constexpr size_t kScaleBytes = 16;  // 8 fp16 scales

// Bytes of one block of 8 rows for kLevelBytes level bytes per row-block.
template <int kLevelBytes>
constexpr size_t block_group_bytes() {
  return 8 * (2 + kLevelBytes);
}

template <int kLevelBytes>
void pack(int64_t k, const uint8_t* rows, size_t row_bytes, uint8_t* group) {
  constexpr size_t kRowBlock = 2 + kLevelBytes;
  for (int64_t b = 0; b < k / kBlock; ++b) {
    uint8_t* out = group + b * block_group_bytes<kLevelBytes>();
    for (int r = 0; r < 8; ++r) {
      const uint8_t* src = rows + r * row_bytes + b * kRowBlock;
      std::memcpy(out + 2 * r, src, 2);
      for (int c = 0; c < kLevelBytes / 4; ++c) std::memcpy(out + kScaleBytes + 32 * c + 4 * r, src + 2 + 4 * c, 4);
    }
  }
}

template <int kLevelBytes>
void unpack(int64_t k, const uint8_t* group, uint8_t* rows, size_t row_bytes) {
  constexpr size_t kRowBlock = 2 + kLevelBytes;
  for (int64_t b = 0; b < k / kBlock; ++b) {
    const uint8_t* in = group + b * block_group_bytes<kLevelBytes>();
    for (int r = 0; r < 8; ++r) {
      uint8_t* dst = rows + r * row_bytes + b * kRowBlock;
      std::memcpy(dst, in + 2 * r, 2);
      for (int c = 0; c < kLevelBytes / 4; ++c) std::memcpy(dst + 2 + 4 * c, in + kScaleBytes + 32 * c + 4 * r, 4);
    }
  }
}

}  // namespace flame::quant::x8::legacy_x8
