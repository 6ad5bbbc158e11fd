#pragma once
// Parameters in Hugging Face safetensors layout (names and Q/K row order, train/hf_layout.h):
// `init_from` in training configs, `--dump-grads`, and `flame export --safetensors`.
//
//   write_hf_safetensors("grads.safetensors", grads);
//   load_hf_safetensors_into("model.safetensors", params);  // every parameter must be present
#include <map>
#include <string>

#include "flame/model/weights.h"

namespace flame {

void write_hf_safetensors(const std::string& path, const LlamaWeights& weights,
                          const std::map<std::string, std::string>& metadata = {});
// Fills every parameter of `weights` from the file (F32, F16 or BF16 converted to F32); throws
// FormatError naming a missing or misshapen tensor. Extra tensors (rotary caches) are ignored.
void load_hf_safetensors_into(const std::string& path, LlamaWeights& weights);

}  // namespace flame
