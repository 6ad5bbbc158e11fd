#pragma once
// Causal grouped-query attention over a KV cache stored as F32 or F16 (decode and prompt alike).
//
//   AttentionShape s{n_heads, n_kv_heads, head_dim};
//   // k_cache/v_cache rows [0, pos0 + n_tokens) already hold this layer's keys/values.
//   attention_causal(q, k_cache, v_cache, out, n_tokens, pos0, s);                  // float cache
//   attention_causal(q, KvRows{k16, v16, DType::F16}, out, n_tokens, pos0, s);     // fp16 cache
//
// Layouts (row-major):
//   q, out (float):    [n_tokens][n_heads * head_dim]      token t sits at position pos0 + t
//   keys, values:      [positions][n_kv_heads * head_dim]  F32 or F16 (IEEE binary16)
// Query head h reads KV head h / (n_heads / n_kv_heads). Scores are scaled by 1/sqrt(head_dim) and
// token t attends to positions [0, pos0 + t].
//
// Streaming ("flash") evaluation: a task takes a block of query tokens and one KV head (so the
// query heads sharing it read each key and value once per block) and walks the keys in chunks of
// kKeyChunk with an online softmax (running max and sum, rescaled accumulator). Scratch per task is
// a few tiles of kKeyChunk columns, never a score row of the whole context, so a 4k prompt does not
// materialise 4k x 4k scores. Tasks are taken from a shared counter, most expensive (latest tokens)
// first, so causal prompts keep every thread busy; when there are fewer (block, head) tasks than
// threads can share (decode with few KV heads) the keys are also split into segments whose partial
// softmax states are merged afterwards. Results do not depend on which thread runs a task.
#include <cstdint>

#include "flame/core/dtype.h"
#include "flame/core/thread_pool.h"

namespace flame {

struct AttentionShape {
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
};

// Keys and values of one layer, elements of `type` (F32 or F16). Key/value (position j, KV head g)
// starts at element j * position_stride + g * head_stride; 0 strides mean the row layout above
// (position_stride = n_kv_heads * head_dim, head_stride = head_dim). A head-major cache
// (position_stride = head_dim, head_stride = capacity * head_dim) lets a task stream each head's
// keys contiguously.
struct KvRows {
  const void* keys = nullptr;
  const void* values = nullptr;
  DType type = DType::F32;
  int64_t position_stride = 0;
  int64_t head_stride = 0;
};

void attention_causal(const float* q, const KvRows& kv, float* out, int64_t n_tokens, int64_t pos0,
                      const AttentionShape& shape, ThreadPool& pool = ThreadPool::global());

inline void attention_causal(const float* q, const float* k_cache, const float* v_cache, float* out, int64_t n_tokens,
                             int64_t pos0, const AttentionShape& shape, ThreadPool& pool = ThreadPool::global()) {
  attention_causal(q, KvRows{k_cache, v_cache, DType::F32}, out, n_tokens, pos0, shape, pool);
}

// float -> IEEE half, round to nearest even (for writing an F16 cache); F16C when available.
void f32_to_f16_rows(const float* src, uint16_t* dst, int64_t n);

namespace detail {
// Vector helpers with scalar and AVX2 twins (attention_avx2.cpp).
float dot_scalar(const float* a, const float* b, int64_t n);
void axpy_scalar(float alpha, const float* x, float* y, int64_t n);  // y += alpha * x
float dot_avx2(const float* a, const float* b, int64_t n);
void axpy_avx2(float alpha, const float* x, float* y, int64_t n);

// The tile kernels of the streaming attention, each with a scalar twin:
//   score_tile:    s[r * ld + j] = q[r * hd ..] . keys[j * k_stride ..]   (rows x n_keys)
//   exp_shift_sum: x[i] = exp(x[i] - shift) for i < n, returns the sum
//   pv_tile:       o[r * hd + d] += sum_j p[r * ld + j] * values[j * v_stride + d]
//   f16_rows_to_f32: dst[r * cols + c] = src[r * src_stride + c]
struct AttentionKernels {
  void (*score_tile)(const float* q, int64_t rows, const float* keys, int64_t n_keys, int64_t k_stride, int64_t hd,
                     float* s, int64_t ld);
  float (*exp_shift_sum)(float* x, int64_t n, float shift);
  void (*pv_tile)(const float* p, int64_t rows, int64_t ld, const float* values, int64_t n_keys, int64_t v_stride,
                  int64_t hd, float* o);
  void (*f16_rows_to_f32)(const uint16_t* src, int64_t rows, int64_t src_stride, int64_t cols, float* dst);
  void (*f32_to_f16)(const float* src, uint16_t* dst, int64_t n);
};
const AttentionKernels& attention_kernels_scalar();
const AttentionKernels& attention_kernels_avx2();
}  // namespace detail

}  // namespace flame
