// y[m][n] = x[m][k] . W[n][k]^T for a block-quantized W.
//  - decode and short batches (m < kGemmMinRows): activations are quantized once to the type's
//    8-bit blocks (Q8_0 or Q8_K) and every weight row is dotted on its packed blocks with integer
//    arithmetic (AVX2 vpmaddubsw); rows handed out in chunks over the pool (quant_decode.h), each
//    row streamed once and reused from L1 for the m inputs;
//  - prompt processing (m >= kGemmMinRows) for Q8_0/Q4_0/Q4_K/Q6_K: the integer GEMM of
//    quant_gemm.h (8-row interleaved panels, vpmaddubsw, activations quantized once);
//  - prompt processing for the other types: each thread dequantizes tiles of its weight rows
//    (about 1 MB, L2-resident) once and multiplies all m rows against the tile with
//    single-threaded sgemm; weights are read from memory once per call.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/kernels/matmul.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_decode.h"
#include "flame/kernels/quant_gemm.h"

namespace flame {
namespace {

constexpr int64_t kGemmMinRows = 8;          // from here on the GEMM paths win
constexpr int64_t kTileFloats = 256 * 1024;  // 1 MB of dequantized weights per sgemm tile

void gemm_rows(const quant::Kernels& kern, const uint8_t* w, size_t w_row_bytes, const float* x, float* y, int64_t m,
               int64_t k, int64_t n, int64_t row_begin, int64_t row_end) {
  const int64_t tile = std::clamp<int64_t>(kTileFloats / k, 16, 512);
  thread_local std::vector<float> buffer;
  buffer.resize(static_cast<size_t>(tile * k));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += tile) {
    const int64_t rows = std::min(tile, row_end - r0);
    for (int64_t r = 0; r < rows; ++r) kern.dequantize(w + (r0 + r) * w_row_bytes, buffer.data() + r * k, k);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(rows),
                static_cast<int>(k), 1.0f, x, static_cast<int>(k), buffer.data(), static_cast<int>(k), 0.0f, y + r0,
                static_cast<int>(n));
  }
}

}  // namespace

void matmul_quant(const Tensor& weight, const float* x, float* y, int64_t m, ThreadPool& pool) {
  const quant::Kernels& kern = quant::kernels(weight.dtype());
  if (!kern.dot_scalar)
    throw UnsupportedError(
        fmt::format("matmul: {} is an activation type, not a weight type", dtype_name(weight.dtype())));
  if (weight.ndim() != 2)
    throw ArgumentError("matmul", fmt::format("weight must be 2-D, got {}", shape_str(weight.shape())));
  const int64_t n = weight.dim(0), k = weight.dim(1);
  const int64_t act_block = dtype_info(kern.act_type).block_size;
  if (k % act_block != 0 || k % dtype_info(weight.dtype()).block_size != 0)
    throw ArgumentError("matmul", fmt::format("inner dimension {} is not a multiple of the {} block size", k,
                                              dtype_name(weight.dtype())));
  if (m <= 0 || n == 0) return;

  const size_t w_row_bytes = weight.row_bytes();
  const auto* w = static_cast<const uint8_t*>(weight.data());
  if (m >= kGemmMinRows && quant_gemm_supported(weight.dtype())) {
    quant_gemm(weight, x, y, m, pool);  // integer GEMM on the packed blocks (quant_gemm.h)
    return;
  }
  if (m >= kGemmMinRows && !force_scalar()) {
    use_single_threaded_blas();
    pool.parallel_for(
        n, [&](int64_t b, int64_t e) { gemm_rows(kern, w, w_row_bytes, x, y, m, k, n, b, e); }, 16);
    return;
  }

  const detail::QuantProduct product{&weight, y};
  detail::matmul_quant_decode(&product, 1, x, m, pool);
}

}  // namespace flame
