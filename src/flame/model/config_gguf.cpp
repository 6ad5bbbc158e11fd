// LlamaConfig <-> GGUF metadata, with the key names llama.cpp's converter uses.
#include <algorithm>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/io/gguf.h"
#include "flame/model/config.h"

namespace flame {
namespace {

constexpr const char* kArch = "llama";

std::string key(const char* suffix) {
  return fmt::format("{}.{}", kArch, suffix);
}

int64_t required_int(const gguf::Reader& r, const char* suffix) {
  const std::string k = key(suffix);
  return r.at(k).as_int();
}

}  // namespace

LlamaConfig LlamaConfig::from_gguf(const gguf::Reader& r) {
  const std::string arch = r.get_string("general.architecture").value_or("");
  if (arch != kArch)
    throw UnsupportedError(
        fmt::format("{}: general.architecture is \"{}\"; flame runs \"llama\" models", r.path(), arch));
  LlamaConfig c;
  c.dim = required_int(r, "embedding_length");
  c.n_layers = required_int(r, "block_count");
  c.ffn_dim = required_int(r, "feed_forward_length");
  c.n_heads = required_int(r, "attention.head_count");
  c.n_kv_heads = r.get_int(key("attention.head_count_kv")).value_or(c.n_heads);
  c.context_length = r.get_int(key("context_length")).value_or(2048);
  c.norm_eps = static_cast<float>(r.get_float(key("attention.layer_norm_rms_epsilon")).value_or(1e-5));
  c.rope_theta = static_cast<float>(r.get_float(key("rope.freq_base")).value_or(10000.0));
  c.head_dim = r.get_int(key("attention.key_length")).value_or(c.n_heads > 0 ? c.dim / c.n_heads : 0);
  c.rope_dim = r.get_int(key("rope.dimension_count")).value_or(c.head_dim);

  if (auto v = r.get_int(key("vocab_size"))) {
    c.vocab_size = *v;
  } else if (const auto* tokens = r.find("tokenizer.ggml.tokens")) {
    c.vocab_size = static_cast<int64_t>(tokens->array_size());
  } else if (const auto* embd = r.find_tensor("token_embd.weight"); embd && !embd->shape.empty()) {
    c.vocab_size = embd->shape.front();
  }
  c.tied_embeddings = r.find_tensor("output.weight") == nullptr;

  // Rope scaling. Llama 3.1+ files carry the divisors as a tensor (read by LlamaWeights); older
  // files may say "linear" with a factor.
  const std::string scaling_type = r.get_string(key("rope.scaling.type")).value_or("none");
  const double scaling_factor = r.get_float(key("rope.scaling.factor")).value_or(0.0);
  if (scaling_type == "linear" && scaling_factor > 0) {
    c.rope_position_scale = static_cast<float>(1.0 / scaling_factor);
  } else if (scaling_type == "llama3" && scaling_factor > 0) {
    c.rope_scaling.factor = static_cast<float>(scaling_factor);
  } else if (scaling_type != "none" && scaling_type != "linear" && scaling_type != "llama3") {
    throw UnsupportedError(fmt::format("{}: rope scaling type \"{}\" is not supported", r.path(), scaling_type));
  }
  if (auto v = r.get_int(key("rope.scaling.original_context_length"))) c.rope_scaling.original_context = *v;
  if (const auto* freqs = r.find_tensor("rope_freqs.weight")) {
    if (freqs->dtype == DType::F32 && freqs->nbytes == static_cast<uint64_t>(c.rope_dim / 2) * 4) {
      const Tensor t = r.tensor("rope_freqs.weight");
      const float* f = t.data<float>();
      c.rope_scaling.factor = *std::max_element(f, f + c.rope_dim / 2);
    }
  }
  return c;
}

void LlamaConfig::to_gguf(gguf::Writer& w) const {
  using gguf::Value;
  auto u32 = [](int64_t v) { return Value::u32(static_cast<uint32_t>(v)); };
  w.set("general.architecture", Value::string(kArch));
  w.set(key("block_count"), u32(n_layers));
  w.set(key("context_length"), u32(context_length));
  w.set(key("embedding_length"), u32(dim));
  w.set(key("feed_forward_length"), u32(ffn_dim));
  w.set(key("attention.head_count"), u32(n_heads));
  w.set(key("attention.head_count_kv"), u32(n_kv_heads));
  w.set(key("rope.freq_base"), Value::f32(rope_theta));
  w.set(key("attention.layer_norm_rms_epsilon"), Value::f32(norm_eps));
  w.set(key("attention.key_length"), u32(head_dim));
  w.set(key("attention.value_length"), u32(head_dim));
  w.set(key("vocab_size"), u32(vocab_size));
  w.set(key("rope.dimension_count"), u32(rope_dim));
  if (rope_position_scale != 1.0f) {
    w.set(key("rope.scaling.type"), Value::string("linear"));
    w.set(key("rope.scaling.factor"), Value::f32(1.0f / rope_position_scale));
  }
}

}  // namespace flame
