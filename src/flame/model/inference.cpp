#include "flame/model/inference.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/activation.h"
#include "flame/kernels/attention.h"
#include "flame/kernels/embedding.h"
#include "flame/kernels/matmul.h"
#include "flame/kernels/norm.h"

namespace flame {

namespace {
DType checked_kv_type(DType type) {
  if (type != DType::F32 && type != DType::F16)
    throw ArgumentError("KV cache", fmt::format("type {} is not supported (use f32 or f16)", dtype_name(type)));
  return type;
}
}  // namespace

KvCache::KvCache(const LlamaConfig& c, int64_t capacity, DType type)
    : capacity_(capacity),
      n_layers_(c.n_layers),
      n_kv_heads_(c.n_kv_heads),
      head_dim_(c.head_dim),
      type_(checked_kv_type(type)),
      layer_bytes_(static_cast<size_t>(capacity * c.n_kv_heads * c.head_dim) * element_bytes()),
      // new[] leaves large blocks as untouched anonymous pages (no memset).
      storage_(new unsigned char[2 * static_cast<size_t>(c.n_layers) * layer_bytes_]) {}

void KvCache::store(int64_t layer, const float* keys, const float* values, int64_t pos, int64_t n) {
  const int64_t kv_dim = n_kv_heads_ * head_dim_;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t g = 0; g < n_kv_heads_; ++g) {
      const int64_t src = t * kv_dim + g * head_dim_, dst = g * head_stride() + (pos + t) * head_dim_;
      if (type_ == DType::F16) {
        f32_to_f16_rows(keys + src, static_cast<uint16_t*>(this->keys(layer)) + dst, head_dim_);
        f32_to_f16_rows(values + src, static_cast<uint16_t*>(this->values(layer)) + dst, head_dim_);
      } else {
        std::memcpy(static_cast<float*>(this->keys(layer)) + dst, keys + src, head_dim_ * sizeof(float));
        std::memcpy(static_cast<float*>(this->values(layer)) + dst, values + src, head_dim_ * sizeof(float));
      }
    }
}

