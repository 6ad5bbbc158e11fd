// AVX2 kernel of Q6_K in the x8 layout (format: quant_x8_q6_k.cpp). Per 16-element sub-block, two
// loads of low nibbles and one of high 2-bit fields become 4 vectors of unsigned levels (0..63), 4
// consecutive elements of each of the 8 rows; vpmaddubsw against broadcast groups of 4 activation
// bytes gives int16 pair sums (two steps summed: at most 2 * 2 * 63 * 128 = 32256, no overflow),
// vpmaddwd applies the rows' scales, and the -32 of every level comes off through the activation
// sums (bsums) once per super-block. The 8 rows' sums sit in the 8 lanes of one register; the float
// epilogue is k_block_value's (dmin 0), lane by lane.
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

// Lane r: sum over the 16 int16 pair sums of sub-block j's 4 steps, times scale_j of row r.
inline __m256i sub_block_sum(const uint8_t* sb, int j, const int8_t* a, __m256i scale) {
  const __m256i nibble = _mm256_set1_epi8(0x0F), top2 = _mm256_set1_epi8(0x30);
  const __m256i ql0 = load_si256(sb + kQ6KLevels + kQ6KSubBytes * j),
                ql1 = load_si256(sb + kQ6KLevels + kQ6KSubBytes * j + 32);
  const __m256i qh = load_si256(sb + kQ6KLevels + kQ6KSubBytes * j + kQ6KHighInSub);
  const __m256i v0 = _mm256_or_si256(_mm256_and_si256(ql0, nibble), _mm256_and_si256(_mm256_slli_epi16(qh, 4), top2));
  const __m256i v1 = _mm256_or_si256(_mm256_and_si256(ql1, nibble), _mm256_and_si256(_mm256_slli_epi16(qh, 2), top2));
  const __m256i v2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), nibble), _mm256_and_si256(qh, top2));
  const __m256i v3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), nibble),
                                     _mm256_and_si256(_mm256_srli_epi16(qh, 2), top2));
  const int8_t* aj = a + 16 * j;
  const __m256i s01 =
      _mm256_add_epi16(_mm256_maddubs_epi16(v0, broadcast4(aj)), _mm256_maddubs_epi16(v1, broadcast4(aj + 4)));
  const __m256i s23 =
      _mm256_add_epi16(_mm256_maddubs_epi16(v2, broadcast4(aj + 8)), _mm256_maddubs_epi16(v3, broadcast4(aj + 12)));
  return _mm256_add_epi32(_mm256_madd_epi16(s01, scale), _mm256_madd_epi16(s23, scale));
}

}  // namespace

void dot_q6_k_avx2(int64_t k, const uint8_t* group, const uint8_t* act, float* out) {
  const auto* y = reinterpret_cast<const BlockQ8_K*>(act);
  // Byte shuffles that spread int16 element 2r (even) or 2r+1 (odd) over both int16 of pair r.
  const __m256i even = _mm256_set_epi64x(0x0D0C0D0C09080908LL, 0x0504050401000100LL, 0x0D0C0D0C09080908LL,
                                         0x0504050401000100LL),
                odd = _mm256_set_epi64x(0x0F0E0F0E0B0A0B0ALL, 0x0706070603020302LL, 0x0F0E0F0E0B0A0B0ALL,
                                        0x0706070603020302LL);
  const __m256 zero = _mm256_setzero_ps();
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < k / kQK_K; ++b) {
    const uint8_t* sb = group + b * kQ6KSuperBytes;
    const int8_t* a = y[b].qs;
    __m256i isum = _mm256_setzero_si256(), offset = _mm256_setzero_si256();
    for (int i = 0; i < 8; ++i) {
      const uint8_t* ahead = sb + kQ6KLevels + 2 * kQ6KSubBytes * i + kPrefetchAhead;
      for (int line = 0; line < 192; line += 64) _mm_prefetch(reinterpret_cast<const char*>(ahead + line), _MM_HINT_T0);
      // int16 pair r = (scale 2i, scale 2i+1) of row r.
      const __m256i scales =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + kQ6KScales + 16 * i)));
      offset = _mm256_add_epi32(offset, _mm256_madd_epi16(scales, broadcast4(y[b].bsums + 2 * i)));
      isum = _mm256_add_epi32(isum, sub_block_sum(sb, 2 * i, a, _mm256_shuffle_epi8(scales, even)));
      isum = _mm256_add_epi32(isum, sub_block_sum(sb, 2 * i + 1, a, _mm256_shuffle_epi8(scales, odd)));
    }
    isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(offset, 5));
    // k_block_value(act_d, d, 0, isum, 0) per lane, the same float operations in the same order.
    const __m256 ad = _mm256_set1_ps(y[b].d);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + kQ6KD)));
    const __m256 p = _mm256_mul_ps(_mm256_mul_ps(ad, d), _mm256_cvtepi32_ps(isum));
    const __m256 q = _mm256_mul_ps(_mm256_mul_ps(ad, zero), zero);
    acc = _mm256_add_ps(acc, _mm256_sub_ps(rounded(p), rounded(q)));
  }
  _mm256_storeu_ps(out, acc);
}

}  // namespace flame::quant::x8::detail
