#pragma once
// Inference forward of a Llama model with a KV cache, reading weights of any stored type.
//
//   auto reader = gguf::Reader::open(path);
//   InferenceSession session(LlamaWeights::from_gguf(reader));      // context: min(model, 4096)
//   const Tensor& logits = session.forward(prompt.data(), prompt.size(), 0);   // {1, vocab}
//   int32_t next = argmax(logits);
//   session.forward(&next, 1, session.position());                  // one decode step
//   InferenceSession half_cache(std::move(w), 8192, DType::F16);      // fp16 KV cache: half the bytes
//
// A prompt runs as one matrix-matrix pass per layer (in chunks of at most kMaxBatch tokens); a
// decode step is one token against the cache. Each layer is the paper's sequence of named steps:
//   x += attention(rmsnorm(x))      q,k,v projections, RoPE, causal GQA over the cache, output proj
//   x += ffn(rmsnorm(x))            SwiGLU: down(silu(gate(h)) * up(h))
//   logits = output(rmsnorm(x))
#include <cstdint>
#include <memory>
#include <vector>

#include "flame/core/tensor.h"
#include "flame/kernels/rope.h"
#include "flame/model/weights.h"

namespace flame {

// Keys and values of every layer, head-major: [n_kv_heads][capacity][head_dim] elements per layer
// (so attention streams each head's keys contiguously), stored as
// F32 (default) or F16 (IEEE half: half the bytes and half the attention reads; keys and values
// are rounded to fp16 once when written). The storage is left uninitialised (positions are written
// before they are read), so pages become resident only as positions are used: a 4096-token cache
// costs memory only for the tokens actually run.
class KvCache {
 public:
  // type F32 or F16; anything else is an ArgumentError.
  KvCache(const LlamaConfig& config, int64_t capacity, DType type = DType::F32);
  int64_t capacity() const { return capacity_; }
  DType type() const { return type_; }
  size_t element_bytes() const { return type_ == DType::F16 ? 2 : 4; }
  void* keys(int64_t layer) { return storage_.get() + (2 * layer) * layer_bytes_; }
  void* values(int64_t layer) { return storage_.get() + (2 * layer + 1) * layer_bytes_; }
  int64_t head_stride() const { return capacity_ * head_dim_; }  // elements between KV heads
  // Writes float rows [n][n_kv_heads * head_dim] (token-major, as the projections produce them)
  // at positions [pos, pos + n), rounding to fp16 for an F16 cache.
  void store(int64_t layer, const float* keys, const float* values, int64_t pos, int64_t n);
  size_t nbytes() const { return 2 * static_cast<size_t>(n_layers_) * layer_bytes_; }

 private:
  int64_t capacity_, n_layers_, n_kv_heads_, head_dim_;
  DType type_;
  size_t layer_bytes_;
  std::unique_ptr<unsigned char[]> storage_;
};

class InferenceSession {
 public:
  static constexpr int64_t kDefaultMaxContext = 4096;
  static constexpr int64_t kMaxBatch = 512;

  // context <= 0: min(config.context_length, kDefaultMaxContext). Larger than the model's context
  // is an ArgumentError. kv_type: F32 or F16 (see KvCache).
  explicit InferenceSession(LlamaWeights weights, int64_t context = 0, DType kv_type = DType::F32);

  // Runs tokens at positions [pos, pos + n) (pos <= position(): rewinding overwrites the cache) and
  // returns the logits of the last token ({1, vocab}) or of every token ({n, vocab}).
  // Throws ArgumentError when pos + n exceeds the context or a token id is out of range.
  const Tensor& forward(const int32_t* tokens, int64_t n, int64_t pos, bool all_logits = false);

  int64_t position() const { return position_; }  // cached positions
  int64_t context() const { return cache_.capacity(); }
  void reset() { position_ = 0; }
  DType kv_type() const { return cache_.type(); }
  size_t kv_cache_bytes() const { return cache_.nbytes(); }

  // Benchmarks only: marks positions [0, n) cached with pseudo-random keys and values (deterministic
  // in seed) instead of running the model over them, so decode at depth n can be timed without
  // a long prefill. Attention's cost does not depend on the values. ArgumentError past the context.
  void fill_cache_for_benchmark(int64_t n, uint32_t seed = 1);
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
  std::vector<float> k_new_, v_new_;  // this chunk's keys and values before they go into the cache
  Tensor logits_;
};

}  // namespace flame
