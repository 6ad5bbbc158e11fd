#pragma once
// fp32 matrix products for training, as a forward/backward pair over plain row-major buffers, on
// flame's own GEMM (kernels/sgemm.h). The weight is packed once per optimizer step into a
// PackedWeight (both layouts: W^T for the forward, W for dx) and shared read-only by every thread
// and by forward and backward; an activation x is packed once for all the dW products that share
// it. Work is split statically over the shared ThreadPool and every output element has a fixed
// summation order, so results are bitwise reproducible (and independent of the thread count).
//
//   PackedWeight pw;
//   pw.pack(w, N, K, pool);                                     // after every weight update
//   pack_weights({{w1, N1, K1, &pw1}, {w2, N2, K2, &pw2}}, pool);  // many at once
//   matmul_forward(x, pw, y, M, pool);                          // y = x . W^T
//   sgemm::PackedB xp;
//   pack_activation(x, M, K, xp, pool);                         // once per x
//   matmul_backward(dy, &xp, pw, dx, dw, M, pool);               // dx = dy . W, dW += dy^T . x
//
//   matmul_forward(x, w, y, M, K, N, pool);                     // unpacked forms: pack inside
//   matmul_backward(dy, x, w, dx, dw, M, K, N, pool);
//
// Shapes: x [M, K] (M = B*T positions, K = in features), W [N, K] (out, in), y [M, N].
// Saved for backward: the input x (the caller keeps it) and W.
#include <cstdint>
#include <vector>

#include "flame/core/thread_pool.h"
#include "flame/kernels/matmul.h"  // use_single_threaded_blas
#include "flame/kernels/sgemm.h"

namespace flame {

// W [N, K] in the two packed layouts of the training products.
struct PackedWeight {
  sgemm::PackedB transposed;  // B = W^T (depth K, width N): y = x . W^T
  sgemm::PackedB plain;       // B = W   (depth N, width K): dx = dy . W
  int64_t rows = 0;           // N (out features)
  int64_t cols = 0;           // K (in features)
  // Packs both layouts, panels split over the pool.
  void pack(const float* w, int64_t N, int64_t K, ThreadPool& pool);
};

// Packs several weights in one pool call; the work (chunks of panels) is claimed, so a worker that
// the OS has descheduled never stalls the caller (a training step packs every matrix once).
struct WeightToPack {
  const float* w;
  int64_t rows, cols;  // W [rows, cols]
  PackedWeight* dst;
};
void pack_weights(const std::vector<WeightToPack>& weights, ThreadPool& pool);

// Packs x [M, K] as the B operand of dW += dy^T . x (depth M, width K), panels split over the pool.
void pack_activation(const float* x, int64_t M, int64_t K, sgemm::PackedB& out, ThreadPool& pool);

// y[M, N] (=, or += when accumulate) x[M, K] . W[N, K]^T
void matmul_forward(const float* x, const PackedWeight& w, float* y, int64_t M, ThreadPool& pool,
                    bool accumulate = false);

// dx[M, K] (=, or += when accumulate_dx) dy[M, N] . W[N, K]   (skipped when dx is null)
// dW[N, K] += dy[M, N]^T . x[M, K]                              (skipped when dw is null)
// x_packed: pack_activation(x) (depth M, width K); may be null when dw is null.
void matmul_backward(const float* dy, const sgemm::PackedB* x_packed, const PackedWeight& w, float* dx, float* dw,
                     int64_t M, ThreadPool& pool, bool accumulate_dx = false);

// Unpacked forms (pack W, and x for dW, inside the call).
void matmul_forward(const float* x, const float* w, float* y, int64_t M, int64_t K, int64_t N, ThreadPool& pool,
                    bool accumulate = false);
void matmul_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, int64_t M, int64_t K,
                     int64_t N, ThreadPool& pool, bool accumulate_dx = false);

}  // namespace flame
