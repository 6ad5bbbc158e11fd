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

KvCache::KvCache(const LlamaConfig& c, int64_t capacity) : capacity_(capacity) {
  const int64_t kv_dim = c.n_kv_heads * c.head_dim;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    keys_.push_back(Tensor::empty(DType::F32, {capacity, kv_dim}));
    values_.push_back(Tensor::empty(DType::F32, {capacity, kv_dim}));
  }
}

size_t KvCache::nbytes() const {
  size_t total = 0;
  for (const auto& t : keys_) total += 2 * t.nbytes();
  return total;
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

InferenceSession::InferenceSession(LlamaWeights weights, int64_t context)
    : weights_(std::move(weights)),
      rope_(RopeTable::make(weights_.config.rope_dim, weights_.config.rope_theta, weights_.rope_freq_factors(),
                            weights_.config.rope_position_scale)),
      cache_(weights_.config, session_context(weights_.config, context)) {}

void InferenceSession::ensure_workspace(int64_t n) {
  if (n <= workspace_rows_) return;
  const LlamaConfig& c = weights_.config;
  const auto rows = static_cast<size_t>(n);
  x_.resize(rows * c.dim);
  h_.resize(rows * c.dim);
  proj_.resize(rows * c.dim);
  q_.resize(rows * c.n_heads * c.head_dim);
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
  float* keys = cache_.keys(layer) + pos * kv_dim;  // this chunk's rows of the cache
  float* values = cache_.values(layer) + pos * kv_dim;

  for_rows(n, [&](int64_t b, int64_t e) {
    rmsnorm(x_.data() + b * c.dim, w.attn_norm.data<float>(), h_.data() + b * c.dim, e - b, c.dim, c.norm_eps);
  });
  matmul_shared_input({{w.wq, q_.data()}, {w.wk, keys}, {w.wv, values}}, h_.data(), n);
  for_rows(n, [&](int64_t b, int64_t e) {
    rope_apply(q_.data() + b * q_dim, e - b, c.n_heads, c.head_dim, rope_, pos + b);
    rope_apply(keys + b * kv_dim, e - b, c.n_kv_heads, c.head_dim, rope_, pos + b);
  });
  attention_causal(q_.data(), cache_.keys(layer), cache_.values(layer), att_.data(), n, pos,
                   AttentionShape{c.n_heads, c.n_kv_heads, c.head_dim});
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
