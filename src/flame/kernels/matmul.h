#pragma once
// The weight product every layer uses, for inference and training forward alike:
//   y[m][n] = sum_k x[m][k] * W[n][k]
// W is a weight tensor of shape {n, k} in any stored type (F32, F16, BF16, block-quantized); x and y
// are row-major float. m == 1 is decode (matrix-vector, bandwidth-bound); m > 1 is prompt processing
// (matrix-matrix, compute-bound). Work is split over the shared thread pool.
//
//   matmul(layer.wq, x.data<float>(), q.data<float>(), n_tokens);
#include <cstdint>

#include "flame/core/tensor.h"
#include "flame/core/thread_pool.h"

namespace flame {

void matmul(const Tensor& weight, const float* x, float* y, int64_t m, ThreadPool& pool = ThreadPool::global());

}  // namespace flame
