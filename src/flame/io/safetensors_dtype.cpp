// safetensors dtype names: element sizes and the mapping onto flame's DType.
#include <fmt/format.h>

#include <array>

#include "flame/core/error.h"
#include "flame/io/safetensors.h"

namespace flame::safetensors {
namespace {

struct DTypeEntry {
  std::string_view name;
  int size;
  std::optional<DType> dtype;
};

constexpr std::array<DTypeEntry, 15> kDTypes = {{
    {"BOOL", 1, std::nullopt},
    {"U8", 1, std::nullopt},
    {"I8", 1, DType::I8},
    {"F8_E5M2", 1, std::nullopt},
    {"F8_E4M3", 1, std::nullopt},
    {"I16", 2, DType::I16},
    {"U16", 2, std::nullopt},
    {"F16", 2, DType::F16},
    {"BF16", 2, DType::BF16},
    {"I32", 4, DType::I32},
    {"U32", 4, std::nullopt},
    {"F32", 4, DType::F32},
    {"F64", 8, DType::F64},
    {"I64", 8, DType::I64},
    {"U64", 8, std::nullopt},
}};

}  // namespace

int dtype_size(std::string_view name) {
  for (const auto& e : kDTypes)
    if (e.name == name) return e.size;
  return 0;
}

std::optional<DType> to_dtype(std::string_view name) {
  for (const auto& e : kDTypes)
    if (e.name == name) return e.dtype;
  return std::nullopt;
}

std::string_view from_dtype(DType dtype) {
  for (const auto& e : kDTypes)
    if (e.dtype == dtype) return e.name;
  throw UnsupportedError(fmt::format("safetensors cannot store {} tensors", dtype_name(dtype)));
}

}  // namespace flame::safetensors
