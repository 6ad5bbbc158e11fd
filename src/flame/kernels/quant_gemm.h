#pragma once
// Integer GEMM on packed quantized weight blocks, for prompt processing (many activation rows):
// y[m][n] = x[m][k] . W[n][k]^T. The m activation rows are quantized once to the type's 8-bit
// blocks (Q8_0 for Q4_0/Q8_0, Q8_K for Q4_K/Q5_K/Q6_K), exactly as the per-row dot products do; the
// AVX2 path repacks 8 weight rows at a time into an interleaved panel (one 32-byte vector holds
// 4 consecutive levels of each of the 8 rows) so one vpmaddubsw multiplies 8 rows by a broadcast
// group of 4 activations, and integer sums stay in registers across a block.
//
//   if (quant_gemm_supported(w.dtype())) quant_gemm(w, x, y, m, ThreadPool::global());
//
// The scalar twin (quant_gemm_scalar) computes the same integer sum per (row, block) and the
// same float epilogue with std::fma in the same order, so both paths give bit-identical output.
#include <cstddef>
#include <cstdint>

#include "flame/core/dtype.h"
#include "flame/core/tensor.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/quant_blocks.h"

namespace flame {

// Q8_0, Q4_0, Q4_K, Q5_K and Q6_K; other types use the dequantize + sgemm path.
bool quant_gemm_supported(DType type);

// Dispatches to the AVX2 kernels when the CPU has them and force_scalar() is off.
void quant_gemm(const Tensor& weight, const float* x, float* y, int64_t m, ThreadPool& pool);
// The reference twin, whatever the CPU (tests).
void quant_gemm_scalar(const Tensor& weight, const float* x, float* y, int64_t m, ThreadPool& pool);

namespace quant_gemm_detail {

// Quantized activations: m rows of `row_bytes` (Q8_0 or Q8_K blocks). For Q8_0 also the block
// scales as float and the plain sum of each block's 32 levels (Q4_0's -8 offset is applied
// through them, so its nibbles enter vpmaddubsw unsigned).
struct Activations {
  DType act_type;
  int64_t m = 0, k = 0;
  const uint8_t* blocks = nullptr;
  size_t row_bytes = 0;
  const float* scales = nullptr;  // [m][k/32], Q8_0 only
  const int32_t* sums = nullptr;  // [m][k/32], Q8_0 only
};

// Rows [row_begin, row_end) of y (y is m x n, row-major) from the packed weight rows.
using GemmRowsFn = void (*)(DType type, const uint8_t* w, size_t w_row_bytes, const Activations& act, float* y,
                            int64_t n, int64_t row_begin, int64_t row_end);
void gemm_rows_scalar(DType type, const uint8_t* w, size_t w_row_bytes, const Activations& act, float* y, int64_t n,
                      int64_t row_begin, int64_t row_end);
// row_begin must be a multiple of kPanelRows.
void gemm_rows_avx2(DType type, const uint8_t* w, size_t w_row_bytes, const Activations& act, float* y, int64_t n,
                    int64_t row_begin, int64_t row_end);
constexpr int64_t kPanelRows = 8;

// Level (0..63) of element e (0..255) of a Q6_K super-block, in the order dequantize_q6_k uses.
inline int q6_k_level(const quant::BlockQ6_K& x, int e) {
  const int h = e / 128, run = (e % 128) / 32, l = e % 32;
  const uint8_t ql = x.ql[64 * h + l + 32 * (run & 1)];
  const int low = run < 2 ? ql & 0xF : ql >> 4;
  return low | (((x.qh[32 * h + l] >> (2 * run)) & 3) << 4);
}
// Level (0..15) of element e (0..255) of a Q4_K super-block: sub-block e/32, two per 32 bytes.
inline int q4_k_level(const quant::BlockQ4_K& x, int e) {
  const uint8_t q = x.qs[32 * (e / 64) + e % 32];
  return (e / 32) % 2 ? q >> 4 : q & 0xF;
}
// Level (0..31) of element e of a Q5_K super-block: the Q4_K nibble plus bit e/32 of qh[e % 32].
inline int q5_k_level(const quant::BlockQ5_K& x, int e) {
  const uint8_t q = x.qs[32 * (e / 64) + e % 32];
  const int low = (e / 32) % 2 ? q >> 4 : q & 0xF;
  return low | (((x.qh[e % 32] >> (e / 32)) & 1) << 4);
}

}  // namespace quant_gemm_detail
}  // namespace flame
