#pragma once
// RMSNorm for training, forward/backward:  y = x * rstd * w,  rstd = 1 / sqrt(mean(x^2) + eps).
//
//   rmsnorm_forward(x, w, y, rstd, N, C, eps, pool);
//   rmsnorm_backward(dy, x, w, rstd, dx, dw, N, C, pool);   // dx += ..., dw += ...
//
// Shapes: x, y, dy, dx [N, C] (N = B*T), w, dw [C], rstd [N].
// Saved for backward: the input x and rstd (one float per position).
#include <cstdint>

#include "flame/core/thread_pool.h"

namespace flame {

void rmsnorm_forward(const float* x, const float* w, float* y, float* rstd, int64_t N, int64_t C, float eps,
                     ThreadPool& pool);

// dx[n] += rstd*(dy*w) - x * rstd^3 / C * sum(dy*w*x);  dw += sum_n dy*x*rstd.
// dw is reduced from per-thread partial sums in thread order (deterministic for a thread count).
void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd, float* dx, float* dw,
                      int64_t N, int64_t C, ThreadPool& pool);

}  // namespace flame
