#pragma once
// Element types, numbered exactly as GGML/GGUF numbers them so a GGUF tensor's type field maps
// straight onto DType. Quantized types are blocks: `block_size` elements stored in `type_size` bytes.
//
//   const auto& info = dtype_info(DType::Q4_K);   // block_size 256, type_size 144
//   size_t bytes = row_bytes(DType::Q4_K, 2048);  // 8 blocks * 144
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace flame {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
};

struct DTypeInfo {
  DType type;
  std::string_view name;  // as llama.cpp prints it: "f32", "q4_K", ...
  int64_t block_size;     // elements per block (1 for plain types)
  int64_t type_size;      // bytes per block
  bool quantized;
};

// Info for a known type. Throws UnsupportedError for a value that is not a DType we know.
const DTypeInfo& dtype_info(DType type);
// The DType for a raw GGUF type id, or nullopt if the id is not one we know.
std::optional<DType> dtype_from_id(uint32_t id);
// The DType for a name ("f16", "Q8_0", "q4_k", case-insensitive), or nullopt.
std::optional<DType> dtype_from_name(std::string_view name);
std::string_view dtype_name(DType type);

// Bytes of one row of `n` elements. Throws ArgumentError if n is not a multiple of the block size.
size_t row_bytes(DType type, int64_t n);
// Overflow-checked bytes of `numel` elements; returns nullopt on overflow or a partial block.
std::optional<uint64_t> checked_bytes(DType type, uint64_t numel);

}  // namespace flame
