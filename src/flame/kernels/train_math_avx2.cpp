// AVX2/FMA twins of train_math.cpp's scalar helpers (compiled with -mavx2 -mfma).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "flame/kernels/avx2_common.h"
#include "flame/kernels/train_math.h"

namespace flame::avx2 {
namespace {

// exp(x) for 8 floats: range reduction x = k ln2 + r, degree-5 polynomial for e^r, scale by 2^k
// (Cephes expf). Inputs below -87.3 flush to 0.
inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-88.3762626647949f));
  return exp_ps_clamped(x);
}

inline __m256 sigmoid8(__m256 g) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
}

}  // namespace

float max_of(const float* x, int64_t n) {
  int64_t i = 0;
  float m = x[0];
  if (n >= 8) {
    __m256 v = _mm256_loadu_ps(x);
    for (i = 8; i + 8 <= n; i += 8) v = _mm256_max_ps(v, _mm256_loadu_ps(x + i));
    m = hmax_ps(v);
  }
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

float exp_shifted_sum(const float* x, float* y, int64_t n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    if (y) _mm256_storeu_ps(y + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = hsum_ps(acc);
  for (; i < n; ++i) {
    const float e = std::exp(x[i] - shift);
    if (y) y[i] = e;
    sum += e;
  }
  return sum;
}

void exp_shifted_scaled(const float* x, float* y, int64_t n, float shift, float scale) {
  const __m256 s = _mm256_set1_ps(shift), c = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s)), c));
  for (; i < n; ++i) y[i] = std::exp(x[i] - shift) * scale;
}

void scale_in_place(float* x, int64_t n, float scale) {
  const __m256 c = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), c));
  for (; i < n; ++i) x[i] *= scale;
}

void swiglu_rows(const float* gate, const float* up, float* h, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    _mm256_storeu_ps(h + i, _mm256_mul_ps(_mm256_mul_ps(g, sigmoid8(g)), _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) h[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void swiglu_grad_rows(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i), d = _mm256_loadu_ps(dh + i);
    const __m256 s = sigmoid8(g);
    _mm256_storeu_ps(dup + i, _mm256_mul_ps(d, _mm256_mul_ps(g, s)));
    const __m256 ds = _mm256_mul_ps(s, _mm256_fmadd_ps(g, _mm256_sub_ps(one, s), one));
    _mm256_storeu_ps(dgate + i, _mm256_mul_ps(_mm256_mul_ps(d, _mm256_loadu_ps(up + i)), ds));
  }
  for (; i < n; ++i) {
    const float g = gate[i], s = 1.0f / (1.0f + std::exp(-g)), dd = dh[i];
    dup[i] = dd * g * s;
    dgate[i] = dd * up[i] * s * (1.0f + g * (1.0f - s));
  }
}

// The reductions below keep two accumulators (a sum order of their own: equal to the scalar twin
// to rounding, ~1e-6 relative, deterministic).
float sum_of_squares(const float* x, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    a0 = _mm256_fmadd_ps(v0, v0, a0);
    a1 = _mm256_fmadd_ps(v1, v1, a1);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    a0 = _mm256_fmadd_ps(v, v, a0);
  }
  float ss = hsum_ps(_mm256_add_ps(a0, a1));
  for (; i < n; ++i) ss += x[i] * x[i];
  return ss;
}

void scaled_product(const float* x, const float* w, float r, float* y, int64_t n) {
  const __m256 rv = _mm256_set1_ps(r);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), rv), _mm256_loadu_ps(w + i)));
  for (; i < n; ++i) y[i] = x[i] * r * w[i];
}

void rmsnorm_grad_row(const float* dy, const float* x, const float* w, float r, float* dx, float* dw, int64_t n) {
  const __m256 rv = _mm256_set1_ps(r);
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 d0 = _mm256_loadu_ps(dy + i), d1 = _mm256_loadu_ps(dy + i + 8);
    const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
    a0 = _mm256_fmadd_ps(_mm256_mul_ps(d0, _mm256_loadu_ps(w + i)), x0, a0);
    a1 = _mm256_fmadd_ps(_mm256_mul_ps(d1, _mm256_loadu_ps(w + i + 8)), x1, a1);
    _mm256_storeu_ps(dw + i, _mm256_fmadd_ps(_mm256_mul_ps(d0, x0), rv, _mm256_loadu_ps(dw + i)));
    _mm256_storeu_ps(dw + i + 8, _mm256_fmadd_ps(_mm256_mul_ps(d1, x1), rv, _mm256_loadu_ps(dw + i + 8)));
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 d0 = _mm256_loadu_ps(dy + i), x0 = _mm256_loadu_ps(x + i);
    a0 = _mm256_fmadd_ps(_mm256_mul_ps(d0, _mm256_loadu_ps(w + i)), x0, a0);
    _mm256_storeu_ps(dw + i, _mm256_fmadd_ps(_mm256_mul_ps(d0, x0), rv, _mm256_loadu_ps(dw + i)));
  }
  float dot = hsum_ps(_mm256_add_ps(a0, a1));
  for (; i < n; ++i) {
    dot += dy[i] * w[i] * x[i];
    dw[i] += dy[i] * x[i] * r;
  }
  const float k = dot * r * r * r / float(n);
  const __m256 kv = _mm256_set1_ps(k);
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(dy + i), _mm256_loadu_ps(w + i)), rv);
    _mm256_storeu_ps(dx + i, _mm256_add_ps(_mm256_loadu_ps(dx + i), _mm256_fnmadd_ps(_mm256_loadu_ps(x + i), kv, g)));
  }
  for (; i < n; ++i) dx[i] += dy[i] * w[i] * r - x[i] * k;
}

void softmax_grad_row(const float* p, float* ds, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(ds + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(p + i + 8), _mm256_loadu_ps(ds + i + 8), a1);
  }
  for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(ds + i), a0);
  float dot = hsum_ps(_mm256_add_ps(a0, a1));
  for (; i < n; ++i) dot += p[i] * ds[i];
  const __m256 dv = _mm256_set1_ps(dot);
  for (i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps(ds + i, _mm256_mul_ps(_mm256_loadu_ps(p + i), _mm256_sub_ps(_mm256_loadu_ps(ds + i), dv)));
  for (; i < n; ++i) ds[i] = p[i] * (ds[i] - dot);
}

}  // namespace flame::avx2
