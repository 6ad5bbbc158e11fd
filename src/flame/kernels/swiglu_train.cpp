#include "flame/kernels/swiglu_train.h"

#include "flame/kernels/train_math.h"

namespace flame {

void swiglu_forward(const float* gate, const float* up, float* h, int64_t n, ThreadPool& pool) {
  pool.parallel_for(
      n, [&](int64_t b, int64_t e) { swiglu_rows(gate + b, up + b, h + b, e - b); }, 64);
}

void swiglu_backward(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n,
                     ThreadPool& pool) {
  pool.parallel_for(
      n, [&](int64_t b, int64_t e) { swiglu_grad_rows(dh + b, gate + b, up + b, dgate + b, dup + b, e - b); }, 64);
}

}  // namespace flame
