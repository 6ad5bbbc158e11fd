#pragma once
// Hyper-parameters of a Llama-architecture model: the one description inference, training, export
// and the scaling planner share. Read from GGUF metadata (model/config_gguf.cpp) or HF config.json.
//
//   LlamaConfig c = LlamaConfig::from_gguf(reader);
//   c.validate();   // throws ArgumentError naming the inconsistent field
#include <cstdint>
#include <string>

namespace flame {
namespace gguf {
class Reader;
class Writer;
}  // namespace gguf

struct RopeScaling {
  // Llama 3.1/3.2 "llama3" frequency scaling; factor == 0 means none.
  float factor = 0.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int64_t original_context = 8192;
  bool enabled() const { return factor > 0.0f; }
};

struct LlamaConfig {
  int64_t vocab_size = 0;
  int64_t dim = 0;             // embedding_length
  int64_t n_layers = 0;        // block_count
  int64_t n_heads = 0;         // attention.head_count
  int64_t n_kv_heads = 0;      // attention.head_count_kv
  int64_t ffn_dim = 0;         // feed_forward_length
  int64_t context_length = 0;  // maximum positions
  int64_t head_dim = 0;        // dim / n_heads unless the file says otherwise
  int64_t rope_dim = 0;        // rope.dimension_count (== head_dim for Llama)
  float norm_eps = 1e-5f;      // attention.layer_norm_rms_epsilon
  float rope_theta = 500000.0f;
  RopeScaling rope_scaling;
  bool tied_embeddings = false;      // true when output.weight is absent
  float rope_position_scale = 1.0f;  // "linear" rope scaling: positions times this (1/factor)

  // From `llama.*` metadata (model/config_gguf.cpp). Throws FormatError naming a missing key,
  // UnsupportedError for a non-llama architecture. Tied embeddings: no output.weight tensor.
  // Llama 3 scaling from `rope_freqs.weight` sets rope_scaling.factor to its largest divisor.
  static LlamaConfig from_gguf(const gguf::Reader& reader);
  // Writes the `general.architecture` and `llama.*` keys llama.cpp's converter writes.
  void to_gguf(gguf::Writer& writer) const;

  void validate() const;
  // Parameters of the model (embedding counted once when tied).
  int64_t n_params() const;
  // Parameters that take part in matrix products per token (what 6N FLOPs counts): every weight
  // matrix including the output projection, excluding the embedding lookup and the norms.
  int64_t n_matmul_params() const;
  std::string summary() const;
};

}  // namespace flame
