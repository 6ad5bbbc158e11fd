// AVX2 kernel of Q4_K in the x8 layout (format: quant_x8_q4_k.cpp). Per super-block the 8 rows'
// integer sums live in the 8 int32 lanes of one register: each 32-byte load of levels is two
// vpmaddubsw (low and high nibbles, two sub-blocks) against broadcast groups of 4 activation bytes,
// summed in int16 over a 32-element sub-block (at most 8 * 2 * 15 * 128 = 30720, no overflow), then
// one vpmaddwd with the sub-block's scales. The float epilogue is k_block_value's, lane by lane.
#include <immintrin.h>

#include <cstring>

#include "flame/kernels/avx2_common.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_x8_detail.h"
#include "flame/kernels/quant_x8_k_layout.h"

namespace flame::quant::x8::detail {
namespace {

using namespace x8k;
using flame::avx2::load_si256;

using flame::avx2::broadcast4;
using flame::avx2::rounded;

// 8 unsigned byte scales (one per row) -> int16 pairs (s_r, s_r), so vpmaddwd of int16 pair sums
// gives s_r * (pair0 + pair1) in lane r.
inline __m256i scale_pairs(const uint8_t* p) {
  const __m256i s = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_or_si256(s, _mm256_slli_epi32(s, 16));
}

// Lane r: sum_j min[r][j] * (bsum_2j + bsum_2j+1), from the group's min pairs.
inline __m256i min_sums(const uint8_t* mins, const int16_t* bsums) {
  const __m128i ones = _mm_set1_epi16(1);
  const __m128i lo = _mm_madd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums)), ones);
  const __m128i hi = _mm_madd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums + 8)), ones);
  // int16 j = bsum_2j + bsum_2j+1 (|.| <= 4096); int32 i holds sub-blocks 2i and 2i+1.
  const __m256i sub_sums = _mm256_castsi128_si256(_mm_packs_epi32(lo, hi));
  __m256i msum = _mm256_setzero_si256();
  for (int i = 0; i < 4; ++i) {
    const __m256i pair = _mm256_permutevar8x32_epi32(sub_sums, _mm256_set1_epi32(i));
    const __m256i m = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(mins + 16 * i)));
    msum = _mm256_add_epi32(msum, _mm256_madd_epi16(m, pair));
  }
  return msum;
}

}  // namespace

void dot_q4_k_avx2(int64_t k, const uint8_t* group, const uint8_t* act, float* out) {
  const auto* y = reinterpret_cast<const BlockQ8_K*>(act);
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < k / kQK_K; ++b) {
    const uint8_t* sb = group + b * kQ4KSuperBytes;
    const int8_t* a = y[b].qs;
    __m256i isum = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const uint8_t* levels = sb + kQ4KLevels + 256 * c;
      for (int line = 0; line < 256; line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(levels + kPrefetchAhead + line), _MM_HINT_T0);
      __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int t = 0; t < 8; ++t) {
        const __m256i w = load_si256(levels + 32 * t);
        const __m256i a_lo = broadcast4(a + 64 * c + 4 * t), a_hi = broadcast4(a + 64 * c + 32 + 4 * t);
        lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(_mm256_and_si256(w, nibble), a_lo));
        hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 4), nibble), a_hi));
      }
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(lo, scale_pairs(sb + kQ4KScales + 8 * (2 * c))));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(hi, scale_pairs(sb + kQ4KScales + 8 * (2 * c + 1))));
    }
    const __m256i msum = min_sums(sb + kQ4KMins, y[b].bsums);
    // k_block_value per lane: (act_d * d) * isum - (act_d * dmin) * msum, without FMA.
    const __m256 ad = _mm256_set1_ps(y[b].d);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + kQ4KD)));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + kQ4KDmin)));
    const __m256 p = _mm256_mul_ps(_mm256_mul_ps(ad, d), _mm256_cvtepi32_ps(isum));
    const __m256 q = _mm256_mul_ps(_mm256_mul_ps(ad, dmin), _mm256_cvtepi32_ps(msum));
    acc = _mm256_add_ps(acc, _mm256_sub_ps(rounded(p), rounded(q)));
  }
  _mm256_storeu_ps(out, acc);
}

}  // namespace flame::quant::x8::detail
