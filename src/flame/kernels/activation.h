#pragma once
// Elementwise activations and softmax.
//
//   swiglu(gate, up, hidden, n_tokens * ffn_dim);   // hidden = silu(gate) * up
//   softmax(logits, vocab);                         // in place, max-subtracted
#include <cstdint>

namespace flame {

// out[i] = gate[i] * sigmoid(gate[i]) * up[i]; out may alias gate or up.
void swiglu(const float* gate, const float* up, float* out, int64_t n);
// In-place numerically stable softmax of n values.
void softmax(float* x, int64_t n);

}  // namespace flame
