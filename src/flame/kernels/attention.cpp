#include "flame/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "flame/core/cpu.h"
#include "flame/core/error.h"

namespace flame {
namespace detail {

float dot_scalar(const float* a, const float* b, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy_scalar(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

}  // namespace detail

void attention_causal(const float* q, const float* k_cache, const float* v_cache, float* out, int64_t n_tokens,
                      int64_t pos0, const AttentionShape& s, ThreadPool& pool) {
  if (s.n_heads <= 0 || s.n_kv_heads <= 0 || s.head_dim <= 0 || s.n_heads % s.n_kv_heads != 0)
    throw ArgumentError(
        "attention", fmt::format("bad shape: {} heads, {} kv heads, head_dim {}", s.n_heads, s.n_kv_heads, s.head_dim));
  const bool fast = cpu().has_avx2_fma() && !force_scalar();
  const auto dot = fast ? detail::dot_avx2 : detail::dot_scalar;
  const auto axpy = fast ? detail::axpy_avx2 : detail::axpy_scalar;
  const int64_t hd = s.head_dim, group = s.n_heads / s.n_kv_heads;
  const int64_t q_stride = s.n_heads * hd, kv_stride = s.n_kv_heads * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));

  auto tasks = [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> scores;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t t = task / s.n_kv_heads, g = task % s.n_kv_heads;
      const int64_t n_keys = pos0 + t + 1;
      scores.resize(static_cast<size_t>(group * n_keys));
      const float* q_group = q + t * q_stride + g * group * hd;
      float* out_group = out + t * q_stride + g * group * hd;
      // Scores: each key row is read once and dotted with every query head of the group.
      for (int64_t j = 0; j < n_keys; ++j) {
        const float* key = k_cache + j * kv_stride + g * hd;
        for (int64_t h = 0; h < group; ++h) scores[h * n_keys + j] = dot(q_group + h * hd, key, hd) * scale;
      }
      for (int64_t h = 0; h < group; ++h) {
        float* row = scores.data() + h * n_keys;
        const float max = *std::max_element(row, row + n_keys);
        float sum = 0.0f;
        for (int64_t j = 0; j < n_keys; ++j) {
          row[j] = std::exp(row[j] - max);
          sum += row[j];
        }
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j < n_keys; ++j) row[j] *= inv;
        std::fill(out_group + h * hd, out_group + (h + 1) * hd, 0.0f);
      }
      for (int64_t j = 0; j < n_keys; ++j) {
        const float* value = v_cache + j * kv_stride + g * hd;
        for (int64_t h = 0; h < group; ++h) axpy(scores[h * n_keys + j], value, out_group + h * hd, hd);
      }
    }
  };
  // Work ~ tokens * heads * keys * head_dim; small problems stay on the calling thread.
  const int64_t work = n_tokens * s.n_heads * (pos0 + n_tokens) * hd;
  if (work < (int64_t{1} << 15))
    tasks(0, n_tokens * s.n_kv_heads);
  else
    pool.parallel_for(n_tokens * s.n_kv_heads, tasks);
}

}  // namespace flame
