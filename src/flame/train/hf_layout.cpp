#include "flame/train/hf_layout.h"

#include <cstring>
#include <regex>

#include <fmt/format.h>

#include "flame/core/error.h"

namespace flame {
namespace {

struct NamePair {
  const char* gguf;
  const char* hf;
};
// Per-layer suffixes; "blk.N." <-> "model.layers.N.".
constexpr NamePair kLayerNames[] = {
    {"attn_norm.weight", "input_layernorm.weight"},    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_k.weight", "self_attn.k_proj.weight"},      {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_output.weight", "self_attn.o_proj.weight"}, {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},       {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
};
constexpr NamePair kGlobalNames[] = {
    {"token_embd.weight", "model.embed_tokens.weight"},
    {"output_norm.weight", "model.norm.weight"},
    {"output.weight", "lm_head.weight"},
};

Tensor permute_rows(const Tensor& w, int64_t heads, bool to_hf) {
  if (w.dtype() != DType::F32 || w.ndim() != 2 || heads <= 0 || w.dim(0) % heads != 0 || (w.dim(0) / heads) % 2 != 0)
    throw ArgumentError("hf_layout", fmt::format("cannot permute Q/K rows of a {} {} tensor over {} heads",
                                                 dtype_name(w.dtype()), shape_str(w.shape()), heads));
  const int64_t head_dim = w.dim(0) / heads, half = head_dim / 2, cols = w.dim(1);
  Tensor out = Tensor::empty(DType::F32, w.shape());
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t part = 0; part < 2; ++part) {
        const int64_t gguf_row = h * head_dim + 2 * i + part, hf_row = h * head_dim + part * half + i;
        const int64_t src = to_hf ? gguf_row : hf_row, dst = to_hf ? hf_row : gguf_row;
        std::memcpy(out.row<float>(dst), w.row<float>(src), static_cast<size_t>(cols) * sizeof(float));
      }
  return out;
}

}  // namespace

std::string hf_name(const std::string& gguf_name) {
  for (const auto& p : kGlobalNames)
    if (gguf_name == p.gguf) return p.hf;
  static const std::regex layer(R"(blk\.(\d+)\.(.+))");
  std::smatch m;
  if (std::regex_match(gguf_name, m, layer))
    for (const auto& p : kLayerNames)
      if (m[2] == p.gguf) return fmt::format("model.layers.{}.{}", m[1].str(), p.hf);
  throw ArgumentError("hf_layout", fmt::format("tensor '{}' has no Hugging Face name", gguf_name));
}

std::string gguf_name_from_hf(const std::string& name) {
  for (const auto& p : kGlobalNames)
    if (name == p.hf) return p.gguf;
  static const std::regex layer(R"(model\.layers\.(\d+)\.(.+))");
  std::smatch m;
  if (std::regex_match(name, m, layer))
    for (const auto& p : kLayerNames)
      if (m[2] == p.hf) return fmt::format("blk.{}.{}", m[1].str(), p.gguf);
  throw ArgumentError("hf_layout", fmt::format("'{}' is not a Hugging Face Llama tensor name", name));
}

int64_t permuted_heads(const std::string& gguf_name, const LlamaConfig& config) {
  auto ends_with = [&](const char* suffix) {
    const size_t n = std::strlen(suffix);
    return gguf_name.size() >= n && gguf_name.compare(gguf_name.size() - n, n, suffix) == 0;
  };
  if (ends_with(".attn_q.weight")) return config.n_heads;
  if (ends_with(".attn_k.weight")) return config.n_kv_heads;
  return 0;
}

Tensor to_hf_rows(const Tensor& gguf_order, int64_t heads) {
  return permute_rows(gguf_order, heads, true);
}
Tensor from_hf_rows(const Tensor& hf_order, int64_t heads) {
  return permute_rows(hf_order, heads, false);
}

void for_each_hf_tensor(const LlamaWeights& weights, const std::function<void(const std::string&, const Tensor&)>& fn) {
  weights.for_each([&](const std::string& name, const Tensor& t) {
    const int64_t heads = permuted_heads(name, weights.config);
    if (heads > 0)
      fn(hf_name(name), to_hf_rows(t, heads));
    else
      fn(hf_name(name), t);
  });
}

}  // namespace flame
