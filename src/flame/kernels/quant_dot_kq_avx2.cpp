// AVX2 dot products of the 2- and 3-bit k-quants (Q2_K, Q3_K) with Q8_K activation blocks. Each
// super-block's integer sums equal the scalar twin's (quant_dot.cpp) and go through the same float
// epilogue (k_block_value), so results are bit-identical to the scalar path.
#include <immintrin.h>

#include "flame/kernels/quant_avx2_common.h"
#include "flame/kernels/quant_blocks.h"

namespace flame::quant {
namespace {

using namespace avx2;

// One 32-element run covers two 16-element sub-blocks: run r (0..3) of half h uses scale 8h+2r for
// its first 8 int16 pair sums (low 128-bit lane) and 8h+2r+1 for the rest. `scales16` holds the 8
// int16 scales of half h in both 128-bit lanes; one byte shuffle broadcasts the two the run needs.
inline __m256i run_scales(__m256i scales16, int r) {
  const __m128i lo = _mm_set1_epi16(static_cast<int16_t>((4 * r) | ((4 * r + 1) << 8)));
  const __m128i hi = _mm_set1_epi16(static_cast<int16_t>((4 * r + 2) | ((4 * r + 3) << 8)));
  return _mm256_shuffle_epi8(scales16, _mm256_set_m128i(hi, lo));
}

// Q3_K's 16 signed 6-bit scales (minus 32) as int8, unpacked in registers (the scalar
// unpack_scales_q3_k's byte stores followed by a vector load would stall store forwarding): bytes
// 0..7 hold the low nibbles of scales 0..7 and, in their high nibbles, of 8..15; bytes 8..11 hold
// the top 2 bits, scale j in bits 2(j/4) of byte 8 + j%4.
inline __m128i q3_k_scales(const uint8_t* packed) {
  uint32_t a[3];
  __builtin_memcpy(a, packed, 12);
  const uint32_t nib = 0x0F0F0F0F, two = 0x03030303;
  const __m128i s = _mm_setr_epi32(static_cast<int32_t>((a[0] & nib) | ((a[2] & two) << 4)),
                                   static_cast<int32_t>((a[1] & nib) | (((a[2] >> 2) & two) << 4)),
                                   static_cast<int32_t>(((a[0] >> 4) & nib) | (((a[2] >> 4) & two) << 4)),
                                   static_cast<int32_t>(((a[1] >> 4) & nib) | (((a[2] >> 6) & two) << 4)));
  return _mm_sub_epi8(s, _mm_set1_epi8(32));
}

// The 16 int16 scales as two vectors, scales 0..7 (half 0) and 8..15 (half 1), each in both lanes.
inline void split_halves(__m256i all16, __m256i& half0, __m256i& half1) {
  half0 = _mm256_permute2x128_si256(all16, all16, 0x00);
  half1 = _mm256_permute2x128_si256(all16, all16, 0x11);
}

}  // namespace

// Element i = 128h + 32run + p has 2-bit level (qs[32h + p] >> 2run) & 3 and sub-block i / 16, whose
// scale byte holds the scale (low nibble) and min (high nibble).
float dot_q2_k_avx2(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ2_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m128i low_nibble = _mm_set1_epi8(0x0F);
  const __m256i two_bits = _mm256_set1_epi8(0x03);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].scales));
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low_nibble));
    const int32_t msum = hsum_epi32(_mm256_madd_epi16(load_si256(y[b].bsums), mins));
    __m256i halves[2];
    split_halves(_mm256_cvtepu8_epi16(_mm_and_si128(packed, low_nibble)), halves[0], halves[1]);
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i bits = load_si256(x[b].qs + 32 * h);
      for (int run = 0; run < 4; ++run) {
        const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * run), two_bits);
        const __m256i pairs = _mm256_maddubs_epi16(q, load_si256(y[b].qs + 128 * h + 32 * run));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(pairs, run_scales(halves[h], run)));
      }
    }
    sum += k_block_value_exact(y[b].d, half_to_float(x[b].d), half_to_float(x[b].dmin), hsum_epi32(sumi), msum);
  }
  return sum;
}

// Level of element i = 128h + 32run + p: (qs[32h + p] >> 2run) & 3, minus 4 unless bit 4h+run of
// hmask[p] is set; computed as the unsigned (low | high << 2) with the -4 taken off the pair sums
// as maddubs(4, y), so no activation sums (bsums) are needed.
float dot_q3_k_avx2(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ3_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m256i two_bits = _mm256_set1_epi8(0x03), one = _mm256_set1_epi8(0x01), four = _mm256_set1_epi8(4);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    __m256i halves[2];
    split_halves(_mm256_cvtepi8_epi16(q3_k_scales(x[b].scales)), halves[0], halves[1]);
    const __m256i hmask = load_si256(x[b].hmask);
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i bits = load_si256(x[b].qs + 32 * h);
      for (int run = 0; run < 4; ++run) {
        const __m256i low = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * run), two_bits);
        const __m256i high = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hmask, 4 * h + run), one), 2);
        const __m256i qy = load_si256(y[b].qs + 128 * h + 32 * run);
        const __m256i pairs =
            _mm256_sub_epi16(_mm256_maddubs_epi16(_mm256_or_si256(low, high), qy), _mm256_maddubs_epi16(four, qy));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(pairs, run_scales(halves[h], run)));
      }
    }
    sum += k_block_value_exact(y[b].d, half_to_float(x[b].d), 0.0f, hsum_epi32(sumi), 0);
  }
  return sum;
}

}  // namespace flame::quant
