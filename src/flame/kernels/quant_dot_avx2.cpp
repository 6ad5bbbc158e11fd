// AVX2 dot products of packed weight blocks with 8-bit activation blocks. Each has a scalar twin
// in quant_dot.cpp: the k-quant kernels produce the same integer sums per super-block and share the
// float epilogue (bit-identical results); Q4_0/Q8_0 accumulate per-block floats in 8 lanes, so they
// differ from the scalar sum only by float rounding order.
#include <immintrin.h>

#include "flame/kernels/quant_blocks.h"

namespace flame::quant {
namespace {

// F16C conversion (the scalar f16_to_f32 twin is exact too, but slow in a per-block loop).
inline float half_to_float(uint16_t h) {
  return _cvtsh_ss(h);
}

inline float hsum_ps(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

inline int32_t hsum_epi32(__m256i v) {
  __m128i r = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  r = _mm_add_epi32(r, _mm_shuffle_epi32(r, _MM_SHUFFLE(1, 0, 3, 2)));
  r = _mm_add_epi32(r, _mm_shuffle_epi32(r, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(r);
}

// Inline twin of k_block_value (quant_dot.cpp): the same two products and difference, written with
// scalar SSE builtins, which the compiler never contracts into an FMA, so results stay bit-identical
// to the scalar path while saving an out-of-line call per super-block (~10% of Q4_K_M decode time).
inline float k_block_value_inline(float act_d, float d, float dmin, int32_t isum, int32_t msum) {
  const __m128 ad = _mm_set_ss(act_d);
  const __m128 p = _mm_mul_ss(_mm_mul_ss(ad, _mm_set_ss(d)), _mm_cvtsi32_ss(_mm_setzero_ps(), isum));
  const __m128 q = _mm_mul_ss(_mm_mul_ss(ad, _mm_set_ss(dmin)), _mm_cvtsi32_ss(_mm_setzero_ps(), msum));
  return _mm_cvtss_f32(_mm_sub_ss(p, q));
}

// 32 nibbles -> 32 bytes: low nibbles of 16 bytes first, then their high nibbles (Q4_0 order).
inline __m256i unpack_nibbles_32(const uint8_t* p) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Signed 8-bit x signed 8-bit, 32 pairs -> 8 int32 partial sums (vpmaddubsw needs one unsigned side,
// so move x's sign onto y).
inline __m256i dot_i8_i8(__m256i x, __m256i y) {
  const __m256i ax = _mm256_sign_epi8(x, x);
  const __m256i sy = _mm256_sign_epi8(y, x);
  return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

inline __m256i load32(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

}  // namespace

// Two blocks per iteration, two accumulators (block b always feeds acc[b & 1], so the float
// rounding is unchanged from one block per iteration). The nibbles stay unsigned (0..15) so
// vpmaddubsw takes them directly; the -8 offset is applied on the 16-bit pair sums as
// maddubs(8, y), which costs one instruction instead of the sub + two vpsignb of the signed form.
float dot_q4_0_avx2(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  const __m256i eight = _mm256_set1_epi8(8);
  const __m256i ones = _mm256_set1_epi16(1);
  const auto block_sum = [&](int64_t b) {
    const __m256i qy = load32(y[b].qs);
    const __m256i pairs =
        _mm256_sub_epi16(_mm256_maddubs_epi16(unpack_nibbles_32(x[b].qs), qy), _mm256_maddubs_epi16(eight, qy));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
  };
  const int64_t blocks = n / kQK;
  int64_t b = 0;
  for (; b + 1 < blocks; b += 2) {
    const float d0 = half_to_float(x[b].d) * half_to_float(y[b].d);
    const float d1 = half_to_float(x[b + 1].d) * half_to_float(y[b + 1].d);
    const __m256 s0 = block_sum(b), s1 = block_sum(b + 1);
    acc[0] = _mm256_fmadd_ps(_mm256_set1_ps(d0), s0, acc[0]);
    acc[1] = _mm256_fmadd_ps(_mm256_set1_ps(d1), s1, acc[1]);
  }
  if (b < blocks) {
    const float d = half_to_float(x[b].d) * half_to_float(y[b].d);
    acc[0] = _mm256_fmadd_ps(_mm256_set1_ps(d), block_sum(b), acc[0]);
  }
  return hsum_ps(_mm256_add_ps(acc[0], acc[1]));
}

// Two blocks per iteration with constant accumulator indices (block b -> acc[b & 1] as before, so
// the rounding is unchanged): a runtime acc[b & 1] index kept the accumulators on the stack.
float dot_q8_0_avx2(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  const auto block_sum = [&](int64_t b) { return _mm256_cvtepi32_ps(dot_i8_i8(load32(x[b].qs), load32(y[b].qs))); };
  const int64_t blocks = n / kQK;
  int64_t b = 0;
  for (; b + 1 < blocks; b += 2) {
    const float d0 = half_to_float(x[b].d) * half_to_float(y[b].d);
    const float d1 = half_to_float(x[b + 1].d) * half_to_float(y[b + 1].d);
    const __m256 s0 = block_sum(b), s1 = block_sum(b + 1);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(d0), s0, acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(d1), s1, acc1);
  }
  if (b < blocks) {
    const float d = half_to_float(x[b].d) * half_to_float(y[b].d);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(d), block_sum(b), acc0);
  }
  return hsum_ps(_mm256_add_ps(acc0, acc1));
}

namespace {
// Integer sums of one Q4_K/Q5_K super-block given its 8 unpacked scales; `high` adds bit 4 (Q5_K).
template <bool kFiveBit>
inline int32_t k4_block_isum(const uint8_t* qs, const uint8_t* qh, const int8_t* act, const uint8_t* sc) {
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  __m256i sumi = _mm256_setzero_si256();
  __m256i hbits;
  if constexpr (kFiveBit) hbits = load32(qh);
  for (int c = 0; c < 4; ++c) {
    const __m256i bits = load32(qs + 32 * c);
    __m256i q_lo = _mm256_and_si256(bits, low_mask);
    __m256i q_hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), low_mask);
    if constexpr (kFiveBit) {
      const __m256i one = _mm256_set1_epi8(1);
      q_lo = _mm256_or_si256(q_lo, _mm256_slli_epi16(_mm256_and_si256(hbits, one), 4));
      q_hi = _mm256_or_si256(q_hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 1), one), 4));
      hbits = _mm256_srli_epi16(hbits, 2);
    }
    const __m256i p_lo = _mm256_maddubs_epi16(q_lo, load32(act + 64 * c));
    const __m256i p_hi = _mm256_maddubs_epi16(q_hi, load32(act + 64 * c + 32));
    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_lo, _mm256_set1_epi16(sc[2 * c])));
    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_hi, _mm256_set1_epi16(sc[2 * c + 1])));
  }
  return hsum_epi32(sumi);
}

