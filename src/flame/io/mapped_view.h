#pragma once
// A tensor over bytes of a mapped file: a zero-copy view when the bytes are aligned for the element
// type (always, for GGUF's default 32-byte alignment and padded safetensors headers), otherwise an
// aligned copy, so kernels never read misaligned floats from an oddly laid-out but valid file.
//
//   Tensor w = io::mapped_tensor(DType::F32, {rows, cols}, file, byte_offset);
#include <cstdint>
#include <memory>

#include "flame/core/memory.h"
#include "flame/core/tensor.h"

namespace flame::io {

// Alignment a pointer to `dtype` data needs: the element size for plain types, the block's widest
// scalar (2 or 4 bytes) for quantized blocks.
size_t required_alignment(DType dtype);

Tensor mapped_tensor(DType dtype, const Shape& shape, const std::shared_ptr<MappedFile>& file, uint64_t offset);

}  // namespace flame::io
