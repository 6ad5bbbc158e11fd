// Dispatch of the x8 (interleaved 8-row) layout to its per-type implementations.
#include "flame/kernels/quant_x8.h"

#include <fmt/format.h>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/kernels/quant_x8_detail.h"

namespace flame::quant::x8 {
namespace {

struct TypeFns {
  size_t (*group_bytes)(int64_t);
  void (*pack)(int64_t, const uint8_t*, size_t, uint8_t*);
  void (*unpack)(int64_t, const uint8_t*, uint8_t*, size_t);
  GroupDotFn dot_scalar;
  GroupDotFn dot_avx2;
  GroupsDotFn groups_scalar;  // group by group with dot_scalar
  GroupsDotFn groups_avx2;    // a multi-group kernel, or group by group with dot_avx2
};

// groups_dot for a type without a multi-group kernel: one group_dot call per group.
template <size_t (*kGroupBytes)(int64_t), GroupDotFn kDot>
void groups_one_by_one(int64_t k, const uint8_t* groups, int64_t count, const uint8_t* act, float* out) {
  const size_t gb = kGroupBytes(k);
  for (int64_t i = 0; i < count; ++i) kDot(k, groups + i * gb, act, out + 8 * i);
}

#define FLAME_X8_FNS(name, groups_avx2)                                                                        \
  TypeFns {                                                                                                    \
    detail::group_bytes_##name, detail::pack_##name, detail::unpack_##name, detail::dot_##name##_scalar,       \
        detail::dot_##name##_avx2, groups_one_by_one<detail::group_bytes_##name, detail::dot_##name##_scalar>, \
        groups_avx2                                                                                            \
  }
#define FLAME_X8_ONE_BY_ONE(name) groups_one_by_one<detail::group_bytes_##name, detail::dot_##name##_avx2>

const TypeFns* find(DType type) {
  switch (type) {
    case DType::Q4_0: {
      static const TypeFns f = FLAME_X8_FNS(q4_0, detail::dot_groups_q4_0_avx2);
      return &f;
    }
    case DType::Q8_0: {
      static const TypeFns f = FLAME_X8_FNS(q8_0, FLAME_X8_ONE_BY_ONE(q8_0));
      return &f;
    }
    case DType::Q4_K: {
      static const TypeFns f = FLAME_X8_FNS(q4_k, FLAME_X8_ONE_BY_ONE(q4_k));
      return &f;
    }
    case DType::Q6_K: {
      static const TypeFns f = FLAME_X8_FNS(q6_k, FLAME_X8_ONE_BY_ONE(q6_k));
      return &f;
    }
    default:
      return nullptr;
  }
}

const TypeFns& get(DType type) {
  const TypeFns* f = find(type);
  if (!f) throw UnsupportedError(fmt::format("x8 layout: no interleaved kernels for {}", dtype_name(type)));
  return *f;
}

}  // namespace

bool supported(DType type) {
  return find(type) != nullptr;
}

size_t group_bytes(DType type, int64_t k) {
  return get(type).group_bytes(k);
}

void pack_group(DType type, int64_t k, const uint8_t* rows, size_t row_bytes, uint8_t* group) {
  get(type).pack(k, rows, row_bytes, group);
}

void unpack_group(DType type, int64_t k, const uint8_t* group, uint8_t* rows, size_t row_bytes) {
  get(type).unpack(k, group, rows, row_bytes);
}

GroupDotFn group_dot(DType type) {
  const TypeFns& f = get(type);
  return !force_scalar() && cpu().has_avx2_fma() ? f.dot_avx2 : f.dot_scalar;
}

GroupsDotFn groups_dot(DType type) {
  const TypeFns& f = get(type);
  return !force_scalar() && cpu().has_avx2_fma() ? f.groups_avx2 : f.groups_scalar;
}

GroupDotFn group_dot_scalar(DType type) {
  return get(type).dot_scalar;
}

}  // namespace flame::quant::x8
