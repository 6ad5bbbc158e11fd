#pragma once
// fp32 matrix products for training, as a forward/backward pair over plain row-major buffers.
// Every product is an OpenBLAS cblas_sgemm; the work is split statically over the shared
// ThreadPool (each chunk a single-threaded sgemm), so OpenBLAS's own threads never compete with
// the pool and results are bitwise reproducible for a given thread count.
//
//   matmul_forward(x, w, y, M, K, N, pool);                 // y = x . W^T
//   matmul_backward(dy, x, w, dx, dw, M, K, N, pool);       // dx = dy . W, dW += dy^T . x
//
// Shapes: x [M, K] (M = B*T positions, K = in features), W [N, K] (out, in), y [M, N].
// Saved for backward: the input x (the caller keeps it) and W.
#include <cstdint>

#include "flame/core/thread_pool.h"
#include "flame/kernels/matmul.h"  // use_single_threaded_blas

namespace flame {

// y[M, N] (=, or += when accumulate) x[M, K] . W[N, K]^T
void matmul_forward(const float* x, const float* w, float* y, int64_t M, int64_t K, int64_t N, ThreadPool& pool,
                    bool accumulate = false);

// dx[M, K] (=, or += when accumulate_dx) dy[M, N] . W[N, K]   (skipped when dx is null)
// dW[N, K] += dy[M, N]^T . x[M, K]                              (skipped when dw is null)
void matmul_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, int64_t M, int64_t K,
                     int64_t N, ThreadPool& pool, bool accumulate_dx = false);

}  // namespace flame
