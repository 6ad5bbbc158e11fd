// Packing whole weight tensors into the x8 layout and unpacking groups of them back to GGUF rows.
#include "flame/kernels/quant_x8_tensor.h"

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/kernels/quant_x8.h"

namespace flame {

const X8Weight* x8_weight(const Tensor& t) {
  const auto* x8 = dynamic_cast<const X8Weight*>(t.layout().get());
  // A layout made for another shape or type is not this tensor's (set_layout does not check).
  if (!x8 || x8->type != t.dtype() || t.ndim() != 2 || x8->n != t.dim(0) || x8->k != t.dim(1)) return nullptr;
  return x8;
}

bool can_pack_x8(const Tensor& t) {
  return t.ndim() == 2 && quant::x8::supported(t.dtype()) && t.dim(0) > 0 && t.dim(0) % quant::x8::kRows == 0;
}

namespace {
void check_packable(const Tensor& t) {
  if (!can_pack_x8(t))
    throw ArgumentError("pack_x8", fmt::format("a {} weight of shape {} has no x8 layout (needs a type with x8 "
                                               "kernels and a multiple of 8 rows)",
                                               dtype_name(t.dtype()), shape_str(t.shape())));
}
}  // namespace

size_t x8_bytes(const Tensor& t) {
  check_packable(t);
  return static_cast<size_t>(t.dim(0) / 8) * quant::x8::group_bytes(t.dtype(), t.dim(1));
}

std::shared_ptr<const X8Weight> pack_x8(const Tensor& t, ThreadPool& pool) {
  return pack_x8_into(t, pool, AlignedBuffer::allocate(x8_bytes(t)), 0);
}

std::shared_ptr<const X8Weight> pack_x8_into(const Tensor& t, ThreadPool& pool, std::shared_ptr<AlignedBuffer> buffer,
                                             size_t offset) {
  const size_t bytes = x8_bytes(t);
  if (!buffer || offset > buffer->size() || buffer->size() - offset < bytes)
    throw ArgumentError("pack_x8", fmt::format("{} bytes at offset {} do not fit a buffer of {} bytes", bytes, offset,
                                               buffer ? buffer->size() : 0));
  const DType type = t.dtype();
  const int64_t n = t.dim(0), k = t.dim(1);
  const size_t group_bytes = quant::x8::group_bytes(type, k);
  uint8_t* out = buffer->data() + offset;
  const auto* rows = static_cast<const uint8_t*>(t.data());
  const size_t rb = t.row_bytes();
  pool.parallel_for(n / 8, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g)
      quant::x8::pack_group(type, k, rows + static_cast<size_t>(8 * g) * rb, rb, out + g * group_bytes);
  });
  return std::make_shared<const X8Weight>(type, n, k, group_bytes, std::move(buffer), offset);
}

const uint8_t* unpack_x8_rows(const X8Weight& w, int64_t first_group, int64_t groups, std::vector<uint8_t>& scratch) {
  const size_t rb = row_bytes(w.type, w.k);
  if (scratch.size() < static_cast<size_t>(8 * groups) * rb) scratch.resize(static_cast<size_t>(8 * groups) * rb);
  for (int64_t g = 0; g < groups; ++g)
    quant::x8::unpack_group(w.type, w.k, w.group(first_group + g), scratch.data() + static_cast<size_t>(8 * g) * rb,
                            rb);
  return scratch.data();
}

}  // namespace flame
