#pragma once
// Rotary position embedding in GGUF's layout: each head's first rope_dim elements form adjacent
// pairs (x[2i], x[2i+1]) rotated by angle pos * inv_freq[i]. (Hugging Face rotates halves
// (x[i], x[i+d/2]); llama.cpp's converter permutes Q/K rows so adjacent pairs are equivalent.)
//
//   RopeTable rope = RopeTable::make(head_dim, 500000.0f, freq_factors);  // factors may be empty
//   rope_apply(q.data<float>(), n_tokens, n_heads, head_dim, rope, pos0);
//
// Llama 3.1/3.2 scaling divides each frequency by a factor (the `rope_freqs.weight` tensor), as
// llama.cpp does: theta_i = pos * base^(-2i/d) / freq_factor_i. llama3_freq_factors computes those
// factors from the scaling parameters exactly as llama.cpp's converter writes them.
#include <cstdint>
#include <vector>

namespace flame {

struct RopeTable {
  int64_t rope_dim = 0;
  std::vector<double> inv_freq;  // rope_dim/2 entries
  float position_scale = 1.0f;   // linear scaling: positions multiplied by this (1 = none)

  // freq_factors: empty or rope_dim/2 divisors.
  static RopeTable make(int64_t rope_dim, float base, const std::vector<float>& freq_factors = {},
                        float position_scale = 1.0f);
};

// x: [n_tokens][n_heads * head_dim]; token t is at position pos0 + t. inverse=true rotates by the
// negative angle (the backward of rope for training).
void rope_apply(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const RopeTable& rope, int64_t pos0,
                bool inverse = false);

// Llama 3 ("llama3" rope_type) divisors per frequency pair, as convert_hf_to_gguf.py computes them.
std::vector<float> llama3_freq_factors(int64_t rope_dim, float base, float factor, float low_freq_factor,
                                       float high_freq_factor, int64_t original_context);

}  // namespace flame
