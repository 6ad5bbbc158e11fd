#pragma once
// Picks the next token from logits: greedy, or seeded sampling with temperature, top-k, top-p,
// min-p and a repetition penalty. The same seed and inputs give the same tokens.
//
//   SamplerParams p;  p.temperature = 0.8f;  p.top_k = 40;  p.seed = 42;
//   Sampler sampler(p);
//   int32_t token = sampler.sample(logits, vocab, history);   // history: ids seen so far
//
// Order (as llama.cpp's default chain): repetition penalty -> top-k -> temperature -> softmax ->
// top-p -> min-p -> draw. temperature <= 0 means greedy (argmax after the penalty).
#include <cstdint>
#include <random>
#include <vector>

namespace flame {

struct SamplerParams {
  float temperature = 0.8f;     // <= 0: greedy
  int32_t top_k = 40;           // <= 0: no limit
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off; keeps tokens with p >= min_p * p_max
  float repeat_penalty = 1.0f;  // 1: off; > 1 discourages the last repeat_last_n tokens
  int32_t repeat_last_n = 64;
  uint64_t seed = 0;

  // Throws ArgumentError naming the bad field.
  void validate() const;
  static SamplerParams greedy();
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);
  int32_t sample(const float* logits, int64_t vocab, const std::vector<int32_t>& history);
  const SamplerParams& params() const { return params_; }

 private:
  struct Candidate {
    int32_t id;
    float value;
  };
  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<Candidate> candidates_;
};

// Index of the largest value (the first on ties).
int32_t argmax(const float* values, int64_t n);

}  // namespace flame
