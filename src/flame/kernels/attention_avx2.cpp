// AVX2/FMA/F16C twins of the attention vector helpers and tile kernels.
#include <immintrin.h>

#include <cmath>

#include "flame/core/half.h"
#include "flame/kernels/attention.h"
#include "flame/kernels/avx2_common.h"

namespace flame::detail {

namespace {

using avx2::hsum_ps;

// exp(x) for x in [-87, 88] (Cephes expf: range reduction by ln 2, degree-5 polynomial), about
// 2 ulp; smaller x gives 0 as the softmax wants.
__m256 exp_ps(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.0f);
  const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(88.3762626647949f));
  return _mm256_andnot_ps(underflow, avx2::exp_ps_clamped(x));
}

// 4 keys against one query row: the four sums of 8-lane products, reduced into one __m128.
__m128 reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

// Four keys' sums of one query row, plus the tail of head_dim past hd8, reduced into one __m128.
inline __m128 finish4(__m256 a0, __m256 a1, __m256 a2, __m256 a3, const float* qr, const float* k0, int64_t k_stride,
                      int64_t hd8, int64_t hd) {
  __m128 res = reduce4(a0, a1, a2, a3);
  if (hd8 < hd) {
    alignas(16) float tail[4] = {0, 0, 0, 0};
    for (int64_t d = hd8; d < hd; ++d)
      for (int i = 0; i < 4; ++i) tail[i] += qr[d] * k0[i * k_stride + d];
    res = _mm_add_ps(res, _mm_load_ps(tail));
  }
  return res;
}

// Two query rows at a time against 4 keys: 8 independent accumulator chains (4 would leave the FMA
// units waiting on latency), and each key vector is loaded once for both rows. Every (row, key)
// sum still runs over head_dim in the same order, so results do not change with the pairing.
void score_tile_avx2(const float* q, int64_t rows, const float* keys, int64_t n_keys, int64_t k_stride, int64_t hd,
                     float* s, int64_t ld) {
  const int64_t hd8 = hd / 8 * 8;
  int64_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    const float *q0 = q + r * hd, *q1 = q0 + hd;
    float *s0 = s + r * ld, *s1 = s0 + ld;
    int64_t j = 0;
    for (; j + 4 <= n_keys; j += 4) {
      const float *k0 = keys + j * k_stride, *k1 = k0 + k_stride, *k2 = k1 + k_stride, *k3 = k2 + k_stride;
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
      for (int64_t d = 0; d < hd8; d += 8) {
        const __m256 qa = _mm256_loadu_ps(q0 + d), qb = _mm256_loadu_ps(q1 + d);
        const __m256 v0 = _mm256_loadu_ps(k0 + d), v1 = _mm256_loadu_ps(k1 + d);
        const __m256 v2 = _mm256_loadu_ps(k2 + d), v3 = _mm256_loadu_ps(k3 + d);
        a0 = _mm256_fmadd_ps(qa, v0, a0);
        a1 = _mm256_fmadd_ps(qa, v1, a1);
        a2 = _mm256_fmadd_ps(qa, v2, a2);
        a3 = _mm256_fmadd_ps(qa, v3, a3);
        b0 = _mm256_fmadd_ps(qb, v0, b0);
        b1 = _mm256_fmadd_ps(qb, v1, b1);
        b2 = _mm256_fmadd_ps(qb, v2, b2);
        b3 = _mm256_fmadd_ps(qb, v3, b3);
      }
      _mm_storeu_ps(s0 + j, finish4(a0, a1, a2, a3, q0, k0, k_stride, hd8, hd));
      _mm_storeu_ps(s1 + j, finish4(b0, b1, b2, b3, q1, k0, k_stride, hd8, hd));
    }
    for (; j < n_keys; ++j) {
      s0[j] = dot_avx2(q0, keys + j * k_stride, hd);
      s1[j] = dot_avx2(q1, keys + j * k_stride, hd);
    }
  }
  for (; r < rows; ++r) {
    const float* qr = q + r * hd;
    float* sr = s + r * ld;
    int64_t j = 0;
    for (; j + 4 <= n_keys; j += 4) {
      const float *k0 = keys + j * k_stride, *k1 = k0 + k_stride, *k2 = k1 + k_stride, *k3 = k2 + k_stride;
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t d = 0; d < hd8; d += 8) {
        const __m256 qv = _mm256_loadu_ps(qr + d);
        a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + d), a0);
        a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k1 + d), a1);
        a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k2 + d), a2);
        a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k3 + d), a3);
      }
      _mm_storeu_ps(sr + j, finish4(a0, a1, a2, a3, qr, k0, k_stride, hd8, hd));
    }
    for (; j < n_keys; ++j) sr[j] = dot_avx2(qr, keys + j * k_stride, hd);
  }
}

