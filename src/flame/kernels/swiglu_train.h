#pragma once
// SwiGLU gate for training, forward/backward:  h = silu(gate) * up,  silu(g) = g * sigmoid(g).
//
//   swiglu_forward(gate, up, h, n, pool);
//   swiglu_backward(dh, gate, up, dgate, dup, n, pool);
//
// Shapes: gate, up, h and their gradients [B*T, F] (flat, n = B*T*F elements).
// Saved for backward: gate and up (h is also kept by the caller for the down projection's dW).
#include <cstdint>

#include "flame/core/thread_pool.h"

namespace flame {

void swiglu_forward(const float* gate, const float* up, float* h, int64_t n, ThreadPool& pool);

// dup = dh * silu(gate);  dgate = dh * up * sigmoid(g) * (1 + g * (1 - sigmoid(g))). Overwrites.
void swiglu_backward(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n,
                     ThreadPool& pool);

}  // namespace flame
