// PLACEHOLDER (owned by the quantization work, issue 4): plain types only until the block kernels land.
#include "flame/kernels/quant.h"

#include <cstring>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/core/half.h"

namespace flame {

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(static_cast<const uint16_t*>(src)[i]);
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(static_cast<const uint16_t*>(src)[i]);
      return;
    default:
      throw UnsupportedError(fmt::format("dequantize_row: tensor type {} is not supported", dtype_name(type)));
  }
}

void quantize_row(DType type, const float* src, void* dst, int64_t n) {
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = f32_to_f16(src[i]);
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = f32_to_bf16(src[i]);
      return;
    default:
      throw UnsupportedError(fmt::format("quantize_row: tensor type {} is not supported", dtype_name(type)));
  }
}

bool quant_type_supported(DType type) {
  return type == DType::F32 || type == DType::F16 || type == DType::BF16;
}

void matmul_quant(const Tensor& weight, const float*, float*, int64_t, ThreadPool&) {
  throw UnsupportedError(fmt::format("matmul: tensor type {} is not supported yet", dtype_name(weight.dtype())));
}

}  // namespace flame
