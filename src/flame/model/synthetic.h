#pragma once
// Random-weight models in the shapes of real ones, for benchmarks and tests that need a file with a
// real model's layout but not its knowledge.
//
//   LlamaConfig c = synthetic_config("llama3.2-1b");            // Llama 3.2 1B hyper-parameters
//   LlamaWeights w = random_weights(c, DType::F16, /*seed=*/1);  // owning tensors, deterministic
//   gguf::Writer writer;  w.to_gguf(writer);  writer.write("1b.gguf");
#include <cstdint>
#include <string>
#include <vector>

#include "flame/core/dtype.h"
#include "flame/model/weights.h"

namespace flame {

// Known shapes: "llama3.2-1b", "llama3.2-3b", "llama3.1-8b", "small" (~30M) and "tiny".
// Throws ArgumentError listing the names for an unknown one.
LlamaConfig synthetic_config(const std::string& shape);
std::vector<std::string> synthetic_shape_names();

// Matrices ~ U(-a, a) with standard deviation 1/sqrt(in_features) (activations keep their scale),
// norms 1. Same (config, type, seed) => same bytes, for any thread count. Shows progress.
LlamaWeights random_weights(const LlamaConfig& config, DType type, uint64_t seed);

}  // namespace flame
