// AVX2 dot products of the 2- and 3-bit k-quants (Q2_K, Q3_K) with Q8_K activation blocks. Each
// super-block's integer sums equal the scalar twin's (quant_dot.cpp) and go through the same float
// epilogue (k_block_value), so results are bit-identical to the scalar path.
#include <immintrin.h>

#include "flame/kernels/quant_avx2_common.h"
#include "flame/kernels/quant_blocks.h"

namespace flame::quant {
namespace {

using namespace avx2;

// One 32-element run covers two 16-element sub-blocks: scale `lo` for its first 8 int16 pair
// sums (low 128-bit lane), `hi` for the rest.
inline __m256i scaled_pairs(__m256i pairs, int16_t lo, int16_t hi) {
  return _mm256_madd_epi16(pairs, _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo)));
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
    const int32_t msum = hsum_epi32(_mm256_madd_epi16(load32(y[b].bsums), mins));
    alignas(16) uint8_t sc[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(sc), _mm_and_si128(packed, low_nibble));
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i bits = load32(x[b].qs + 32 * h);
      for (int run = 0; run < 4; ++run) {
        const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * run), two_bits);
        const __m256i pairs = _mm256_maddubs_epi16(q, load32(y[b].qs + 128 * h + 32 * run));
        const int s = 8 * h + 2 * run;
        sumi = _mm256_add_epi32(sumi, scaled_pairs(pairs, sc[s], sc[s + 1]));
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
  int8_t sc[16];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    unpack_scales_q3_k(x[b].scales, sc);
    const __m256i hmask = load32(x[b].hmask);
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i bits = load32(x[b].qs + 32 * h);
      for (int run = 0; run < 4; ++run) {
        const __m256i low = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * run), two_bits);
        const __m256i high = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hmask, 4 * h + run), one), 2);
        const __m256i qy = load32(y[b].qs + 128 * h + 32 * run);
        const __m256i pairs =
            _mm256_sub_epi16(_mm256_maddubs_epi16(_mm256_or_si256(low, high), qy), _mm256_maddubs_epi16(four, qy));
        const int s = 8 * h + 2 * run;
        sumi = _mm256_add_epi32(sumi, scaled_pairs(pairs, sc[s], sc[s + 1]));
      }
    }
    sum += k_block_value_exact(y[b].d, half_to_float(x[b].d), 0.0f, hsum_epi32(sumi), 0);
  }
  return sum;
}

}  // namespace flame::quant
