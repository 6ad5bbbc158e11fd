#pragma once
// Small AVX2 helpers shared by the *_avx2.cpp kernels. Include this ONLY from files compiled with
// -mavx2 -mfma -mf16c (the *_avx2.cpp files): the inline functions use those instructions, and a
// copy emitted into a baseline translation unit could be picked by the linker on any CPU.
//
//   #include "flame/kernels/avx2_common.h"
//   float s = flame::avx2::hsum_ps(acc);            // sum of 8 floats
//   int32_t t = flame::avx2::hsum_epi32(isum);      // sum of 8 int32
#include <immintrin.h>

#include <cstdint>

namespace flame::avx2 {

// Sum of the 8 lanes: (lo + hi), then pairs, then the last two (a fixed order, so deterministic).
inline float hsum_ps(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

inline float hmax_ps(__m256 v) {
  __m128 r = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  r = _mm_max_ps(r, _mm_movehl_ps(r, r));
  r = _mm_max_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

inline int32_t hsum_epi32(__m256i v) {
  __m128i r = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  r = _mm_add_epi32(r, _mm_shuffle_epi32(r, _MM_SHUFFLE(1, 0, 3, 2)));
  r = _mm_add_epi32(r, _mm_shuffle_epi32(r, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(r);
}

// e^x for x already clamped to [-88.38, 88.38] (Cephes expf: x = k ln2 + r, degree-5 polynomial for
// e^r, times 2^k), about 2 ulp. Callers clamp, and choose how small inputs underflow.
inline __m256 exp_ps_clamped(__m256 x) {
  __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
  fx = _mm256_floor_ps(fx);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i pow2k = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(pow2k));
}

// Unaligned 32-byte load from any pointer.
inline __m256i load_si256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// 4 bytes at p (unaligned) in every 32-bit lane: the activation group a vpmaddubsw multiplies by the
// 8 interleaved weight rows of a panel or x8 group.
inline __m256i broadcast4(const void* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// F16C conversion of one fp16 value (exact, like the scalar f16_to_f32).
inline float half_to_float(uint16_t h) {
  return _cvtsh_ss(h);
}

// Hides a product from the optimizer, so it is rounded on its own and never fused into a following
// add or subtraction as an FMA (GCC contracts vector intrinsics even in ISO C++ mode): kernels that
// must repeat a scalar twin's float operations exactly wrap such products in it.
inline __m256 rounded(__m256 v) {
  asm("" : "+x"(v));
  return v;
}

}  // namespace flame::avx2
