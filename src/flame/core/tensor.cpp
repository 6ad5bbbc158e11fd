#include "flame/core/tensor.h"

#include <cstring>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/core/half.h"
#include "flame/core/memory.h"

namespace flame {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {
void check_shape(DType dtype, const Shape& shape, const char* op) {
  for (int64_t d : shape)
    if (d < 0) throw ArgumentError(op, "negative dimension in shape " + shape_str(shape));
  const auto& info = dtype_info(dtype);
  if (info.block_size > 1 && !shape.empty() && shape.back() % info.block_size != 0)
    throw ArgumentError(op, fmt::format("last dimension of {} is not a multiple of the {} block size {}",
                                        shape_str(shape), info.name, info.block_size));
}
}  // namespace

Tensor Tensor::empty(DType dtype, Shape shape) {
  check_shape(dtype, shape, "Tensor::empty");
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  auto buffer = AlignedBuffer::allocate(t.nbytes());
  t.data_ = buffer->data();
  t.owner_ = buffer;
  t.owns_ = true;
  return t;
}

Tensor Tensor::view(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> owner) {
  check_shape(dtype, shape, "Tensor::view");
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = const_cast<void*>(data);
  t.owner_ = std::move(owner);
  t.owns_ = false;
  return t;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

int64_t Tensor::rows() const {
  int64_t n = 1;
  for (size_t i = 0; i + 1 < shape_.size(); ++i) n *= shape_[i];
  return n;
}

size_t Tensor::row_bytes() const { return flame::row_bytes(dtype_, cols()); }

size_t Tensor::nbytes() const { return static_cast<size_t>(rows()) * row_bytes(); }

Tensor Tensor::reshape(Shape shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.layout_.reset();  // a layout describes one shape
  check_shape(dtype_, t.shape_, "Tensor::reshape");
  if (t.numel() != numel())
    throw ArgumentError("Tensor::reshape", fmt::format("cannot reshape {} into {}", shape_str(shape_), shape_str(t.shape_)));
  return t;
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  if (begin < 0 || end < begin || end > rows())
    throw ArgumentError("Tensor::slice_rows", fmt::format("rows [{}, {}) out of range for {}", begin, end, shape_str(shape_)));
  Tensor t = *this;
  t.shape_ = {end - begin, cols()};
  t.layout_.reset();
  t.data_ = static_cast<uint8_t*>(data_) + static_cast<size_t>(begin) * row_bytes();
  t.owns_ = false;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(dtype_, shape_);
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::to_f32() const {
  Tensor out = empty(DType::F32, shape_);
  const int64_t n = numel();
  float* dst = out.data<float>();
  switch (dtype_) {
    case DType::F32:
      std::memcpy(dst, data_, n * sizeof(float));
      break;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(data<uint16_t>()[i]);
      break;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(data<uint16_t>()[i]);
      break;
    default:
      throw UnsupportedError(fmt::format("Tensor::to_f32: {} needs the quant kernels (kernels/quant.h)", dtype_name(dtype_)));
  }
  return out;
}

}  // namespace flame
