// AVX2 twins of the activation quantizers quantize_q8_0 (quant_legacy.cpp) and quantize_q8_k
// (quant_k_symmetric.cpp), bit-identical to them: the same float operations per element, and the
// scalar rounding rules reproduced exactly (lround: half away from zero; nearest_int: add +-0.5,
// truncate). Decode quantizes one activation row per product on the calling thread while the
// other threads wait, so this serial step is worth vectorizing.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "flame/core/half.h"
#include "flame/kernels/avx2_common.h"
#include "flame/kernels/quant_blocks.h"

namespace flame::quant {
namespace {

inline __m256 abs_ps(__m256 v) {
  return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

// std::lround for |v| < 2^23: truncate, then step away from zero when the dropped part is >= 0.5.
inline __m256i lround_ps(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 up = _mm256_cmp_ps(abs_ps(_mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  const __m256 step = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(v, _mm256_set1_ps(-0.0f)));
  return _mm256_cvtps_epi32(_mm256_add_ps(t, _mm256_and_ps(up, step)));
}

// nearest_int (quant_search.h): (int)(v >= 0 ? v + 0.5f : v - 0.5f).
inline __m256i nearest_int_ps(__m256 v) {
  const __m256 ge0 = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GE_OQ);
  const __m256 half = _mm256_blendv_ps(_mm256_set1_ps(-0.5f), _mm256_set1_ps(0.5f), ge0);
  return _mm256_cvttps_epi32(_mm256_add_ps(v, half));
}

// 32 int32 (4 vectors) -> 32 int8 in order (values already within int8).
inline __m256i pack_32(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  const __m256i bytes = _mm256_packs_epi16(ab, cd);
  return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

}  // namespace

void quantize_q8_0_avx2(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(x + 8 * i);
      amax = _mm256_max_ps(amax, abs_ps(v[i]));
    }
    const float d = avx2::hmax_ps(amax) / 127.0f;
    const float inv = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    const __m256 vinv = _mm256_set1_ps(inv);
    __m256i q[4];
    for (int i = 0; i < 4; ++i) q[i] = lround_ps(_mm256_mul_ps(v[i], vinv));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), pack_32(q[0], q[1], q[2], q[3]));
  }
}

void quantize_q8_k_avx2(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(dst);
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    __m256 amax8 = _mm256_setzero_ps();
    for (int i = 0; i < kQK_K; i += 8) amax8 = _mm256_max_ps(amax8, abs_ps(_mm256_loadu_ps(x + i)));
    const float amax = avx2::hmax_ps(amax8);
    if (amax == 0.0f) {
      std::memset(&y[b], 0, sizeof y[b]);
      continue;
    }
    // The scalar loop keeps the FIRST element of largest magnitude (its sign matters).
    int first = 0;
    while (std::fabs(x[first]) != amax) ++first;
    const float inv = -127.0f / x[first];
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256i max127 = _mm256_set1_epi32(127);
    for (int g = 0; g < kQK_K; g += 32) {
      __m256i q[4];
      for (int i = 0; i < 4; ++i)
        q[i] = _mm256_min_epi32(max127, nearest_int_ps(_mm256_mul_ps(vinv, _mm256_loadu_ps(x + g + 8 * i))));
      const __m256i bytes = pack_32(q[0], q[1], q[2], q[3]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs + g), bytes);
    }
    // bsums: sums of 16 consecutive int8 (exact in int16).
    for (int j = 0; j < 16; j += 2) {
      const __m256i q16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y[b].qs + 16 * j)));
      const __m256i q16b =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y[b].qs + 16 * j + 16)));
      const int32_t s0 = avx2::hsum_epi32(_mm256_madd_epi16(q16, _mm256_set1_epi16(1)));
      const int32_t s1 = avx2::hsum_epi32(_mm256_madd_epi16(q16b, _mm256_set1_epi16(1)));
      y[b].bsums[j] = static_cast<int16_t>(s0);
      y[b].bsums[j + 1] = static_cast<int16_t>(s1);
    }
    y[b].d = 1.0f / inv;
  }
}

}  // namespace flame::quant
