#pragma once
// Row conversion between float and every stored weight type (plain and GGML block-quantized), and
// the quantized matrix product. Block layouts are bit-identical to GGUF's.
//
//   std::vector<float> row(n);
//   dequantize_row(w.dtype(), w.row<void>(r), row.data(), n);
//   matmul_quant(w, x, y, m, pool);   // y[m,n] = x[m,k] . W[n,k]^T with W quantized
#include <cstdint>

#include "flame/core/dtype.h"
#include "flame/core/tensor.h"
#include "flame/core/thread_pool.h"

namespace flame {

// n must be a multiple of the type's block size. Supports F32, F16, BF16 and every quantized type
// the quant kernels implement; throws UnsupportedError otherwise.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);
void quantize_row(DType type, const float* src, void* dst, int64_t n);
bool quant_type_supported(DType type);
// Types a weight matrix may have for matmul/matmul_quant: F32, F16, BF16 and the block types with a
// dot product (Q8_K is an activation type only).
bool matmul_type_supported(DType type);

// y[m][n] = sum_k x[m][k] * W[n][k] for a block-quantized W of shape {n, k}.
void matmul_quant(const Tensor& weight, const float* x, float* y, int64_t m, ThreadPool& pool);

}  // namespace flame
