#pragma once
// Causal grouped-query attention over a float KV cache (decode and prompt alike).
//
//   AttentionShape s{n_heads, n_kv_heads, head_dim};
//   // k_cache/v_cache rows [0, pos0 + n_tokens) already hold this layer's keys/values.
//   attention_causal(q, k_cache, v_cache, out, n_tokens, pos0, s);
//
// Layouts (row-major floats):
//   q, out:            [n_tokens][n_heads * head_dim]      token t sits at position pos0 + t
//   k_cache, v_cache:  [positions][n_kv_heads * head_dim]
// Query head h reads KV head h / (n_heads / n_kv_heads). Scores are scaled by 1/sqrt(head_dim) and
// token t attends to positions [0, pos0 + t]. Work is split over (token, KV head) pairs so the query
// heads sharing a KV head read each key and value row once; the scratch per task is one score row
// per query head of that group, so long contexts cost linear memory and stream the cache once.
#include <cstdint>

#include "flame/core/thread_pool.h"

namespace flame {

struct AttentionShape {
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
};

void attention_causal(const float* q, const float* k_cache, const float* v_cache, float* out, int64_t n_tokens,
                      int64_t pos0, const AttentionShape& shape, ThreadPool& pool = ThreadPool::global());

namespace detail {
// Vector helpers with scalar and AVX2 twins (attention_avx2.cpp).
float dot_scalar(const float* a, const float* b, int64_t n);
void axpy_scalar(float alpha, const float* x, float* y, int64_t n);  // y += alpha * x
float dot_avx2(const float* a, const float* b, int64_t n);
void axpy_avx2(float alpha, const float* x, float* y, int64_t n);
}  // namespace detail

}  // namespace flame
