#include "flame/model/synthetic.h"

#include <cmath>
#include <functional>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "flame/core/error.h"
#include "flame/core/progress.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/quant.h"

namespace flame {
namespace {

LlamaConfig llama3(int64_t dim, int64_t layers, int64_t heads, int64_t kv_heads, int64_t ffn, bool tied) {
  LlamaConfig c;
  c.vocab_size = 128256;
  c.dim = dim;
  c.n_layers = layers;
  c.n_heads = heads;
  c.n_kv_heads = kv_heads;
  c.ffn_dim = ffn;
  c.context_length = 131072;
  c.head_dim = dim / heads;
  c.rope_dim = c.head_dim;
  c.norm_eps = 1e-5f;
  c.rope_theta = 500000.0f;
  c.rope_scaling = RopeScaling{32.0f, 1.0f, 4.0f, 8192};
  c.tied_embeddings = tied;
  return c;
}

LlamaConfig small(int64_t vocab, int64_t dim, int64_t layers, int64_t heads, int64_t kv_heads, int64_t ffn) {
  LlamaConfig c = llama3(dim, layers, heads, kv_heads, ffn, false);
  c.vocab_size = vocab;
  c.context_length = 2048;
  return c;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<std::string> synthetic_shape_names() {
  return {"llama3.2-1b", "llama3.2-3b", "llama3.1-8b", "small", "tiny"};
}

LlamaConfig synthetic_config(const std::string& shape) {
  if (shape == "llama3.2-1b") return llama3(2048, 16, 32, 8, 8192, true);
  if (shape == "llama3.2-3b") return llama3(3072, 28, 24, 8, 8192, true);
  if (shape == "llama3.1-8b") return llama3(4096, 32, 32, 8, 14336, false);
  if (shape == "small") return small(32000, 512, 8, 8, 4, 1536);
  if (shape == "tiny") return small(512, 64, 2, 4, 2, 192);
  throw ArgumentError("synth",
                      fmt::format("unknown shape \"{}\"; known: {}", shape, fmt::join(synthetic_shape_names(), ", ")));
}

LlamaWeights random_weights(const LlamaConfig& config, DType type, uint64_t seed) {
  config.validate();
  if (type != DType::F32 && type != DType::F16 && type != DType::BF16)
    throw ArgumentError("synth", fmt::format("type {} is not f32, f16 or bf16", dtype_name(type)));
  LlamaWeights w;
  w.config = config;
  w.layers.resize(static_cast<size_t>(config.n_layers));
  // Shapes and names from the one table in weights.cpp, via allocate()'s structure.
  const auto shapes = LlamaWeights::parameter_shapes(config);
  int64_t total_bytes = 0;
  for (const auto& [name, shape] : shapes) {
    int64_t numel = 1;
    for (int64_t d : shape) numel *= d;
    total_bytes += numel * (shape.size() == 1 ? 4 : dtype_info(type).type_size);
  }
  Progress progress("synth weights", total_bytes, "B");
  uint64_t tensor_index = 0;
  std::vector<std::pair<std::string, Tensor>> made;
  for (const auto& [name, shape] : shapes) {
    const uint64_t stream = splitmix64(seed ^ splitmix64(++tensor_index));
    if (shape.size() == 1) {  // norms: ones, F32 as llama.cpp keeps 1-D tensors
      Tensor t = Tensor::empty(DType::F32, shape);
      std::fill(t.data<float>(), t.data<float>() + t.numel(), 1.0f);
      made.emplace_back(name, t);
      progress.add(static_cast<int64_t>(t.nbytes()));
      continue;
    }
    Tensor t = Tensor::empty(type, shape);
    const int64_t rows = shape[0], cols = shape[1];
    const float amplitude = std::sqrt(3.0f / static_cast<float>(cols));  // std 1/sqrt(cols)
    ThreadPool::global().parallel_for(rows, [&](int64_t b, int64_t e) {
      std::vector<float> row(static_cast<size_t>(cols));
      for (int64_t r = b; r < e; ++r) {
        uint64_t state = splitmix64(stream + static_cast<uint64_t>(r));
        for (int64_t j = 0; j < cols; ++j) {
          state = splitmix64(state);
          const double u = static_cast<double>(state >> 11) * 0x1.0p-53;  // [0, 1)
          row[j] = static_cast<float>((2.0 * u - 1.0) * amplitude);
        }
        quantize_row(type, row.data(), t.row<void>(r), cols);
      }
    });
    made.emplace_back(name, t);
    progress.add(static_cast<int64_t>(t.nbytes()));
  }
  progress.finish();
  size_t i = 0;
  w.for_each([&](const std::string& name, Tensor& t) {
    if (made[i].first != name) throw std::logic_error("synth: tensor order mismatch at " + name);
    t = made[i++].second;
  });
  return w;
}

}  // namespace flame
