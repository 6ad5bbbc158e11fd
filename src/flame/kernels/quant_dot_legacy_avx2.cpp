// AVX2 dot products of the 32-element types Q4_1, Q5_0 and Q5_1 with Q8_0 activation blocks.
// Each block's integer sums are computed with vpmaddubsw exactly as the scalar twin (quant_dot.cpp)
// sums them, and the per-block float epilogue repeats the twin's operations in the same order
// without FMA contraction, so results are bit-identical to the scalar path.
#include <immintrin.h>

#include "flame/kernels/quant_avx2_common.h"
#include "flame/kernels/quant_blocks.h"

namespace flame::quant {
namespace {

using namespace avx2;

// The 32 unsigned levels (0..31) of one weight block, element j in byte j.
inline __m256i levels(const BlockQ4_1& b) {
  return unpack_nibbles_32(b.qs);
}
template <class Block>
inline __m256i five_bit_levels(const Block& b) {
  const __m256i high = _mm256_and_si256(bits_to_bytes_32(b.qh), _mm256_set1_epi8(0x10));
  return _mm256_or_si256(unpack_nibbles_32(b.qs), high);
}
inline __m256i levels(const BlockQ5_0& b) {
  return five_bit_levels(b);
}
inline __m256i levels(const BlockQ5_1& b) {
  return five_bit_levels(b);
}

// Per-type shape of the block value: x = d * (q - kOffset) [+ m].
template <class Block>
struct Format;
template <>
struct Format<BlockQ4_1> {
  static constexpr int kOffset = 0;
  static constexpr bool kHasMin = true;
};
template <>
struct Format<BlockQ5_0> {
  static constexpr int kOffset = 16;
  static constexpr bool kHasMin = false;
};
template <>
struct Format<BlockQ5_1> {
  static constexpr int kOffset = 0;
  static constexpr bool kHasMin = true;
};

// 8 int32 partial sums of sum_j (q_j - kOffset) * y_j; the offset is taken off the 16-bit pair sums
// as maddubs(kOffset, y) (no int16 overflow: |pairs| <= 2*31*128 + 2*16*128).
template <class Block>
inline __m256i level_dot(const Block& x, const __m256i qy) {
  __m256i pairs = _mm256_maddubs_epi16(levels(x), qy);
  if constexpr (Format<Block>::kOffset != 0)
    pairs = _mm256_sub_epi16(pairs, _mm256_maddubs_epi16(_mm256_set1_epi8(Format<Block>::kOffset), qy));
  return _mm256_madd_epi16(pairs, ones16());
}

// 8 int32 partial sums of the activation values (the min term's factor).
inline __m256i activation_sum(const __m256i qy) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), qy), ones16());
}

// The scalar twin's per-block float operations, in its order:
//   sum += d * da * isum                      (no min)
//   sum += d * da * isum + m * da * asum      (with min)
template <class Block>
inline float add_block(float sum, const Block& x, const BlockQ8_0& y, int32_t isum, int32_t asum) {
  const float da = half_to_float(y.d);
  const float p = mul_exact(mul_exact(half_to_float(x.d), da), static_cast<float>(isum));
  if constexpr (Format<Block>::kHasMin) {
    const float q = mul_exact(mul_exact(half_to_float(x.m), da), static_cast<float>(asum));
    return add_exact(sum, add_exact(p, q));
  } else {
    (void)asum;
    return add_exact(sum, p);
  }
}

// Four blocks per iteration so that one horizontal reduction serves four blocks; the float
// accumulation stays sequential in block order like the scalar twin's.
template <class Block>
float dot_legacy(int64_t n, const Block* x, const BlockQ8_0* y) {
  constexpr bool kHasMin = Format<Block>::kHasMin;
  const int64_t blocks = n / kQK;
  float sum = 0;
  int64_t b = 0;
  for (; b + 4 <= blocks; b += 4) {
    __m256i isum[4], asum[4];
    for (int i = 0; i < 4; ++i) {
      const __m256i qy = load32(y[b + i].qs);
      isum[i] = level_dot(x[b + i], qy);
      if constexpr (kHasMin) asum[i] = activation_sum(qy);
    }
    alignas(16) int32_t is[4], as[4] = {0, 0, 0, 0};
    _mm_store_si128(reinterpret_cast<__m128i*>(is), hsum4_epi32(isum[0], isum[1], isum[2], isum[3]));
    if constexpr (kHasMin)
      _mm_store_si128(reinterpret_cast<__m128i*>(as), hsum4_epi32(asum[0], asum[1], asum[2], asum[3]));
    for (int i = 0; i < 4; ++i) sum = add_block(sum, x[b + i], y[b + i], is[i], as[i]);
  }
  for (; b < blocks; ++b) {
    const __m256i qy = load32(y[b].qs);
    const int32_t is = hsum_epi32(level_dot(x[b], qy));
    const int32_t as = kHasMin ? hsum_epi32(activation_sum(qy)) : 0;
    sum = add_block(sum, x[b], y[b], is, as);
  }
  return sum;
}

}  // namespace

float dot_q4_1_avx2(int64_t n, const void* w, const void* a) {
  return dot_legacy(n, static_cast<const BlockQ4_1*>(w), static_cast<const BlockQ8_0*>(a));
}

float dot_q5_0_avx2(int64_t n, const void* w, const void* a) {
  return dot_legacy(n, static_cast<const BlockQ5_0*>(w), static_cast<const BlockQ8_0*>(a));
}

float dot_q5_1_avx2(int64_t n, const void* w, const void* a) {
  return dot_legacy(n, static_cast<const BlockQ5_1*>(w), static_cast<const BlockQ8_0*>(a));
}

}  // namespace flame::quant
