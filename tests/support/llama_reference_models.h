#pragma once
// The PyTorch reference models of tests/reference/llama_reference.py: random-weight Llama GGUF files
// and the float64 logits of every position of their token sequence, loaded once per scratch folder.
//
//   for (const auto& m : test::llama_reference_models("llama_reference"))
//     compare(m.gguf, m.tokens, m.logits);  // logits[position * vocab + token]
#include <cstdint>
#include <string>
#include <vector>

namespace flame::test {

struct ReferenceModel {
  std::string name, dtype, gguf;  // dtype "f32", "f16" or "bf16"; gguf is the file's full path
  int64_t vocab;
  std::vector<int32_t> tokens;
  std::vector<float> logits;         // [tokens][vocab]
  std::vector<float> logits_kv_f16;  // same, with keys and values rounded to fp16 (F16 KV cache)
};

// Runs llama_reference.py into scratch_dir(scratch_name) on first use and returns its manifest's
// models with their logits (cached per scratch_name for the life of the test process).
const std::vector<ReferenceModel>& llama_reference_models(const std::string& scratch_name);

}  // namespace flame::test
