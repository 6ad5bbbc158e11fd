#include "flame/train/adamw_update.h"

#include <cmath>

#include "flame/core/cpu.h"

namespace flame {
namespace scalar {
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWScalars& s) {
  for (int64_t j = 0; j < n; ++j) {
    const float gj = g[j] * s.clip;
    m[j] = s.b1 * m[j] + (1.0f - s.b1) * gj;
    v[j] = s.b2 * v[j] + (1.0f - s.b2) * gj * gj;
    const float denom = std::sqrt(v[j]) / s.bc2_sqrt + s.eps;
    p[j] = p[j] * s.decay - s.step_size * m[j] / denom;
  }
}

double sum_of_squares_f64(const float* g, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += double(g[i]) * double(g[i]);
  return s;
}
}  // namespace scalar

void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWScalars& s) {
  cpu().has_avx2_fma() ? avx2::adamw_update(p, g, m, v, n, s) : scalar::adamw_update(p, g, m, v, n, s);
}

double sum_of_squares_f64(const float* g, int64_t n) {
  return cpu().has_avx2_fma() ? avx2::sum_of_squares_f64(g, n) : scalar::sum_of_squares_f64(g, n);
}

}  // namespace flame
