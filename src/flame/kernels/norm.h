#pragma once
// RMSNorm over rows (Llama's only normalisation):
//   y[r][i] = x[r][i] / sqrt(mean_j(x[r][j]^2) + eps) * weight[i]
//
//   rmsnorm(x.data<float>(), layer.attn_norm.data<float>(), h.data<float>(), n_tokens, dim, eps);
// y may alias x. The sum of squares accumulates in double, so the result does not depend on the
// summation order beyond float rounding of the output.
#include <cstdint>

namespace flame {

void rmsnorm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps);

}  // namespace flame
