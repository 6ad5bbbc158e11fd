#include "flame/model/config.h"

#include <fmt/format.h>

#include "flame/core/error.h"

namespace flame {

void LlamaConfig::validate() const {
  auto positive = [](const char* field, int64_t v) {
    if (v <= 0) throw ArgumentError("LlamaConfig", fmt::format("{} must be positive, got {}", field, v));
  };
  positive("vocab_size", vocab_size);
  positive("dim", dim);
  positive("n_layers", n_layers);
  positive("n_heads", n_heads);
  positive("n_kv_heads", n_kv_heads);
  positive("ffn_dim", ffn_dim);
  positive("context_length", context_length);
  positive("head_dim", head_dim);
  if (n_heads % n_kv_heads != 0)
    throw ArgumentError("LlamaConfig", fmt::format("n_kv_heads ({}) must divide n_heads ({})", n_kv_heads, n_heads));
  if (head_dim % 2 != 0) throw ArgumentError("LlamaConfig", fmt::format("head_dim ({}) must be even", head_dim));
  if (rope_dim <= 0 || rope_dim > head_dim || rope_dim % 2 != 0)
    throw ArgumentError("LlamaConfig",
                        fmt::format("rope_dim ({}) must be even and at most head_dim ({})", rope_dim, head_dim));
  if (!(norm_eps > 0)) throw ArgumentError("LlamaConfig", fmt::format("norm_eps must be positive, got {}", norm_eps));
  if (!(rope_theta > 0))
    throw ArgumentError("LlamaConfig", fmt::format("rope_theta must be positive, got {}", rope_theta));
}

int64_t LlamaConfig::n_matmul_params() const {
  const int64_t q = dim * n_heads * head_dim, kv = 2 * dim * n_kv_heads * head_dim, o = n_heads * head_dim * dim;
  const int64_t ffn = 3 * dim * ffn_dim;
  return n_layers * (q + kv + o + ffn) + vocab_size * dim;
}

int64_t LlamaConfig::n_params() const {
  const int64_t norms = n_layers * 2 * dim + dim;
  const int64_t embeddings = tied_embeddings ? vocab_size * dim : 2 * vocab_size * dim;
  return n_matmul_params() - vocab_size * dim + embeddings + norms;
}

std::string LlamaConfig::summary() const {
  return fmt::format(
      "dim {} layers {} heads {} kv_heads {} head_dim {} ffn {} vocab {} ctx {} rope_theta {} eps {} tied {} "
      "rope_scaling {}",
      dim, n_layers, n_heads, n_kv_heads, head_dim, ffn_dim, vocab_size, context_length, rope_theta, norm_eps,
      tied_embeddings, rope_scaling.enabled() ? fmt::format("x{}", rope_scaling.factor) : "none");
}

}  // namespace flame
