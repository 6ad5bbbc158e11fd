// AVX2 twin of dot_q8_0_scalar (format in quant_x8_q8_0.cpp). Each 32-byte chunk of levels meets a
// broadcast group of 4 activation bytes in one vpmaddubsw: the weight's magnitude is the unsigned
// side and its sign moves onto the activation (|w| <= 128 and |y| <= 127, so a pair sum is at most
// 2 * 128 * 127 = 32512 and cannot saturate; activations from quantize_q8_0 never hold -128, the
// one value whose sign cannot be flipped). Pair sums go to int32 per chunk (two chunks could
// overflow int16). Integer sums equal the scalar twin's and the float step per lane is the same
// multiply then fma, so results are bit-identical.
#include <immintrin.h>

#include "flame/kernels/quant_avx2_common.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_x8_detail.h"
#include "flame/kernels/quant_x8_legacy_layout.h"

namespace flame::quant::x8::detail {
namespace {

using quant::avx2::half_to_float;
using quant::avx2::load_si256;
using quant::avx2::ones16;

constexpr size_t kBlockGroup = legacy_x8::block_group_bytes<kQK>();

using flame::avx2::broadcast4;

}  // namespace

void dot_q8_0_avx2(int64_t k, const uint8_t* group, const uint8_t* act, float* out) {
  const auto* y = reinterpret_cast<const BlockQ8_0*>(act);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < k / kQK; ++b) {
    const uint8_t* blk = group + b * kBlockGroup;
    const int8_t* yq = y[b].qs;
    __m256i isum = _mm256_setzero_si256();
    for (int c = 0; c < 8; ++c) {
      const __m256i w = load_si256(blk + legacy_x8::kScaleBytes + 32 * c);
      const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(broadcast4(yq + 4 * c), w));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(pairs, ones16()));
    }
    const __m256 scale = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk))),
                                       _mm256_set1_ps(half_to_float(y[b].d)));
    acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(isum), acc);
  }
  _mm256_storeu_ps(out, acc);
}

}  // namespace flame::quant::x8::detail
