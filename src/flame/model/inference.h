#pragma once
// Inference forward of a Llama model with a KV cache, reading weights of any stored type.
//
//   auto reader = gguf::Reader::open(path);
//   InferenceSession session(LlamaWeights::from_gguf(reader));      // context: min(model, 4096)
//   const Tensor& logits = session.forward(prompt.data(), prompt.size(), 0);   // {1, vocab}
//   int32_t next = argmax(logits);
//   session.forward(&next, 1, session.position());                  // one decode step
//
// A prompt runs as one matrix-matrix pass per layer (in chunks of at most kMaxBatch tokens); a
// decode step is one token against the cache. Each layer is the paper's sequence of named steps:
//   x += attention(rmsnorm(x))      q,k,v projections, RoPE, causal GQA over the cache, output proj
//   x += ffn(rmsnorm(x))            SwiGLU: down(silu(gate(h)) * up(h))
//   logits = output(rmsnorm(x))
#include <cstdint>
#include <vector>

#include "flame/core/tensor.h"
#include "flame/kernels/rope.h"
#include "flame/model/weights.h"

namespace flame {

// Keys and values of every layer, float, [capacity][n_kv_heads * head_dim] per layer.
class KvCache {
 public:
  KvCache(const LlamaConfig& config, int64_t capacity);
  int64_t capacity() const { return capacity_; }
  float* keys(int64_t layer) { return keys_[layer].data<float>(); }
  float* values(int64_t layer) { return values_[layer].data<float>(); }
  size_t nbytes() const;

 private:
  int64_t capacity_;
  std::vector<Tensor> keys_, values_;
};

class InferenceSession {
 public:
  static constexpr int64_t kDefaultMaxContext = 4096;
  static constexpr int64_t kMaxBatch = 512;

  // context <= 0: min(config.context_length, kDefaultMaxContext). Larger than the model's context
  // is an ArgumentError.
  explicit InferenceSession(LlamaWeights weights, int64_t context = 0);

  // Runs tokens at positions [pos, pos + n) (pos <= position(): rewinding overwrites the cache) and
  // returns the logits of the last token ({1, vocab}) or of every token ({n, vocab}).
  // Throws ArgumentError when pos + n exceeds the context or a token id is out of range.
  const Tensor& forward(const int32_t* tokens, int64_t n, int64_t pos, bool all_logits = false);

  int64_t position() const { return position_; }  // cached positions
  int64_t context() const { return cache_.capacity(); }
  void reset() { position_ = 0; }
  const LlamaWeights& weights() const { return weights_; }
  const LlamaConfig& config() const { return weights_.config; }

 private:
  void ensure_workspace(int64_t n);
  void attention_block(int64_t layer, int64_t n, int64_t pos);
  void ffn_block(int64_t layer, int64_t n);
  void output_logits(int64_t first_row, int64_t rows, float* out);

  LlamaWeights weights_;
  RopeTable rope_;
  KvCache cache_;
  int64_t position_ = 0;
  int64_t workspace_rows_ = 0;
  // Activations for up to workspace_rows_ tokens.
  std::vector<float> x_, h_, q_, att_, proj_, gate_, up_;
  Tensor logits_;
};

}  // namespace flame
