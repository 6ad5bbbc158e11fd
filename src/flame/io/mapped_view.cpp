#include "flame/io/mapped_view.h"

#include <algorithm>
#include <cstring>

namespace flame::io {

size_t required_alignment(DType dtype) {
  const auto& info = dtype_info(dtype);
  if (!info.quantized) return static_cast<size_t>(std::min<int64_t>(info.type_size, 8));
  return info.type_size % 4 == 0 ? 4 : 2;
}

Tensor mapped_tensor(DType dtype, const Shape& shape, const std::shared_ptr<MappedFile>& file, uint64_t offset) {
  const uint8_t* data = file->data() + offset;
  Tensor view = Tensor::view(dtype, shape, data, file);
  if (reinterpret_cast<uintptr_t>(data) % required_alignment(dtype) == 0) return view;
  return view.clone();
}

}  // namespace flame::io
