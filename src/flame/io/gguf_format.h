#pragma once
// GGUF layout constants shared by the reader and the writer (internal to io/).
// File: magic "GGUF", u32 version, u64 tensor_count, u64 kv_count, kv pairs, tensor infos,
// padding to `general.alignment` (default 32), then the data section; tensor offsets are relative
// to the data section and aligned. Strings are u64 length + bytes; arrays are u32 type + u64 count.
#include <cstddef>
#include <cstdint>

#include "flame/io/gguf.h"

namespace flame::gguf::format {

constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
constexpr uint32_t kWriteVersion = 3;
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint64_t kMaxAlignment = uint64_t{1} << 30;
constexpr uint32_t kMaxDims = 4;
constexpr const char* kAlignmentKey = "general.alignment";
// Arrays of arrays deeper than this are refused (recursion depth of the parser).
constexpr int kMaxArrayDepth = 16;
// Every metadata value, array items included, becomes a Value (~48 bytes); this bounds the memory a
// hostile file can make us allocate. Real Llama 3 tokenizers hold about 0.6 million items.
constexpr uint64_t kMaxMetadataValues = uint64_t{1} << 24;

// Bytes of a fixed-size scalar, 0 for STRING/ARRAY, -1 for an unknown type id.
inline int scalar_size(uint32_t type) {
  switch (static_cast<ValueType>(type)) {
    case ValueType::U8:
    case ValueType::I8:
    case ValueType::BOOL:
      return 1;
    case ValueType::U16:
    case ValueType::I16:
      return 2;
    case ValueType::U32:
    case ValueType::I32:
    case ValueType::F32:
      return 4;
    case ValueType::U64:
    case ValueType::I64:
    case ValueType::F64:
      return 8;
    case ValueType::STRING:
    case ValueType::ARRAY:
      return 0;
  }
  return -1;
}

// The fewest bytes one encoded value of `type` can take (a string: its length; an array: type+count).
inline uint64_t min_encoded_size(uint32_t type) {
  const int s = scalar_size(type);
  if (s > 0) return static_cast<uint64_t>(s);
  return static_cast<ValueType>(type) == ValueType::STRING ? 8 : 12;
}

inline bool is_power_of_two(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

inline uint64_t align_up(uint64_t v, uint64_t alignment) {
  return (v + alignment - 1) / alignment * alignment;
}

}  // namespace flame::gguf::format
