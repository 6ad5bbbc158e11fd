#pragma once
// Token embedding lookup for training, forward/backward.
//
//   embedding_forward(table, tokens, x, N, C, pool);
//   embedding_backward(dx, tokens, dtable, N, C, pool);
//
// Shapes: table [V, C], tokens [N] (N = B*T, every id < V, checked by the caller), x [N, C].
// Saved for backward: the token ids only.
#include <cstdint>

#include "flame/core/thread_pool.h"

namespace flame {

// x[n, :] = table[tokens[n], :]
void embedding_forward(const float* table, const uint32_t* tokens, float* x, int64_t N, int64_t C, ThreadPool& pool);

// dtable[tokens[n], :] += dx[n, :], in position order. Threads split the C columns, so repeated ids
// never race and the sum order is fixed.
void embedding_backward(const float* dx, const uint32_t* tokens, float* dtable, int64_t N, int64_t C, ThreadPool& pool);

}  // namespace flame
