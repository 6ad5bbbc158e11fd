#pragma once
// Small AVX2 building blocks shared by the quantized dot-product files (include only from
// *_avx2.cpp files, which CMake compiles with -mavx2 -mfma -mf16c).
//
//   __m256i q = unpack_nibbles_32(block.qs);            // 32 levels, 0..15
//   int32_t s = hsum_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(q, load_si256(act)), ones16()));
//   sum = add_exact(sum, mul_exact(mul_exact(wd, ad), static_cast<float>(s)));
#include <immintrin.h>

#include <cstdint>

#include "flame/kernels/avx2_common.h"

namespace flame::quant::avx2 {

// The generic helpers (hsum_epi32, half_to_float, load_si256) live in avx2_common.h.
using flame::avx2::half_to_float;
using flame::avx2::hsum_epi32;
using flame::avx2::load_si256;

inline __m256i ones16() {
  return _mm256_set1_epi16(1);
}

// The horizontal sums of four vectors at once: {sum(a), sum(b), sum(c), sum(d)}.
inline __m128i hsum4_epi32(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_hadd_epi32(a, b), cd = _mm256_hadd_epi32(c, d);
  const __m256i abcd = _mm256_hadd_epi32(ab, cd);
  return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

// Scalar float arithmetic through the SSE scalar builtins, which GCC never contracts into an FMA
// (plain float expressions in a file built with -mfma may be), so a float epilogue written with these
// rounds exactly like the same expression in the scalar twin's file, built without -mfma.
inline float mul_exact(float a, float b) {
  return _mm_cvtss_f32(_mm_mul_ss(_mm_set_ss(a), _mm_set_ss(b)));
}
inline float add_exact(float a, float b) {
  return _mm_cvtss_f32(_mm_add_ss(_mm_set_ss(a), _mm_set_ss(b)));
}
inline float sub_exact(float a, float b) {
  return _mm_cvtss_f32(_mm_sub_ss(_mm_set_ss(a), _mm_set_ss(b)));
}

// Twin of k_block_value (quant_dot.cpp): act_d*d*isum - act_d*dmin*msum with the same roundings.
inline float k_block_value_exact(float act_d, float d, float dmin, int32_t isum, int32_t msum) {
  const float p = mul_exact(mul_exact(act_d, d), static_cast<float>(isum));
  const float q = mul_exact(mul_exact(act_d, dmin), static_cast<float>(msum));
  return sub_exact(p, q);
}

// 32 nibbles -> 32 bytes: low nibbles of the 16 bytes first, then their high nibbles (the order of
// the 32-element types: element j in the low nibble of qs[j], element j+16 in its high nibble).
inline __m256i unpack_nibbles_32(const uint8_t* p) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// 32 bits (little-endian) -> 32 bytes, byte j = 0xFF where bit j is set, else 0.
inline __m256i bits_to_bytes_32(const uint8_t* p) {
  uint32_t bits;
  __builtin_memcpy(&bits, p, 4);
  // Byte j takes source byte j / 8, then tests its bit j % 8.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int32_t>(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

}  // namespace flame::quant::avx2
