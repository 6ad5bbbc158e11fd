#pragma once
// Causal grouped-query attention for training, forward/backward (exact, no approximation).
//
//   attention_forward(q, k, v, out, probs, B, T, H, KVH, hd, pool);
//   attention_backward(dout, q, k, v, probs, dq, dk, dv, B, T, H, KVH, hd, pool);
//
// Shapes: q, out, dq [B, T, H, hd]; k, v, dk, dv [B, T, KVH, hd] (query head h reads kv head
// h / (H / KVH)); probs [B, H, T, T]. q and k already carry RoPE.
// Saved for backward: q, k, v and the softmax probabilities `probs` (row t holds P[t, 0..t]; the
// entries past the diagonal that the blocked products touch are zero, the rest are never read).
// The products run as OpenBLAS sgemm over blocks of query rows, skipping the masked upper blocks.
#include <cstdint>

#include "flame/core/thread_pool.h"

namespace flame {

void attention_forward(const float* q, const float* k, const float* v, float* out, float* probs, int64_t B, int64_t T,
                       int64_t H, int64_t KVH, int64_t hd, ThreadPool& pool);

// Overwrites dq, dk and dv. Work is split over (batch, kv head); the query heads of a group are
// processed in order, so dk/dv sums are deterministic.
void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* probs,
                        float* dq, float* dk, float* dv, int64_t B, int64_t T, int64_t H, int64_t KVH, int64_t hd,
                        ThreadPool& pool);

}  // namespace flame
