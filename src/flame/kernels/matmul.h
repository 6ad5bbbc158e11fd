#pragma once
// The weight product every layer uses, for inference and training forward alike:
//   y[m][n] = sum_k x[m][k] * W[n][k]
// W is a weight tensor of shape {n, k} in any stored type (F32, F16, BF16, block-quantized); x and y
// are row-major float. m == 1 is decode (matrix-vector, bandwidth-bound); m > 1 is prompt processing
// (matrix-matrix, compute-bound). Work is split over the shared thread pool.
//
//   matmul(layer.wq, x.data<float>(), q.data<float>(), n_tokens);
#include <cstdint>
#include <initializer_list>

#include "flame/core/tensor.h"
#include "flame/core/thread_pool.h"

namespace flame {

void matmul(const Tensor& weight, const float* x, float* y, int64_t m, ThreadPool& pool = ThreadPool::global());

// Several products of the same input x[m,k] (Q/K/V, or gate/up), y_i[m,n_i] = x . W_i^T. Bitwise
// the same results as separate matmul calls; for decode it is one pool dispatch instead of one per
// weight, and rows are handed out in chunks so a descheduled thread delays the step by one chunk.
//
//   matmul_shared_input({{layer.wq, q}, {layer.wk, k}, {layer.wv, v}}, h, n_tokens);
struct MatmulOutput {
  const Tensor& weight;
  float* y;
};
void matmul_shared_input(std::initializer_list<MatmulOutput> products, const float* x, int64_t m,
                         ThreadPool& pool = ThreadPool::global());

// Makes OpenBLAS single-threaded (once per process): every sgemm caller runs inside the shared pool,
// which brings the threads.
void use_single_threaded_blas();

}  // namespace flame
