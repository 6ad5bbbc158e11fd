#pragma once
// Deterministic random initialisation of a Llama model for training (GPT-2 / Llama style):
// every matrix ~ N(0, std^2), the residual-stream output projections (attn_output, ffn_down) scaled
// by 1/sqrt(2 * n_layers), norms = 1. Each value is a pure function of (seed, tensor name, index)
// (counter-based generator), so the result does not depend on thread count or on the order in
// which tensors are visited.
//
//   LlamaWeights w = LlamaWeights::allocate(config);
//   init_random(w, /*seed=*/1, /*std=*/0.02);
#include <cstdint>

#include "flame/model/weights.h"

namespace flame {

void init_random(LlamaWeights& weights, uint64_t seed, double std);

// A standard normal sample that is a pure function of (key, index) (Box-Muller on hashed counters).
float hashed_normal(uint64_t key, uint64_t index);

}  // namespace flame
