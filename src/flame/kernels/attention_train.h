#pragma once
// Causal grouped-query attention for training, forward/backward (exact, no approximation).
//
//   attention_forward(q, k, v, out, probs, B, T, H, KVH, hd, pool);
//   attention_backward(dout, q, k, v, out, probs, dq, dk, dv, B, T, H, KVH, hd, pool);
//
// Shapes: q, out, dq [B, T, H, hd]; k, v, dk, dv [B, T, KVH, hd] (query head h reads kv head
// h / (H / KVH)); probs [B, H, T, T]. q and k already carry RoPE.
// Saved for backward: q, k, v and the softmax probabilities `probs` (row t holds P[t, 0..t], then
// zeros up to the end of t's 64-row block; the rest is never written or read).
// With AVX2/FMA and head_dim a multiple of 16 (configs A/B/C: 32, 64) the products are flame's own
// 6 x 16 register tiles (attention_train_avx2.cpp) with the softmax fused on the row tile; otherwise
// (or under set_force_scalar) OpenBLAS sgemm over 64-row causal blocks. Both paths are exact and
// deterministic for a thread count; they agree to fp32 rounding.
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
// Same, also given the forward's output `out` [B, T, H, hd]: the softmax backward's row sums
// sum_j P dP = dout . out are then known up front and fuse into the dP tiles (faster on the AVX2 path).
void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* out,
                        const float* probs, float* dq, float* dk, float* dv, int64_t B, int64_t T, int64_t H,
                        int64_t KVH, int64_t hd, ThreadPool& pool);

// The two implementations behind the dispatch (tests compare them).
namespace sgemm_blocks {
void attention_forward(const float* q, const float* k, const float* v, float* out, float* probs, int64_t B, int64_t T,
                       int64_t H, int64_t KVH, int64_t hd, ThreadPool& pool);
void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* probs,
                        float* dq, float* dk, float* dv, int64_t B, int64_t T, int64_t H, int64_t KVH, int64_t hd,
                        ThreadPool& pool);
}  // namespace sgemm_blocks

namespace avx2 {
// Whether the AVX2 path handles this head_dim (a multiple of 16); the CPU check is the caller's.
bool attention_supported(int64_t hd);
// Work is split over (batch, kv head); results are the same for every thread count. `out` (the
// forward output) may be null: the backward then sums P dP itself, one extra pass per row.
void attention_forward(const float* q, const float* k, const float* v, float* out, float* probs, int64_t B, int64_t T,
                       int64_t H, int64_t KVH, int64_t hd, ThreadPool& pool);
void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* out,
                        const float* probs, float* dq, float* dk, float* dv, int64_t B, int64_t T, int64_t H,
                        int64_t KVH, int64_t hd, ThreadPool& pool);
}  // namespace avx2

}  // namespace flame
