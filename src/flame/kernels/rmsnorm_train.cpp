#include "flame/kernels/rmsnorm_train.h"

#include <cmath>
#include <vector>

namespace flame {

void rmsnorm_forward(const float* x, const float* w, float* y, float* rstd, int64_t N, int64_t C, float eps,
                     ThreadPool& pool) {
  pool.parallel_for(N, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      const float* xr = x + n * C;
      float* yr = y + n * C;
      float ss = 0.0f;
      for (int64_t c = 0; c < C; ++c) ss += xr[c] * xr[c];
      const float r = 1.0f / std::sqrt(ss / float(C) + eps);
      rstd[n] = r;
      for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * r * w[c];
    }
  });
}

void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd, float* dx, float* dw,
                      int64_t N, int64_t C, ThreadPool& pool) {
  std::vector<float> partial(size_t(pool.size()) * C, 0.0f);
  pool.run([&](int t, int nt) {
    const auto [b, e] = ThreadPool::split(N, t, nt);
    float* dwp = partial.data() + size_t(t) * C;
    for (int64_t n = b; n < e; ++n) {
      const float* xr = x + n * C;
      const float* dyr = dy + n * C;
      float* dxr = dx + n * C;
      const float r = rstd[n];
      float dot = 0.0f;  // sum(dy * w * x)
      for (int64_t c = 0; c < C; ++c) {
        dot += dyr[c] * w[c] * xr[c];
        dwp[c] += dyr[c] * xr[c] * r;
      }
      const float k = dot * r * r * r / float(C);
      for (int64_t c = 0; c < C; ++c) dxr[c] += dyr[c] * w[c] * r - xr[c] * k;
    }
  });
  for (int t = 0; t < pool.size(); ++t)
    for (int64_t c = 0; c < C; ++c) dw[c] += partial[size_t(t) * C + c];
}

}  // namespace flame
