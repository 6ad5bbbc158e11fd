#pragma once
// Tensor: a dtype, a row-major shape (outermost dimension first, like PyTorch), a data pointer and
// an owner that keeps the bytes alive (an AlignedBuffer, a MappedFile, or nothing for a borrowed view).
// Quantized tensors are rows of blocks: the last dimension must be a multiple of the block size.
//
//   Tensor x = Tensor::empty(DType::F32, {seq, dim});   // owning, zeroed, 64-byte aligned
//   float* row = x.row<float>(3);
//   Tensor w = Tensor::view(DType::Q4_K, {2048, 8192}, ptr, mapped_file);  // borrows mmap'd bytes
//   w.set_layout(packed);   // an alternative arrangement of the same values (kernels decide; see below)
//
// GGUF lists dimensions innermost first; the GGUF reader reverses them into this order, so a GGUF
// tensor with ne = [2048, 128256] becomes shape {128256, 2048}: 128256 rows of 2048 elements.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "flame/core/dtype.h"

namespace flame {

using Shape = std::vector<int64_t>;

// An alternative in-memory arrangement of a tensor's values that some kernels read instead of the
// row-major bytes (e.g. the interleaved 8-row decode layout, kernels/quant_x8_tensor.h). Opaque to
// core: kernels derive from it and look for their own type. Shared by copies of the Tensor, dropped
// by reshape/slice_rows/clone (the arrangement describes this exact shape), never serialized.
class TensorLayout {
public:
  virtual ~TensorLayout() = default;
};

std::string shape_str(const Shape& shape);

class Tensor {
public:
  Tensor() = default;

  static Tensor empty(DType dtype, Shape shape);
  static Tensor zeros(DType dtype, Shape shape) { return empty(dtype, std::move(shape)); }
  // A view over bytes owned by `owner` (may be null for borrowed memory the caller keeps alive).
  static Tensor view(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> owner = nullptr);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_.at(i < 0 ? shape_.size() + i : i); }
  int64_t numel() const;
  // Number of rows (product of every dimension but the last) and elements per row.
  int64_t rows() const;
  int64_t cols() const { return shape_.empty() ? 1 : shape_.back(); }
  size_t row_bytes() const;
  size_t nbytes() const;
  bool defined() const { return data_ != nullptr || numel() == 0; }
  bool is_view() const { return !owns_; }

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <class T>
  T* data() {
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }
  template <class T>
  T* row(int64_t r) {
    return reinterpret_cast<T*>(static_cast<uint8_t*>(data_) + static_cast<size_t>(r) * row_bytes());
  }
  template <class T>
  const T* row(int64_t r) const {
    return reinterpret_cast<const T*>(static_cast<const uint8_t*>(data_) + static_cast<size_t>(r) * row_bytes());
  }

  // Same bytes, new shape with the same number of elements (and compatible blocks).
  Tensor reshape(Shape shape) const;
  // Rows [begin, end) of a tensor viewed as 2-D (rows x cols); shares the owner.
  Tensor slice_rows(int64_t begin, int64_t end) const;
  // Deep copy into an owning, aligned buffer.
  Tensor clone() const;
  // Convert to F32 (dequantizing F16/BF16; quantized types need kernels/quant and throw here).
  Tensor to_f32() const;

  const std::shared_ptr<const void>& owner() const { return owner_; }

  // The alternative layout of the same values, or null. data() stays valid and holds the values.
  const std::shared_ptr<const TensorLayout>& layout() const { return layout_; }
  void set_layout(std::shared_ptr<const TensorLayout> layout) { layout_ = std::move(layout); }

private:
  DType dtype_ = DType::F32;
  Shape shape_;
  void* data_ = nullptr;
  std::shared_ptr<const void> owner_;
  bool owns_ = false;
  std::shared_ptr<const TensorLayout> layout_;
};

}  // namespace flame
