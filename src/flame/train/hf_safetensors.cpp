#include "flame/train/hf_safetensors.h"

#include <cstring>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/io/safetensors.h"
#include "flame/train/hf_layout.h"

namespace flame {

void write_hf_safetensors(const std::string& path, const LlamaWeights& weights,
                          const std::map<std::string, std::string>& metadata) {
  safetensors::Writer writer;
  writer.set_metadata("format", "pt");
  for (const auto& [key, value] : metadata) writer.set_metadata(key, value);
  for_each_hf_tensor(weights, [&](const std::string& name, const Tensor& t) { writer.add_tensor(name, t); });
  writer.write(path);
}

void load_hf_safetensors_into(const std::string& path, LlamaWeights& weights) {
  const auto reader = safetensors::Reader::open(path);
  const LlamaConfig& config = weights.config;
  weights.for_each([&](const std::string& name, Tensor& dst) {
    std::string hf = hf_name(name);
    // Tied embeddings: HF files may still carry lm_head; untied models need it.
    const auto* info = reader.find(hf);
    if (!info) throw FormatError(path, hf, 0, fmt::format("tensor missing (needed for {})", name));
    if (info->shape != dst.shape())
      throw FormatError(
          path, hf, info->offset,
          fmt::format("shape {} does not match the config's {}", shape_str(info->shape), shape_str(dst.shape())));
    Tensor src = reader.tensor(hf);
    if (src.dtype() != DType::F32) src = src.to_f32();
    const int64_t heads = permuted_heads(name, config);
    if (heads > 0) src = from_hf_rows(src, heads);
    std::memcpy(dst.data(), src.data(), dst.nbytes());
  });
}

}  // namespace flame
