#include "flame/kernels/matmul_train.h"

#include <cblas.h>

namespace flame {
namespace {
// Rows per chunk are multiples of this so each sgemm keeps whole register tiles.
constexpr int64_t kRowGrain = 16;
}  // namespace

void matmul_forward(const float* x, const float* w, float* y, int64_t M, int64_t K, int64_t N, ThreadPool& pool,
                    bool accumulate) {
  use_single_threaded_blas();
  const float beta = accumulate ? 1.0f : 0.0f;
  pool.parallel_for(
      M,
      [&](int64_t b, int64_t e) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(e - b), int(N), int(K), 1.0f, x + b * K, int(K), w,
                    int(K), beta, y + b * N, int(N));
      },
      kRowGrain);
}

void matmul_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, int64_t M, int64_t K,
                     int64_t N, ThreadPool& pool, bool accumulate_dx) {
  use_single_threaded_blas();
  const float beta = accumulate_dx ? 1.0f : 0.0f;
  pool.run([&](int t, int nt) {
    if (dx != nullptr) {
      // dx rows [b, e): dy[b:e, :] . W
      const auto [b, e] = ThreadPool::split(M, t, nt, kRowGrain);
      if (b < e)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(e - b), int(K), int(N), 1.0f, dy + b * N, int(N), w,
                    int(K), beta, dx + b * K, int(K));
    }
    if (dw != nullptr) {
      // dW rows [b, e): dy[:, b:e]^T . x; each thread owns whole rows of dW, summing over all M.
      const auto [b, e] = ThreadPool::split(N, t, nt, kRowGrain);
      if (b < e)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(e - b), int(K), int(M), 1.0f, dy + b, int(N), x,
                    int(K), 1.0f, dw + b * K, int(K));
    }
  });
}

}  // namespace flame
