// LlamaWeights::allocate and for_each: the parts of the weights contract that training needs.
// (Written by the train-kernels helper because the model branch had not landed them yet; from_gguf
// and to_gguf belong to the model branch.)
#include "flame/model/weights.h"

#include <fmt/format.h>

namespace flame {

LlamaWeights LlamaWeights::allocate(const LlamaConfig& config) {
  config.validate();
  LlamaWeights w;
  w.config = config;
  const int64_t dim = config.dim, q_dim = config.n_heads * config.head_dim,
                kv_dim = config.n_kv_heads * config.head_dim;
  w.token_embd = Tensor::zeros(DType::F32, {config.vocab_size, dim});
  w.output_norm = Tensor::zeros(DType::F32, {dim});
  if (!config.tied_embeddings) w.output = Tensor::zeros(DType::F32, {config.vocab_size, dim});
  w.layers.resize(config.n_layers);
  for (auto& l : w.layers) {
    l.attn_norm = Tensor::zeros(DType::F32, {dim});
    l.wq = Tensor::zeros(DType::F32, {q_dim, dim});
    l.wk = Tensor::zeros(DType::F32, {kv_dim, dim});
    l.wv = Tensor::zeros(DType::F32, {kv_dim, dim});
    l.wo = Tensor::zeros(DType::F32, {dim, q_dim});
    l.ffn_norm = Tensor::zeros(DType::F32, {dim});
    l.w_gate = Tensor::zeros(DType::F32, {config.ffn_dim, dim});
    l.w_up = Tensor::zeros(DType::F32, {config.ffn_dim, dim});
    l.w_down = Tensor::zeros(DType::F32, {dim, config.ffn_dim});
  }
  return w;
}

namespace {
template <class Weights, class Fn>
void visit(Weights& w, const Fn& fn) {
  fn(std::string("token_embd.weight"), w.token_embd);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    auto& l = w.layers[i];
    const std::string p = fmt::format("blk.{}.", i);
    fn(p + "attn_norm.weight", l.attn_norm);
    fn(p + "attn_q.weight", l.wq);
    fn(p + "attn_k.weight", l.wk);
    fn(p + "attn_v.weight", l.wv);
    fn(p + "attn_output.weight", l.wo);
    fn(p + "ffn_norm.weight", l.ffn_norm);
    fn(p + "ffn_gate.weight", l.w_gate);
    fn(p + "ffn_up.weight", l.w_up);
    fn(p + "ffn_down.weight", l.w_down);
  }
  fn(std::string("output_norm.weight"), w.output_norm);
  if (!w.config.tied_embeddings && w.output.data() != nullptr) fn(std::string("output.weight"), w.output);
}
}  // namespace

void LlamaWeights::for_each(const std::function<void(const std::string& name, Tensor& tensor)>& fn) {
  visit(*this, fn);
}

void LlamaWeights::for_each(const std::function<void(const std::string& name, const Tensor& tensor)>& fn) const {
  visit(*this, fn);
}

}  // namespace flame
