#pragma once
// Rotary position embedding for training, forward/backward, on ADJACENT pairs (2i, 2i+1) of each
// head (the order llama.cpp's converter gives Q/K rows). The rotation itself is the inference
// kernel (kernels/rope.h rope_apply with the same RopeTable: theta, Llama 3 frequency divisors,
// linear position scale), so training and inference cannot disagree; this adds the batch layout,
// the pool split and the backward.
//
//   RopeTable table = RopeTable::make(config.rope_dim, config.rope_theta, weights.rope_freq_factors(),
//                                     config.rope_position_scale);
//   rope_forward(q, table, B, T, n_heads, head_dim, pool);    // in place
//   rope_backward(dq, table, B, T, n_heads, head_dim, pool);  // in place (inverse rotation)
//   RopeAngles angles = RopeAngles::make(table, T);             // cos/sin of positions [0, T), once
//   rope_forward(q, angles, B, T, n_heads, head_dim, pool);     // same values, no sin/cos per call
//
// Shapes: x [B, T, n_heads, head_dim]; sequence b's token t is at position t. Only the first
// rope_dim dims of a head rotate.
// Saved for backward: nothing (RoPE is linear; backward rotates the gradient by -angle).
#include <cstdint>
#include <vector>

#include "flame/core/thread_pool.h"
#include "flame/kernels/rope.h"

namespace flame {

// cos and sin of every (position, pair) angle for positions [0, T), as float, computed exactly as
// rope_apply computes them (double angle, rounded once), so both give bit-identical rotations.
struct RopeAngles {
  int64_t T = 0, pairs = 0;
  std::vector<float> cos, sin;  // [T, pairs]
  static RopeAngles make(const RopeTable& table, int64_t T);
};

void rope_forward(float* x, const RopeAngles& angles, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                  ThreadPool& pool);
void rope_backward(float* dx, const RopeAngles& angles, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                   ThreadPool& pool);

void rope_forward(float* x, const RopeTable& table, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                  ThreadPool& pool);
void rope_backward(float* dx, const RopeTable& table, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                   ThreadPool& pool);

}  // namespace flame
