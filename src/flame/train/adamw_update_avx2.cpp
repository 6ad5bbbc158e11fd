// AVX2 twin of scalar::adamw_update (compiled with -mavx2 -mfma).
#include <immintrin.h>

#include "flame/train/adamw_update.h"

namespace flame::avx2 {

void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWScalars& s) {
  const __m256 clip = _mm256_set1_ps(s.clip), b1 = _mm256_set1_ps(s.b1), b2 = _mm256_set1_ps(s.b2);
  const __m256 one_b1 = _mm256_set1_ps(1.0f - s.b1), one_b2 = _mm256_set1_ps(1.0f - s.b2);
  const __m256 eps = _mm256_set1_ps(s.eps), decay = _mm256_set1_ps(s.decay), lr = _mm256_set1_ps(s.step_size);
  const __m256 inv_bc2 = _mm256_set1_ps(1.0f / s.bc2_sqrt);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 gj = _mm256_mul_ps(_mm256_loadu_ps(g + j), clip);
    const __m256 mj = _mm256_fmadd_ps(b1, _mm256_loadu_ps(m + j), _mm256_mul_ps(one_b1, gj));
    const __m256 vj = _mm256_fmadd_ps(b2, _mm256_loadu_ps(v + j), _mm256_mul_ps(one_b2, _mm256_mul_ps(gj, gj)));
    _mm256_storeu_ps(m + j, mj);
    _mm256_storeu_ps(v + j, vj);
    const __m256 denom = _mm256_fmadd_ps(_mm256_sqrt_ps(vj), inv_bc2, eps);
    const __m256 pj = _mm256_mul_ps(_mm256_loadu_ps(p + j), decay);
    _mm256_storeu_ps(p + j, _mm256_sub_ps(pj, _mm256_div_ps(_mm256_mul_ps(lr, mj), denom)));
  }
  if (j < n) scalar::adamw_update(p + j, g + j, m + j, v + j, n - j, s);
}

double sum_of_squares_f64(const float* g, int64_t n) {
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256d lo = _mm256_cvtps_pd(_mm_loadu_ps(g + i)), hi = _mm256_cvtps_pd(_mm_loadu_ps(g + i + 4));
    a0 = _mm256_fmadd_pd(lo, lo, a0);
    a1 = _mm256_fmadd_pd(hi, hi, a1);
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(a0, a1));
  double s = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < n; ++i) s += double(g[i]) * double(g[i]);
  return s;
}

}  // namespace flame::avx2
