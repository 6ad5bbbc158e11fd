#pragma once
// Rotary position embedding for training, forward/backward, on ADJACENT pairs (2i, 2i+1) of each
// head (the order llama.cpp's converter gives Q/K rows), angle = pos * theta^(-2i/rope_dim) / f_i
// with optional per-pair divisors f_i (Llama 3.1 "llama3" scaling, or a model's rope_freqs).
//
//   RopeTable table = RopeTable::build(config, seq, freq_factors);   // cos/sin [T, rope_dim/2]
//   rope_forward(q, table, B, T, n_heads, head_dim, pool);            // in place
//   rope_backward(dq, table, B, T, n_heads, head_dim, pool);          // in place (inverse rotation)
//
// Shapes: x [B, T, n_heads, head_dim]; only the first rope_dim dims of a head rotate.
// Saved for backward: nothing (RoPE is linear; backward rotates the gradient by -angle).
#include <cstdint>
#include <vector>

#include "flame/core/thread_pool.h"
#include "flame/model/config.h"

namespace flame {

// The divisors f_i of Llama 3.1's "llama3" rope scaling (all 1 when the config has none).
std::vector<float> llama3_rope_freq_factors(const LlamaConfig& config);

struct RopeTable {
  int64_t seq = 0, pairs = 0;   // pairs = rope_dim / 2
  std::vector<float> cos, sin;  // [seq, pairs]
  // freq_factors: rope_dim/2 divisors (a model's rope_freqs), or null to derive them from config.
  static RopeTable build(const LlamaConfig& config, int64_t seq, const float* freq_factors = nullptr);
};

void rope_forward(float* x, const RopeTable& table, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                  ThreadPool& pool);
void rope_backward(float* dx, const RopeTable& table, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                   ThreadPool& pool);

}  // namespace flame
