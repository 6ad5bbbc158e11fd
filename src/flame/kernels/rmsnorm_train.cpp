#include "flame/kernels/rmsnorm_train.h"

#include <cmath>
#include <vector>

#include "flame/kernels/train_math.h"

namespace flame {

void rmsnorm_forward(const float* x, const float* w, float* y, float* rstd, int64_t N, int64_t C, float eps,
                     ThreadPool& pool) {
  pool.parallel_for(N, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      const float* xr = x + n * C;
      const float r = 1.0f / std::sqrt(sum_of_squares(xr, C) / float(C) + eps);
      rstd[n] = r;
      scaled_product(xr, w, r, y + n * C, C);
    }
  });
}

void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd, float* dx, float* dw,
                      int64_t N, int64_t C, ThreadPool& pool) {
  std::vector<float> partial(size_t(pool.size()) * C, 0.0f);
  pool.run([&](int t, int nt) {
    const auto [b, e] = ThreadPool::split(N, t, nt);
    float* dwp = partial.data() + size_t(t) * C;
    for (int64_t n = b; n < e; ++n) rmsnorm_grad_row(dy + n * C, x + n * C, w, rstd[n], dx + n * C, dwp, C);
  });
  for (int t = 0; t < pool.size(); ++t)
    for (int64_t c = 0; c < C; ++c) dw[c] += partial[size_t(t) * C + c];
}

}  // namespace flame
