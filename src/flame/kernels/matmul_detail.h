#pragma once
// Internal pieces of kernels/matmul.cpp shared with its AVX2 twin (matmul_avx2.cpp) and tests.
// Not a public API: call flame::matmul.
#include <cstddef>
#include <cstdint>

#include "flame/core/dtype.h"

namespace flame::detail {

// Matrix-vector rows: for each weight row r in [row_begin, row_end) and each of the m input rows,
//   y[i*ldy + r] = dot(x[i*k .. i*k+k), W[r])
// W rows are `k` elements of `type` (F32, F16 or BF16), `row_stride` bytes apart.
void gemv_rows_scalar(DType type, const void* weights, size_t row_stride, const float* x, float* y, int64_t m,
                      int64_t k, int64_t ldy, int64_t row_begin, int64_t row_end);
void gemv_rows_avx2(DType type, const void* weights, size_t row_stride, const float* x, float* y, int64_t m, int64_t k,
                    int64_t ldy, int64_t row_begin, int64_t row_end);

// Converts `rows` weight rows of `type` to float (dst is rows*k floats).
void rows_to_f32_scalar(DType type, const void* weights, size_t row_stride, float* dst, int64_t rows, int64_t k);
void rows_to_f32_avx2(DType type, const void* weights, size_t row_stride, float* dst, int64_t rows, int64_t k);

}  // namespace flame::detail
