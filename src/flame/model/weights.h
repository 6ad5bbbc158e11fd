#pragma once
// The parameters of a Llama model, named as GGUF names them. The one parameter container for
// inference (views into a mapped GGUF, any stored type), training (owning F32 tensors; gradients and
// optimiser moments are LlamaWeights too) and export.
//
//   auto reader = gguf::Reader::open(path);
//   LlamaWeights w = LlamaWeights::from_gguf(reader);          // zero-copy views
//   LlamaWeights g = LlamaWeights::allocate(w.config);         // F32 zeros, same structure
//   w.for_each([](const std::string& name, Tensor& t) { ... });  // "blk.3.attn_q.weight", ...
//
// Layout: every matrix is {out_features, in_features}. Q and K rows are in the order llama.cpp's
// converter writes them (each head's rows permuted so RoPE rotates adjacent pairs (2i, 2i+1));
// conversion from/to Hugging Face layout (rotate-half) happens only at the safetensors boundary.
#include <functional>
#include <string>
#include <vector>

#include "flame/core/tensor.h"
#include "flame/model/config.h"

namespace flame {
namespace gguf {
class Reader;
class Writer;
}  // namespace gguf

struct LayerWeights {
  Tensor attn_norm;  // blk.N.attn_norm.weight   {dim}
  Tensor wq;         // blk.N.attn_q.weight      {n_heads*head_dim, dim}
  Tensor wk;         // blk.N.attn_k.weight      {n_kv_heads*head_dim, dim}
  Tensor wv;         // blk.N.attn_v.weight      {n_kv_heads*head_dim, dim}
  Tensor wo;         // blk.N.attn_output.weight {dim, n_heads*head_dim}
  Tensor ffn_norm;   // blk.N.ffn_norm.weight    {dim}
  Tensor w_gate;     // blk.N.ffn_gate.weight    {ffn_dim, dim}
  Tensor w_up;       // blk.N.ffn_up.weight      {ffn_dim, dim}
  Tensor w_down;     // blk.N.ffn_down.weight    {dim, ffn_dim}
};

struct LlamaWeights {
  LlamaConfig config;
  Tensor token_embd;   // token_embd.weight  {vocab, dim}
  Tensor output_norm;  // output_norm.weight {dim}
  Tensor output;       // output.weight      {vocab, dim}; undefined when config.tied_embeddings
  Tensor rope_freqs;   // rope_freqs.weight  {rope_dim/2} F32 divisors (Llama 3.1+); may be undefined
  std::vector<LayerWeights> layers;

  // Reads config and tensor views from a GGUF; validates every shape against the config and names
  // the offending tensor. Missing output.weight => tied embeddings.
  static LlamaWeights from_gguf(const gguf::Reader& reader);
  // Owning, zero-filled F32 tensors for every parameter (rope_freqs excluded: it is not trained).
  static LlamaWeights allocate(const LlamaConfig& config);
  // Every parameter's GGUF name and shape for a config, in for_each order (nothing allocated).
  static std::vector<std::pair<std::string, Shape>> parameter_shapes(const LlamaConfig& config);
  // Adds config metadata and every tensor (GGUF names) to a writer.
  void to_gguf(gguf::Writer& writer) const;

  // Every defined parameter with its GGUF name, in a fixed order (embeddings, layers, norm, output).
  void for_each(const std::function<void(const std::string& name, Tensor& tensor)>& fn);
  void for_each(const std::function<void(const std::string& name, const Tensor& tensor)>& fn) const;
  // Per-pair rope frequency divisors: rope_freqs when present, else computed from
  // config.rope_scaling (Llama 3), else empty (no scaling).
  std::vector<float> rope_freq_factors() const;
  // The tensor used for the output projection (output, or token_embd when tied).
  const Tensor& output_matrix() const { return config.tied_embeddings ? token_embd : output; }
};

}  // namespace flame
