#include "flame/kernels/swiglu_train.h"

#include <cmath>

namespace flame {

void swiglu_forward(const float* gate, const float* up, float* h, int64_t n, ThreadPool& pool) {
  pool.parallel_for(
      n,
      [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const float g = gate[i];
          h[i] = g / (1.0f + std::exp(-g)) * up[i];
        }
      },
      64);
}

void swiglu_backward(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n,
                     ThreadPool& pool) {
  pool.parallel_for(
      n,
      [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const float g = gate[i];
          const float s = 1.0f / (1.0f + std::exp(-g));
          const float d = dh[i];
          dup[i] = d * g * s;
          dgate[i] = d * up[i] * s * (1.0f + g * (1.0f - s));
        }
      },
      64);
}

}  // namespace flame