template <bool kFiveBit, class Block>
float dot_k4_like(int64_t n, const Block* x, const BlockQ8_K* y) {
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    alignas(8) uint8_t sc[8], m[8];
    for (int j = 0; j < 8; ++j) unpack_scale_min_k4(j, x[b].scales, sc[j], m[j]);
    // sum_j m_j * (bsum_2j + bsum_2j+1) as vector integer ops (same integer as the scalar loop).
    const __m256i pair_sums = _mm256_madd_epi16(load32(y[b].bsums), _mm256_set1_epi16(1));
    const __m256i mins = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(m)));
    const int32_t msum = hsum_epi32(_mm256_mullo_epi32(pair_sums, mins));
    const uint8_t* qh = nullptr;
    if constexpr (kFiveBit) qh = x[b].qh;
    const int32_t isum = k4_block_isum<kFiveBit>(x[b].qs, qh, y[b].qs, sc);
    sum += k_block_value_inline(y[b].d, half_to_float(x[b].d), half_to_float(x[b].dmin), isum, msum);
  }
  return sum;
}
}  // namespace

float dot_q4_k_avx2(int64_t n, const void* w, const void* a) {
  return dot_k4_like<false>(n, static_cast<const BlockQ4_K*>(w), static_cast<const BlockQ8_K*>(a));
}

float dot_q5_k_avx2(int64_t n, const void* w, const void* a) {
  return dot_k4_like<true>(n, static_cast<const BlockQ5_K*>(w), static_cast<const BlockQ8_K*>(a));
}

float dot_q6_k_avx2(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m256i low_mask = _mm256_set1_epi8(0x0F), two_bits = _mm256_set1_epi8(0x03);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    __m256i sumi = _mm256_setzero_si256();
    int32_t offset_sum = 0;  // the -32 of every level, applied through the activation sums
    for (int j = 0; j < 16; ++j) offset_sum += x[b].scales[j] * y[b].bsums[j];
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = load32(x[b].ql + 64 * h), ql1 = load32(x[b].ql + 64 * h + 32);
      const __m256i qh = load32(x[b].qh + 32 * h);
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(ql0, low_mask), _mm256_slli_epi16(_mm256_and_si256(qh, two_bits), 4));
      q[1] = _mm256_or_si256(_mm256_and_si256(ql1, low_mask),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two_bits), 4));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_mask),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two_bits), 4));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_mask),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two_bits), 4));
      for (int r = 0; r < 4; ++r) {
        const int s = 8 * h + 2 * r;  // scales of the two 16-element halves of this run
        const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(x[b].scales[s + 1]), _mm_set1_epi16(x[b].scales[s]));
        const __m256i p = _mm256_maddubs_epi16(q[r], load32(y[b].qs + 128 * h + 32 * r));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scale));
      }
    }
    const int32_t isum = hsum_epi32(sumi) - 32 * offset_sum;
    sum += k_block_value_inline(y[b].d, half_to_float(x[b].d), 0.0f, isum, 0);
  }
  return sum;
}

}  // namespace flame::quant
