#pragma once
// The AdamW element update over one contiguous range, scalar reference + AVX2 twin (run-time pick):
//   g = grad * clip;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//   p = p * decay - step_size * m / (sqrt(v) / bc2_sqrt + eps)
#include <cstdint>

namespace flame {

struct AdamWScalars {
  float clip, b1, b2, eps, decay, step_size, bc2_sqrt;
};

void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWScalars& s);
// sum_i g[i]^2 in double (the gradient-norm pass). The AVX2 twin sums in 8 interleaved lanes, so
// it equals the scalar one to double rounding, not bitwise; each is deterministic.
double sum_of_squares_f64(const float* g, int64_t n);

namespace scalar {
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWScalars& s);
double sum_of_squares_f64(const float* g, int64_t n);
}  // namespace scalar
namespace avx2 {
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWScalars& s);
double sum_of_squares_f64(const float* g, int64_t n);
}  // namespace avx2

}  // namespace flame
