#pragma once
// Softmax cross-entropy for training, and its fusion with the output projection.
//
//   cross_entropy_forward(logits, targets, losses, lse, N, V, pool);
//   cross_entropy_backward(logits, lse, targets, dlogits, scale, N, V, pool);
//
//   // Fused: logits exist one chunk of positions at a time (chunk_rows x V floats), never [N, V].
//   std::vector<float> chunk(classifier_chunk_rows(V, N) * V);
//   double loss_sum = classifier_forward_backward(x, w, targets, N, C, V, chunk.data(),
//                                                 classifier_chunk_rows(V, N), dx, dw, scale, pool);
//
// Shapes: logits, dlogits [N, V] (N = B*T); targets, losses, lse [N]; x, dx [N, C]; w, dw [V, C].
// Saved for backward (unfused): the logits and lse (log-sum-exp per position).
#include <cstdint>

#include "flame/core/thread_pool.h"
#include "flame/kernels/matmul_train.h"

namespace flame {

// losses[n] = lse[n] - logits[n, targets[n]],  lse[n] = log(sum_v exp(logits[n, v]))
void cross_entropy_forward(const float* logits, const uint32_t* targets, float* losses, float* lse, int64_t N,
                           int64_t V, ThreadPool& pool);

// Forward and backward in one pass over each row, in place: losses as cross_entropy_forward (bit
// for bit), then logits[n] becomes dlogits[n] = softmax * scale - [v == target] * scale. One exp per
// logit instead of two (the softmax is exp(x - max) / sum, not exp(x - lse): equal to rounding).
void cross_entropy_forward_backward_inplace(float* logits, const uint32_t* targets, float* losses, float scale,
                                            int64_t N, int64_t V, ThreadPool& pool);

// dlogits[n, v] = (softmax(logits[n])[v] - [v == targets[n]]) * scale. dlogits may alias logits.
void cross_entropy_backward(const float* logits, const float* lse, const uint32_t* targets, float* dlogits, float scale,
                            int64_t N, int64_t V, ThreadPool& pool);

// Rows per chunk for the fused classifier: about 16 MB of logits but at most 512 rows (single-thread
// sgemm on these shapes peaks around 512 rows: the chunk is the K of the dW product), at least 16
// rows, at most N.
int64_t classifier_chunk_rows(int64_t V, int64_t N);

// Sum over positions of the cross-entropy of softmax(x W^T) (no gradients).
double classifier_forward(const float* x, const float* w, const uint32_t* targets, int64_t N, int64_t C, int64_t V,
                          float* chunk, int64_t chunk_rows, ThreadPool& pool);

// Same sum, and per chunk: dlogits = (softmax - onehot) * scale, dx = dlogits W (overwrites),
// dw += dlogits^T x (chunks in order, so deterministic).
double classifier_forward_backward(const float* x, const float* w, const uint32_t* targets, int64_t N, int64_t C,
                                   int64_t V, float* chunk, int64_t chunk_rows, float* dx, float* dw, float scale,
                                   ThreadPool& pool);

// The same two with the output matrix pre-packed (w: V rows of C; PackedWeight::pack once per
// optimizer step). The forms above pack w inside the call.
double classifier_forward(const float* x, const PackedWeight& w, const uint32_t* targets, int64_t N, float* chunk,
                          int64_t chunk_rows, ThreadPool& pool);
double classifier_forward_backward(const float* x, const PackedWeight& w, const uint32_t* targets, int64_t N,
                                   float* chunk, int64_t chunk_rows, float* dx, float* dw, float scale,
                                   ThreadPool& pool);

}  // namespace flame
