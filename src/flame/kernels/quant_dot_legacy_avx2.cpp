// AVX2 dot products of the 32-element types Q4_1, Q5_0 and Q5_1 with Q8_0 activation blocks.
// Each block's integer sums are computed with vpmaddubsw exactly as the scalar twin (quant_dot.cpp)
// sums them; eight blocks' float values are formed lane-wise with the twin's operations (no FMA
// contraction) and summed in the twin's 8-lane order, so results are bit-identical to the scalar path.
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

// The 8 horizontal sums of v[0..7] as one vector {sum(v0), ..., sum(v7)}.
inline __m256i hsum8_epi32(const __m256i* v) {
  const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

// Keeps the compiler from fusing the product into the following add (GCC contracts vector
// expressions in this -mfma file), so every lane rounds like the scalar twin's separate mul and add.
inline __m256 no_contract(__m256 v) {
  asm("" : "+x"(v));
  return v;
}

// Eight blocks b..b+count-1 (count <= 8): their values, block b+i in lane i, computed lane-wise with
// the scalar twin's operations (d * da * isum [+ m * da * asum]); lanes past count hold -0.0, which
// leaves an accumulator lane unchanged, as the scalar twin's untouched lane is.
template <class Block>
inline __m256 block_values(const Block* x, const BlockQ8_0* y, int count) {
  constexpr bool kHasMin = Format<Block>::kHasMin;
  __m256i isum[8], asum[8];
  alignas(16) uint16_t dx[8] = {}, dy[8] = {}, mx[8] = {};
  for (int i = 0; i < 8; ++i) {
    if (i >= count) {
      isum[i] = asum[i] = _mm256_setzero_si256();
      continue;
    }
    const __m256i qy = load_si256(y[i].qs);
    isum[i] = level_dot(x[i], qy);
    if constexpr (kHasMin) {
      asum[i] = activation_sum(qy);
      mx[i] = x[i].m;
    }
    dx[i] = x[i].d;
    dy[i] = y[i].d;
  }
  const __m256 da = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(dy)));
  const __m256 scale =
      no_contract(_mm256_mul_ps(_mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(dx))), da));
  __m256 v = no_contract(_mm256_mul_ps(scale, _mm256_cvtepi32_ps(hsum8_epi32(isum))));
  if constexpr (kHasMin) {
    const __m256 mscale =
        no_contract(_mm256_mul_ps(_mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(mx))), da));
    const __m256 mv = no_contract(_mm256_mul_ps(mscale, _mm256_cvtepi32_ps(hsum8_epi32(asum))));
    v = no_contract(_mm256_add_ps(v, mv));
  }
  if (count < 8) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 valid = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(count), lane));
    v = _mm256_blendv_ps(_mm256_set1_ps(-0.0f), v, valid);
  }
  return v;
}

// Block b accumulates into lane b % 8; the final reduction is the scalar twin's LaneSum::total order.
template <class Block>
float dot_legacy(int64_t n, const Block* x, const BlockQ8_0* y) {
  const int64_t blocks = n / kQK;
  __m256 acc = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= blocks; b += 8) acc = _mm256_add_ps(acc, block_values(x + b, y + b, 8));
  if (b < blocks) acc = _mm256_add_ps(acc, block_values(x + b, y + b, static_cast<int>(blocks - b)));
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
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