namespace {

int64_t session_context(const LlamaConfig& c, int64_t requested) {
  if (requested <= 0) return std::min(c.context_length, InferenceSession::kDefaultMaxContext);
  if (requested > c.context_length)
    throw ArgumentError("InferenceSession",
                        fmt::format("context {} exceeds the model's context length {}", requested, c.context_length));
  return requested;
}

// Row-wise elementwise steps (norms, rope, swiglu): split over the pool for prompts, inline for a
// few rows where waking the pool would cost more than the work.
template <class Fn>
void for_rows(int64_t rows, Fn&& fn) {
  if (rows < 8)
    fn(int64_t{0}, rows);
  else
    ThreadPool::global().parallel_for(rows, [&](int64_t b, int64_t e) { fn(b, e); });
}

void add_into(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace

InferenceSession::InferenceSession(LlamaWeights weights, int64_t context, DType kv_type)
    : weights_(std::move(weights)),
      rope_(RopeTable::make(weights_.config.rope_dim, weights_.config.rope_theta, weights_.rope_freq_factors(),
                            weights_.config.rope_position_scale)),
      cache_(weights_.config, session_context(weights_.config, context), kv_type) {}

void InferenceSession::fill_cache_for_benchmark(int64_t n, uint32_t seed) {
  if (n < 0 || n > context())
    throw ArgumentError("fill_cache_for_benchmark", fmt::format("{} positions exceed the context of {}", n, context()));
  const LlamaConfig& c = weights_.config;
  const int64_t count = n * c.head_dim;  // positions [0, n) of one KV head
  std::vector<float> row(static_cast<size_t>(count));
  uint32_t state = seed * 2654435761u + 1;
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (void* base : {cache_.keys(l), cache_.values(l)})
      for (int64_t g = 0; g < c.n_kv_heads; ++g) {
        for (float& x : row) {  // xorshift: values in [-1, 1)
          state ^= state << 13;
          state ^= state >> 17;
          state ^= state << 5;
          x = static_cast<float>(state >> 8) * (2.0f / 16777216.0f) - 1.0f;
        }
        char* dst = static_cast<char*>(base) + g * cache_.head_stride() * cache_.element_bytes();
        if (cache_.type() == DType::F16)
          f32_to_f16_rows(row.data(), reinterpret_cast<uint16_t*>(dst), count);
        else
          std::memcpy(dst, row.data(), row.size() * sizeof(float));
      }
  position_ = n;
}

void InferenceSession::ensure_workspace(int64_t n) {
  if (n <= workspace_rows_) return;
  const LlamaConfig& c = weights_.config;
  const auto rows = static_cast<size_t>(n);
  x_.resize(rows * c.dim);
  h_.resize(rows * c.dim);
  proj_.resize(rows * c.dim);
  q_.resize(rows * c.n_heads * c.head_dim);
  k_new_.resize(rows * c.n_kv_heads * c.head_dim);
  v_new_.resize(rows * c.n_kv_heads * c.head_dim);
  att_.resize(rows * c.n_heads * c.head_dim);
  gate_.resize(rows * c.ffn_dim);
  up_.resize(rows * c.ffn_dim);
  workspace_rows_ = n;
}

const Tensor& InferenceSession::forward(const int32_t* tokens, int64_t n, int64_t pos, bool all_logits) {
  const LlamaConfig& c = weights_.config;
  if (n <= 0) throw ArgumentError("forward", fmt::format("need at least one token, got {}", n));
  if (pos < 0 || pos > position_)
    throw ArgumentError("forward", fmt::format("position {} is past the {} cached positions", pos, position_));
  if (pos + n > context())
    throw ArgumentError("forward",
                        fmt::format("{} tokens at position {} exceed the context of {} tokens", n, pos, context()));
  for (int64_t t = 0; t < n; ++t)
    if (tokens[t] < 0 || tokens[t] >= c.vocab_size)
      throw ArgumentError("forward", fmt::format("token id {} at index {} is outside the vocabulary [0, {})", tokens[t],
                                                 t, c.vocab_size));

  logits_ = Tensor::empty(DType::F32, {all_logits ? n : 1, c.vocab_size});
  for (int64_t done = 0; done < n; done += kMaxBatch) {
    const int64_t chunk = std::min(kMaxBatch, n - done);
    const int64_t chunk_pos = pos + done;
    ensure_workspace(chunk);
    embedding_lookup(weights_.token_embd, tokens + done, chunk, x_.data());
    for (int64_t l = 0; l < c.n_layers; ++l) {
      attention_block(l, chunk, chunk_pos);
      ffn_block(l, chunk);
    }
    position_ = chunk_pos + chunk;
    if (all_logits)
      output_logits(0, chunk, logits_.row<float>(done));
    else if (done + chunk == n)
      output_logits(chunk - 1, 1, logits_.row<float>(0));
  }
  return logits_;
}

void InferenceSession::attention_block(int64_t layer, int64_t n, int64_t pos) {
  const LlamaConfig& c = weights_.config;
  const LayerWeights& w = weights_.layers[layer];
  const int64_t q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  // This chunk's keys and values as float rows, stored into the head-major cache after RoPE.
  float* keys = k_new_.data();
  float* values = v_new_.data();

  for_rows(n, [&](int64_t b, int64_t e) {
    rmsnorm(x_.data() + b * c.dim, w.attn_norm.data<float>(), h_.data() + b * c.dim, e - b, c.dim, c.norm_eps);
  });
  matmul_shared_input({{w.wq, q_.data()}, {w.wk, keys}, {w.wv, values}}, h_.data(), n);
  for_rows(n, [&](int64_t b, int64_t e) {
    rope_apply(q_.data() + b * q_dim, e - b, c.n_heads, c.head_dim, rope_, pos + b);
    rope_apply(keys + b * kv_dim, e - b, c.n_kv_heads, c.head_dim, rope_, pos + b);
  });
  cache_.store(layer, keys, values, pos, n);
  attention_causal(q_.data(),
                   KvRows{cache_.keys(layer), cache_.values(layer), cache_.type(), c.head_dim, cache_.head_stride()},
                   att_.data(), n, pos, AttentionShape{c.n_heads, c.n_kv_heads, c.head_dim});
  matmul(w.wo, att_.data(), proj_.data(), n);
  add_into(x_.data(), proj_.data(), n * c.dim);
}

void InferenceSession::ffn_block(int64_t layer, int64_t n) {
  const LlamaConfig& c = weights_.config;
  const LayerWeights& w = weights_.layers[layer];
  for_rows(n, [&](int64_t b, int64_t e) {
    rmsnorm(x_.data() + b * c.dim, w.ffn_norm.data<float>(), h_.data() + b * c.dim, e - b, c.dim, c.norm_eps);
  });
  matmul_shared_input({{w.w_gate, gate_.data()}, {w.w_up, up_.data()}}, h_.data(), n);
  for_rows(n, [&](int64_t b, int64_t e) {
    swiglu(gate_.data() + b * c.ffn_dim, up_.data() + b * c.ffn_dim, gate_.data() + b * c.ffn_dim, (e - b) * c.ffn_dim);
  });
  matmul(w.w_down, gate_.data(), proj_.data(), n);
  add_into(x_.data(), proj_.data(), n * c.dim);
}

void InferenceSession::output_logits(int64_t first_row, int64_t rows, float* out) {
  const LlamaConfig& c = weights_.config;
  rmsnorm(x_.data() + first_row * c.dim, weights_.output_norm.data<float>(), h_.data(), rows, c.dim, c.norm_eps);
  matmul(weights_.output_matrix(), h_.data(), out, rows);
}

}  // namespace flame
