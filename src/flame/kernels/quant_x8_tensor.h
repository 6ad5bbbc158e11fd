#pragma once
// A weight Tensor's interleaved 8-row (x8) form: the TensorLayout that decode kernels read instead
// of the GGUF rows (format per type in quant_x8_<type>.cpp, kernels in quant_x8.h).
//
//   if (can_pack_x8(w)) w.set_layout(pack_x8(w, ThreadPool::global()));   // at model load
//   if (const X8Weight* x8 = x8_weight(w)) x8::group_dot(w.dtype())(k, x8->group(g), act, out);
//   const uint8_t* rows = unpack_x8_rows(*x8, g0, groups, scratch);    // GGUF rows 8*g0 ... again
#include <cstdint>
#include <memory>
#include <vector>

#include "flame/core/memory.h"
#include "flame/core/tensor.h"
#include "flame/core/thread_pool.h"

namespace flame {

class X8Weight final : public TensorLayout {
 public:
  // The groups start `offset` bytes into `buffer` (several weights may share one buffer).
  X8Weight(DType type, int64_t n, int64_t k, size_t group_bytes, std::shared_ptr<AlignedBuffer> buffer,
           size_t offset = 0)
      : type(type), n(n), k(k), group_bytes(group_bytes), buffer_(std::move(buffer)), base_(buffer_->data() + offset) {}
  const uint8_t* group(int64_t g) const { return base_ + static_cast<size_t>(g) * group_bytes; }
  int64_t groups() const { return n / 8; }
  size_t nbytes() const { return static_cast<size_t>(groups()) * group_bytes; }

  const DType type;
  const int64_t n, k;  // rows and elements per row of the weight
  const size_t group_bytes;

 private:
  std::shared_ptr<AlignedBuffer> buffer_;
  const uint8_t* base_;
};

// The x8 layout of a tensor, or null when it has none (or another layout).
const X8Weight* x8_weight(const Tensor& t);
// A 2-D weight whose type has x8 kernels and whose row count is a multiple of 8.
bool can_pack_x8(const Tensor& t);
// Packs every group of 8 rows, split over the pool. Throws ArgumentError if !can_pack_x8(t).
std::shared_ptr<const X8Weight> pack_x8(const Tensor& t, ThreadPool& pool);
// Bytes the x8 form of `t` takes (t must satisfy can_pack_x8).
size_t x8_bytes(const Tensor& t);
// Packs into `buffer` at `offset` (x8_bytes(t) bytes from there must fit), which the result keeps
// alive: one buffer can hold a whole model's packed weights.
std::shared_ptr<const X8Weight> pack_x8_into(const Tensor& t, ThreadPool& pool, std::shared_ptr<AlignedBuffer> buffer,
                                             size_t offset);
// GGUF rows 8*first_group ... 8*(first_group+groups)-1 unpacked into `scratch` (grown as needed),
// row_bytes(type, k) apart; returns scratch.data().
const uint8_t* unpack_x8_rows(const X8Weight& w, int64_t first_group, int64_t groups, std::vector<uint8_t>& scratch);

}  // namespace flame
