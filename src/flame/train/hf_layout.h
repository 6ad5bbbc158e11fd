#pragma once
// The Hugging Face Llama layout at the safetensors boundary: tensor names
// ("model.layers.3.self_attn.q_proj.weight" <-> "blk.3.attn_q.weight") and the Q/K row order.
// GGUF (and flame) order each head's Q/K rows so RoPE rotates adjacent pairs (2i, 2i+1); HF
// rotates halves (i, i + head_dim/2). llama.cpp's converter permutes HF -> GGUF:
//   gguf_row(h, 2*i + half) = hf_row(h, half*head_dim/2 + i)
//
//   std::string hf = hf_name("blk.0.attn_q.weight");       // "model.layers.0.self_attn.q_proj.weight"
//   Tensor w_hf = to_hf_rows(w, config.n_heads);           // copy in HF order
//   Tensor w = from_hf_rows(w_hf, config.n_heads);         // back
#include <cstdint>
#include <functional>
#include <string>

#include "flame/core/tensor.h"
#include "flame/model/weights.h"

namespace flame {

// Throws ArgumentError for a name with no HF counterpart.
std::string hf_name(const std::string& gguf_name);
std::string gguf_name_from_hf(const std::string& hf_name);

// Heads whose rows a parameter's HF<->GGUF conversion permutes: n_heads for attn_q, n_kv_heads for
// attn_k, 0 for every other tensor.
int64_t permuted_heads(const std::string& gguf_name, const LlamaConfig& config);

// F32 copies with rows reordered (shape {heads*head_dim, cols}).
Tensor to_hf_rows(const Tensor& gguf_order, int64_t heads);
Tensor from_hf_rows(const Tensor& hf_order, int64_t heads);

// Every parameter of `weights` in HF layout (names and Q/K order), in for_each order. Tied
// embeddings produce no lm_head (HF ties it through config.json).
void for_each_hf_tensor(const LlamaWeights& weights, const std::function<void(const std::string&, const Tensor&)>& fn);

}  // namespace flame
