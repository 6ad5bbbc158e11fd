// AVX2/FMA/F16C twins of the matmul row kernels (compiled with -mavx2 -mfma -mf16c).
#include <immintrin.h>

#include "flame/core/half.h"
#include "flame/kernels/matmul_detail.h"

namespace flame::detail {
namespace {

inline __m256 load8(const float* p) {
  return _mm256_loadu_ps(p);
}
inline __m256 load8(const uint16_t* p, DType type) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if (type == DType::F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

inline float hsum(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

inline float to_f32(const uint16_t v, DType type) {
  return type == DType::F16 ? f16_to_f32(v) : bf16_to_f32(v);
}

// One weight row against up to kMaxM input rows at once, so the row is read from memory once.
constexpr int kMaxM = 4;

// x holds M rows `ldx` floats apart; dots their first `k` (a multiple of 8) elements with the row.
template <int M, class Load>
void dot_rows(const float* x, int64_t ldx, int64_t k, Load load_w, float (&out)[kMaxM]) {
  __m256 acc0[M], acc1[M];
  for (int i = 0; i < M; ++i) acc0[i] = acc1[i] = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= k; j += 16) {
    const __m256 w0 = load_w(j), w1 = load_w(j + 8);
    for (int i = 0; i < M; ++i) {
      acc0[i] = _mm256_fmadd_ps(w0, load8(x + i * ldx + j), acc0[i]);
      acc1[i] = _mm256_fmadd_ps(w1, load8(x + i * ldx + j + 8), acc1[i]);
    }
  }
  for (; j + 8 <= k; j += 8) {
    const __m256 w0 = load_w(j);
    for (int i = 0; i < M; ++i) acc0[i] = _mm256_fmadd_ps(w0, load8(x + i * ldx + j), acc0[i]);
  }
  for (int i = 0; i < M; ++i) out[i] = hsum(_mm256_add_ps(acc0[i], acc1[i]));
}

template <int M>
void gemv_block(DType type, const void* weights, size_t row_stride, const float* x, float* y, int64_t k, int64_t ldy,
                int64_t row_begin, int64_t row_end) {
  const int64_t k8 = k / 8 * 8;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const auto* row = static_cast<const uint8_t*>(weights) + static_cast<size_t>(r) * row_stride;
    float out[kMaxM] = {};
    if (type == DType::F32) {
      const float* w = reinterpret_cast<const float*>(row);
      dot_rows<M>(
          x, k, k8, [w](int64_t j) { return load8(w + j); }, out);
      for (int i = 0; i < M; ++i)
        for (int64_t j = k8; j < k; ++j) out[i] += w[j] * x[i * k + j];
    } else {
      const uint16_t* w = reinterpret_cast<const uint16_t*>(row);
      dot_rows<M>(
          x, k, k8, [w, type](int64_t j) { return load8(w + j, type); }, out);
      for (int i = 0; i < M; ++i)
        for (int64_t j = k8; j < k; ++j) out[i] += to_f32(w[j], type) * x[i * k + j];
    }
    for (int i = 0; i < M; ++i) y[i * ldy + r] = out[i];
  }
}

}  // namespace

void gemv_rows_avx2(DType type, const void* weights, size_t row_stride, const float* x, float* y, int64_t m, int64_t k,
                    int64_t ldy, int64_t row_begin, int64_t row_end) {
  for (int64_t i0 = 0; i0 < m; i0 += kMaxM) {
    const int64_t mi = m - i0 < kMaxM ? m - i0 : kMaxM;
    const float* xi = x + i0 * k;
    float* yi = y + i0 * ldy;
    switch (mi) {
      case 1:
        gemv_block<1>(type, weights, row_stride, xi, yi, k, ldy, row_begin, row_end);
        break;
      case 2:
        gemv_block<2>(type, weights, row_stride, xi, yi, k, ldy, row_begin, row_end);
        break;
      case 3:
        gemv_block<3>(type, weights, row_stride, xi, yi, k, ldy, row_begin, row_end);
        break;
      default:
        gemv_block<4>(type, weights, row_stride, xi, yi, k, ldy, row_begin, row_end);
        break;
    }
  }
}

void rows_to_f32_avx2(DType type, const void* weights, size_t row_stride, float* dst, int64_t rows, int64_t k) {
  for (int64_t r = 0; r < rows; ++r) {
    const auto* row = static_cast<const uint8_t*>(weights) + static_cast<size_t>(r) * row_stride;
    float* d = dst + r * k;
    if (type == DType::F32) {
      const float* w = reinterpret_cast<const float*>(row);
      for (int64_t j = 0; j < k; ++j) d[j] = w[j];
      continue;
    }
    const uint16_t* w = reinterpret_cast<const uint16_t*>(row);
    int64_t j = 0;
    for (; j + 8 <= k; j += 8) _mm256_storeu_ps(d + j, load8(w + j, type));
    for (; j < k; ++j) d[j] = to_f32(w[j], type);
  }
}

}  // namespace flame::detail
