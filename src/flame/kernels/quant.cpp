// Row conversion for every stored type, dispatching the block types through the kernel table.
#include "flame/kernels/quant.h"

#include <cstring>

#include <fmt/format.h>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/core/half.h"
#include "flame/kernels/quant_blocks.h"

namespace flame {
namespace quant {
namespace {

// One row per block type. Types whose AVX2 twin is missing (Q8_K: activation only) have none.
constexpr Kernels kTable[] = {
    {DType::Q4_0, DType::Q8_0, quantize_q4_0, dequantize_q4_0, dot_q4_0_scalar, dot_q4_0_avx2},
    {DType::Q4_1, DType::Q8_0, quantize_q4_1, dequantize_q4_1, dot_q4_1_scalar, dot_q4_1_avx2},
    {DType::Q5_0, DType::Q8_0, quantize_q5_0, dequantize_q5_0, dot_q5_0_scalar, dot_q5_0_avx2},
    {DType::Q5_1, DType::Q8_0, quantize_q5_1, dequantize_q5_1, dot_q5_1_scalar, dot_q5_1_avx2},
    {DType::Q8_0, DType::Q8_0, quantize_q8_0, dequantize_q8_0, dot_q8_0_scalar, dot_q8_0_avx2},
    {DType::Q2_K, DType::Q8_K, quantize_q2_k, dequantize_q2_k, dot_q2_k_scalar, dot_q2_k_avx2},
    {DType::Q3_K, DType::Q8_K, quantize_q3_k, dequantize_q3_k, dot_q3_k_scalar, dot_q3_k_avx2},
    {DType::Q4_K, DType::Q8_K, quantize_q4_k, dequantize_q4_k, dot_q4_k_scalar, dot_q4_k_avx2},
    {DType::Q5_K, DType::Q8_K, quantize_q5_k, dequantize_q5_k, dot_q5_k_scalar, dot_q5_k_avx2},
    {DType::Q6_K, DType::Q8_K, quantize_q6_k, dequantize_q6_k, dot_q6_k_scalar, dot_q6_k_avx2},
    {DType::Q8_K, DType::Q8_K, quantize_q8_k, dequantize_q8_k, nullptr, nullptr},
};

}  // namespace

DotFn Kernels::dot() const {
  if (dot_avx2 && !force_scalar() && cpu().has_avx2_fma()) return dot_avx2;
  return dot_scalar;
}

const Kernels* find_kernels(DType type) {
  for (const auto& k : kTable)
    if (k.type == type) return &k;
  return nullptr;
}

const Kernels& kernels(DType type) {
  const Kernels* k = find_kernels(type);
  if (!k) throw UnsupportedError(fmt::format("tensor type {} has no quantized kernels", dtype_name(type)));
  return *k;
}

}  // namespace quant

namespace {
void check_blocks(const char* op, DType type, int64_t n) {
  const int64_t block = dtype_info(type).block_size;
  if (n < 0 || n % block != 0)
    throw ArgumentError(
        op, fmt::format("{} elements is not a multiple of the {} block size {}", n, dtype_name(type), block));
}
}  // namespace

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
      break;
  }
  const quant::Kernels* k = quant::find_kernels(type);
  if (!k) throw UnsupportedError(fmt::format("dequantize_row: tensor type {} is not supported", dtype_name(type)));
  check_blocks("dequantize_row", type, n);
  k->dequantize(src, dst, n);
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
      break;
  }
  const quant::Kernels* k = quant::find_kernels(type);
  if (!k) throw UnsupportedError(fmt::format("quantize_row: tensor type {} is not supported", dtype_name(type)));
  check_blocks("quantize_row", type, n);
  k->quantize(src, dst, n);
}

bool quant_type_supported(DType type) {
  return type == DType::F32 || type == DType::F16 || type == DType::BF16 || quant::find_kernels(type) != nullptr;
}

bool matmul_type_supported(DType type) {
  if (type == DType::F32 || type == DType::F16 || type == DType::BF16) return true;
  const quant::Kernels* k = quant::find_kernels(type);
  return k != nullptr && k->dot_scalar != nullptr;
}

}  // namespace flame
