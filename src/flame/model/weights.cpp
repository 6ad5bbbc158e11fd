// LlamaWeights: the one table from GGUF tensor names to model fields (for_each), loading with shape
// validation, allocation for training, and writing back.
#include "flame/model/weights.h"

#include <algorithm>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/io/gguf.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/rope.h"

namespace flame {
namespace {

// Calls fn(name, tensor, expected shape) for every parameter in GGUF order.
template <class Weights, class Fn>
void visit(Weights& w, Fn&& fn) {
  const LlamaConfig& c = w.config;
  const int64_t q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  fn(std::string("token_embd.weight"), w.token_embd, Shape{c.vocab_size, c.dim});
  for (size_t i = 0; i < w.layers.size(); ++i) {
    auto& l = w.layers[i];
    auto name = [i](const char* s) { return fmt::format("blk.{}.{}.weight", i, s); };
    fn(name("attn_norm"), l.attn_norm, Shape{c.dim});
    fn(name("attn_q"), l.wq, Shape{q_dim, c.dim});
    fn(name("attn_k"), l.wk, Shape{kv_dim, c.dim});
    fn(name("attn_v"), l.wv, Shape{kv_dim, c.dim});
    fn(name("attn_output"), l.wo, Shape{c.dim, q_dim});
    fn(name("ffn_norm"), l.ffn_norm, Shape{c.dim});
    fn(name("ffn_gate"), l.w_gate, Shape{c.ffn_dim, c.dim});
    fn(name("ffn_up"), l.w_up, Shape{c.ffn_dim, c.dim});
    fn(name("ffn_down"), l.w_down, Shape{c.dim, c.ffn_dim});
  }
  fn(std::string("output_norm.weight"), w.output_norm, Shape{c.dim});
  if (!c.tied_embeddings) fn(std::string("output.weight"), w.output, Shape{c.vocab_size, c.dim});
}

bool is_norm(const Shape& shape) {
  return shape.size() == 1;
}

Tensor norm_to_f32(const Tensor& t) {
  if (!dtype_info(t.dtype()).quantized) return t.to_f32();
  Tensor out = Tensor::empty(DType::F32, t.shape());
  dequantize_row(t.dtype(), t.data<void>(), out.data<float>(), t.numel());
  return out;
}

}  // namespace

LlamaWeights LlamaWeights::from_gguf(const gguf::Reader& reader) {
  LlamaWeights w;
  w.config = LlamaConfig::from_gguf(reader);
  if (w.config.vocab_size <= 0) throw FormatError(reader.path(), "llama.vocab_size", 0, "vocabulary size unknown");
  try {
    w.config.validate();
  } catch (const ArgumentError& e) {
    throw FormatError(reader.path(), "llama.* metadata", 0, e.what());
  }
  w.layers.resize(static_cast<size_t>(w.config.n_layers));
  visit(w, [&](const std::string& name, Tensor& t, const Shape& expected) {
    const gguf::TensorInfo* info = reader.find_tensor(name);
    if (!info)
      throw FormatError(reader.path(), fmt::format("tensor \"{}\"", name), 0, "tensor is missing from the file");
    if (info->shape != expected)
      throw FormatError(
          reader.path(), fmt::format("tensor \"{}\"", name), info->offset,
          fmt::format("shape {} does not match the config (expected {})", shape_str(info->shape), shape_str(expected)));
    // Checked at load so the error names the tensor (the first forward would only name the type).
    if (!is_norm(expected) && !matmul_type_supported(info->dtype))
      throw UnsupportedError(
          fmt::format("{}: tensor \"{}\" has type {}, which flame cannot compute with (weight "
                      "matrices must be F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 or Q2_K..Q6_K)",
                      reader.path(), name, dtype_name(info->dtype)));
    t = reader.tensor(name);
    // Norm weights are tiny and read every token: kernels take them as F32. A block-quantized norm
    // (a quantizer that did not skip 1-D tensors) is dequantized rather than rejected.
    if (is_norm(expected) && t.dtype() != DType::F32) t = norm_to_f32(t);
  });
  if (const gguf::TensorInfo* info = reader.find_tensor("rope_freqs.weight")) {
    const Shape expected{w.config.rope_dim / 2};
    if (info->shape != expected)
      throw FormatError(
          reader.path(), "tensor \"rope_freqs.weight\"", info->offset,
          fmt::format("shape {} does not match rope_dim/2 (expected {})", shape_str(info->shape), shape_str(expected)));
    w.rope_freqs = reader.tensor("rope_freqs.weight");
    if (w.rope_freqs.dtype() != DType::F32) w.rope_freqs = w.rope_freqs.to_f32();
  }
  return w;
}

LlamaWeights LlamaWeights::allocate(const LlamaConfig& config) {
  config.validate();
  LlamaWeights w;
  w.config = config;
  w.layers.resize(static_cast<size_t>(config.n_layers));
  visit(w, [](const std::string&, Tensor& t, const Shape& shape) { t = Tensor::zeros(DType::F32, shape); });
  return w;
}

std::vector<std::pair<std::string, Shape>> LlamaWeights::parameter_shapes(const LlamaConfig& config) {
  LlamaWeights w;
  w.config = config;
  w.layers.resize(static_cast<size_t>(std::max<int64_t>(config.n_layers, 0)));
  std::vector<std::pair<std::string, Shape>> out;
  visit(w, [&](const std::string& name, Tensor&, const Shape& shape) { out.emplace_back(name, shape); });
  return out;
}

std::vector<float> LlamaWeights::rope_freq_factors() const {
  if (rope_freqs.defined() && rope_freqs.numel() > 0) {
    const float* f = rope_freqs.data<float>();
    return std::vector<float>(f, f + rope_freqs.numel());
  }
  const RopeScaling& s = config.rope_scaling;
  if (!s.enabled()) return {};
  return llama3_freq_factors(config.rope_dim, config.rope_theta, s.factor, s.low_freq_factor, s.high_freq_factor,
                             s.original_context);
}

void LlamaWeights::to_gguf(gguf::Writer& writer) const {
  config.to_gguf(writer);
  // general.file_type as llama.cpp numbers it (by the type of the large matrices).
  const DType main_type = token_embd.dtype();
  const uint32_t file_type = main_type == DType::F16 ? 1 : main_type == DType::BF16 ? 32 : 0;
  writer.set("general.file_type", gguf::Value::u32(file_type));
  // Tensors in the order llama.cpp's convert_hf_to_gguf.py writes a Llama 3.2 file.
  const std::vector<float> factors = rope_freq_factors();
  if (!factors.empty()) {
    Tensor t = Tensor::empty(DType::F32, {static_cast<int64_t>(factors.size())});
    std::copy(factors.begin(), factors.end(), t.data<float>());
    writer.add_tensor("rope_freqs.weight", t);
  }
  writer.add_tensor("token_embd.weight", token_embd);
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerWeights& l = layers[i];
    auto add = [&](const char* s, const Tensor& t) { writer.add_tensor(fmt::format("blk.{}.{}.weight", i, s), t); };
    add("attn_norm", l.attn_norm);
    add("ffn_down", l.w_down);
    add("ffn_gate", l.w_gate);
    add("ffn_up", l.w_up);
    add("ffn_norm", l.ffn_norm);
    add("attn_k", l.wk);
    add("attn_output", l.wo);
    add("attn_q", l.wq);
    add("attn_v", l.wv);
  }
  writer.add_tensor("output_norm.weight", output_norm);
  if (!config.tied_embeddings) writer.add_tensor("output.weight", output);
}

void LlamaWeights::for_each(const std::function<void(const std::string&, Tensor&)>& fn) {
  visit(*this, [&](const std::string& name, Tensor& t, const Shape&) { fn(name, t); });
}

void LlamaWeights::for_each(const std::function<void(const std::string&, const Tensor&)>& fn) const {
  visit(*this, [&](const std::string& name, const Tensor& t, const Shape&) { fn(name, t); });
}

}  // namespace flame
