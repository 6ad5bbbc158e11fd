#include "flame/core/dtype.h"

#include <array>
#include <cctype>
#include <string>

#include <fmt/format.h>

#include "flame/core/error.h"

namespace flame {
namespace {

constexpr std::array<DTypeInfo, 20> kTypes = {{
    {DType::F32, "f32", 1, 4, false},
    {DType::F16, "f16", 1, 2, false},
    {DType::Q4_0, "q4_0", 32, 18, true},
    {DType::Q4_1, "q4_1", 32, 20, true},
    {DType::Q5_0, "q5_0", 32, 22, true},
    {DType::Q5_1, "q5_1", 32, 24, true},
    {DType::Q8_0, "q8_0", 32, 34, true},
    {DType::Q8_1, "q8_1", 32, 36, true},
    {DType::Q2_K, "q2_K", 256, 84, true},
    {DType::Q3_K, "q3_K", 256, 110, true},
    {DType::Q4_K, "q4_K", 256, 144, true},
    {DType::Q5_K, "q5_K", 256, 176, true},
    {DType::Q6_K, "q6_K", 256, 210, true},
    {DType::Q8_K, "q8_K", 256, 292, true},
    {DType::I8, "i8", 1, 1, false},
    {DType::I16, "i16", 1, 2, false},
    {DType::I32, "i32", 1, 4, false},
    {DType::I64, "i64", 1, 8, false},
    {DType::F64, "f64", 1, 8, false},
    {DType::BF16, "bf16", 1, 2, false},
}};

const DTypeInfo* find(uint32_t id) {
  for (const auto& t : kTypes)
    if (static_cast<uint32_t>(t.type) == id) return &t;
  return nullptr;
}

}  // namespace

const DTypeInfo& dtype_info(DType type) {
  const DTypeInfo* info = find(static_cast<uint32_t>(type));
  if (!info) throw UnsupportedError(fmt::format("unknown tensor type id {}", static_cast<uint32_t>(type)));
  return *info;
}

std::optional<DType> dtype_from_id(uint32_t id) {
  const DTypeInfo* info = find(id);
  if (!info) return std::nullopt;
  return info->type;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const std::string wanted = lower(name);
  for (const auto& t : kTypes)
    if (lower(t.name) == wanted) return t.type;
  return std::nullopt;
}

std::string_view dtype_name(DType type) { return dtype_info(type).name; }

size_t row_bytes(DType type, int64_t n) {
  const auto& info = dtype_info(type);
  if (n < 0 || n % info.block_size != 0)
    throw ArgumentError("row_bytes", fmt::format("{} elements is not a multiple of the {} block size {}", n,
                                                 info.name, info.block_size));
  return static_cast<size_t>(n / info.block_size) * static_cast<size_t>(info.type_size);
}

std::optional<uint64_t> checked_bytes(DType type, uint64_t numel) {
  const DTypeInfo* info = find(static_cast<uint32_t>(type));
  if (!info) return std::nullopt;
  const auto block = static_cast<uint64_t>(info->block_size);
  if (numel % block != 0) return std::nullopt;
  const uint64_t blocks = numel / block;
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(blocks, static_cast<uint64_t>(info->type_size), &bytes)) return std::nullopt;
  return bytes;
}

}  // namespace flame
