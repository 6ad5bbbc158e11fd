#pragma once
// Per-type entry points behind quant_x8.h; quant_x8.cpp dispatches on the type. Each type lives in
// its own files: quant_x8_<type>.cpp (format, pack/unpack, scalar twin) and quant_x8_<type>_avx2.cpp.
#include <cstddef>
#include <cstdint>

namespace flame::quant::x8::detail {

#define FLAME_X8_TYPE(name)                                                                  \
  size_t group_bytes_##name(int64_t k);                                                      \
  void pack_##name(int64_t k, const uint8_t* rows, size_t row_bytes, uint8_t* group);        \
  void unpack_##name(int64_t k, const uint8_t* group, uint8_t* rows, size_t row_bytes);      \
  void dot_##name##_scalar(int64_t k, const uint8_t* group, const uint8_t* act, float* out); \
  void dot_##name##_avx2(int64_t k, const uint8_t* group, const uint8_t* act, float* out);

FLAME_X8_TYPE(q4_0)
FLAME_X8_TYPE(q8_0)
FLAME_X8_TYPE(q4_k)
FLAME_X8_TYPE(q6_k)

#undef FLAME_X8_TYPE

// Multi-group AVX2 kernels (quant_x8.h groups_dot), for the types that have one.
void dot_groups_q4_0_avx2(int64_t k, const uint8_t* groups, int64_t count, const uint8_t* act, float* out);

}  // namespace flame::quant::x8::detail