float exp_shift_sum_avx2(float* x, int64_t n, float shift) {
  const __m256 sh = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh));
    _mm256_storeu_ps(x + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = hsum_ps(acc);
  if (i < n) {
    alignas(32) float tail[8];
    for (int64_t k = 0; k < 8; ++k) tail[k] = i + k < n ? x[i + k] - shift : -100.0f;
    _mm256_store_ps(tail, exp_ps(_mm256_load_ps(tail)));
    for (int64_t k = 0; i + k < n; ++k) sum += (x[i + k] = tail[k]);
  }
  return sum;
}

void pv_tile_avx2(const float* p, int64_t rows, int64_t ld, const float* values, int64_t n_keys, int64_t v_stride,
                  int64_t hd, float* o) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* pr = p + r * ld;
    float* orow = o + r * hd;
    int64_t d = 0;
    for (; d + 64 <= hd; d += 64) {  // 64 outputs in registers: 8 independent FMA chains per key
      __m256 a[8];
      for (int i = 0; i < 8; ++i) a[i] = _mm256_loadu_ps(orow + d + 8 * i);
      for (int64_t j = 0; j < n_keys; ++j) {
        const __m256 w = _mm256_broadcast_ss(pr + j);
        const float* v = values + j * v_stride + d;
        for (int i = 0; i < 8; ++i) a[i] = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + 8 * i), a[i]);
      }
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(orow + d + 8 * i, a[i]);
    }
    for (; d + 32 <= hd; d += 32) {  // 32 outputs held in registers across all keys
      __m256 a0 = _mm256_loadu_ps(orow + d), a1 = _mm256_loadu_ps(orow + d + 8);
      __m256 a2 = _mm256_loadu_ps(orow + d + 16), a3 = _mm256_loadu_ps(orow + d + 24);
      for (int64_t j = 0; j < n_keys; ++j) {
        const __m256 w = _mm256_broadcast_ss(pr + j);
        const float* v = values + j * v_stride + d;
        a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(v), a0);
        a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + 8), a1);
        a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + 16), a2);
        a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + 24), a3);
      }
      _mm256_storeu_ps(orow + d, a0);
      _mm256_storeu_ps(orow + d + 8, a1);
      _mm256_storeu_ps(orow + d + 16, a2);
      _mm256_storeu_ps(orow + d + 24, a3);
    }
    for (; d + 8 <= hd; d += 8) {
      __m256 a = _mm256_loadu_ps(orow + d);
      for (int64_t j = 0; j < n_keys; ++j)
        a = _mm256_fmadd_ps(_mm256_broadcast_ss(pr + j), _mm256_loadu_ps(values + j * v_stride + d), a);
      _mm256_storeu_ps(orow + d, a);
    }
    for (; d < hd; ++d) {
      float a = orow[d];
      for (int64_t j = 0; j < n_keys; ++j) a += pr[j] * values[j * v_stride + d];
      orow[d] = a;
    }
  }
}

void f16_rows_to_f32_avx2(const uint16_t* src, int64_t rows, int64_t src_stride, int64_t cols, float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t* s = src + r * src_stride;
    float* d = dst + r * cols;
    int64_t c = 0;
    for (; c + 8 <= cols; c += 8)
      _mm256_storeu_ps(d + c, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + c))));
    for (; c < cols; ++c) d[c] = f16_to_f32(s[c]);
  }
}

void f32_to_f16_avx2(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

}  // namespace

float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float sum = hsum_ps(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy_avx2(float alpha, const float* x, float* y, int64_t n) {
  const __m256 a = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += alpha * x[i];
}

const AttentionKernels& attention_kernels_avx2() {
  static const AttentionKernels k{score_tile_avx2, exp_shift_sum_avx2, pv_tile_avx2, f16_rows_to_f32_avx2,
                                  f32_to_f16_avx2};
  return k;
}

}  // namespace flame::detail
