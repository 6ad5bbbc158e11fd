#pragma once
// Token embedding lookup for a table of any stored type (F32/F16/BF16/quantized via dequantize_row).
//
//   embedding_lookup(weights.token_embd, tokens, n_tokens, x.data<float>());   // x: [n][dim]
#include <cstdint>

#include "flame/core/tensor.h"

namespace flame {

// Throws ArgumentError naming the id when a token is outside [0, rows).
void embedding_lookup(const Tensor& table, const int32_t* tokens, int64_t n, float* out);

}  // namespace flame
