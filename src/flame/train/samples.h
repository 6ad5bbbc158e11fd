#pragma once
// Text samples from the model being trained (shown at evaluation points so one can watch it learn):
// the training parameters are shared with an inference session (no copy), a prompt is encoded,
// continued with the sampler and decoded.
//
//   SampleWriter samples(tokenizer_path, {"It is a truth universally acknowledged"}, 48);
//   for (auto& s : samples.generate(params)) print(s);   // prompt + continuation, one per prompt
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flame/model/weights.h"

namespace flame {

class SampleWriter {
 public:
  SampleWriter(const std::string& tokenizer_path, std::vector<std::string> prompts, int64_t max_tokens,
               uint64_t seed = 1);
  ~SampleWriter();
  // One string per prompt: the prompt followed by the generated text. Deterministic for a seed.
  std::vector<std::string> generate(const LlamaWeights& params) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flame
