// AVX2 dot products of packed weight blocks with 8-bit activation blocks. Each has a scalar twin
// in quant_dot.cpp: the k-quant kernels produce the same integer sums per super-block and share the
// float epilogue (bit-identical results); Q4_0/Q8_0 accumulate per-block floats in 8 lanes, so they
// differ from the scalar sum only by float rounding order.
#include <immintrin.h>

#include <cstring>

#include "flame/kernels/avx2_common.h"
#include "flame/kernels/quant_blocks.h"

namespace flame::quant {
namespace {

using avx2::half_to_float;
using avx2::hsum_epi32;
using avx2::hsum_ps;

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
// One broadcast load and one variable shift (upper 128 bits by 4) instead of shift + insert.
inline __m256i unpack_nibbles_32(const uint8_t* p) {
  const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  const __m256i shifted = _mm256_srlv_epi64(both, _mm256_set_epi64x(4, 4, 0, 0));
  return _mm256_and_si256(shifted, _mm256_set1_epi8(0x0F));
}

// Signed 8-bit x signed 8-bit, 32 pairs -> 8 int32 partial sums (vpmaddubsw needs one unsigned side,
// so move x's sign onto y).
inline __m256i dot_i8_i8(__m256i x, __m256i y) {
  const __m256i ax = _mm256_sign_epi8(x, x);
  const __m256i sy = _mm256_sign_epi8(y, x);
  return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

inline __m256i load32(const void* p) {
  return avx2::load_si256(p);
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

// The 4 rows of a dot4 call are 4 short streams (a few KB each) that the hardware prefetcher must
// pick up anew for every group of rows, which perf showed as load stalls (the 4-row kernels ran at
// half the speed of the one-row ones). The NEXT group of 4 rows is contiguous right after this
// one, so each block step prefetches its share of it: (next group bytes) / (blocks) per step.
// Addresses at most 64 bytes apart cover every line. Prefetches never fault, so running past the
// end of the weight is harmless.
inline void prefetch_next_group(const uint8_t* next_group, int64_t step_bytes, int64_t b) {
  const char* p = reinterpret_cast<const char*>(next_group + b * step_bytes);
  for (int64_t off = 0; off < step_bytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

// Four rows at once (dot4_*): each activation block and its scale are loaded once for 4 weight
// rows, and the -8 offset of Q4_0 (maddubs(8, y)) is computed once per block. Weight scales are
// converted with vcvtph2ps and multiplied by the activation scale in vector registers; the float
// summation order differs from the one-row kernels (tolerance in QuantDot.FourRowKernelsMatchScalar).
// Q4_0: the integer pair sums of the 4 rows are folded by three vphaddd into one vector (lanes
// 0..3: rows 0..3 over elements 0..15 of the block, lanes 4..7: over elements 16..31), so one
// convert, one scale vector (the 4 fp16 weight scales packed in a GPR, one vcvtph2ps) and one FMA
// serve 4 rows. out[r] = lane r + lane r + 4 at the end.
void dot4_q4_0_avx2(int64_t n, const void* w, size_t row_bytes, const void* a, float* out) {
  const auto* y = static_cast<const BlockQ8_0*>(a);
  const auto* base = static_cast<const uint8_t*>(w);
  const BlockQ4_0* x[4];
  for (int r = 0; r < 4; ++r) x[r] = reinterpret_cast<const BlockQ4_0*>(base + r * row_bytes);
  __m256 acc = _mm256_setzero_ps();
  const __m256i eight = _mm256_set1_epi8(8);
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < n / kQK; ++b) {
    prefetch_next_group(base + 4 * row_bytes, 4 * static_cast<int64_t>(sizeof(BlockQ4_0)), b);
    const __m256i qy = load32(y[b].qs);
    const __m256i offset = _mm256_maddubs_epi16(eight, qy);
    __m256i p[4];
    for (int r = 0; r < 4; ++r)
      p[r] = _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(unpack_nibbles_32(x[r][b].qs), qy), offset), ones);
    const __m256i sums = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    const uint64_t packed = static_cast<uint64_t>(x[0][b].d) | static_cast<uint64_t>(x[1][b].d) << 16 |
                            static_cast<uint64_t>(x[2][b].d) << 32 | static_cast<uint64_t>(x[3][b].d) << 48;
    const __m256 dx = _mm256_cvtph_ps(_mm_set1_epi64x(static_cast<int64_t>(packed)));
    const __m256 dy = _mm256_set1_ps(half_to_float(y[b].d));
    acc = _mm256_fmadd_ps(_mm256_mul_ps(dx, dy), _mm256_cvtepi32_ps(sums), acc);
  }
  _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1)));
}

namespace {
// Q4_K/Q5_K packed 6-bit scales and mins (12 bytes) -> 8 scales in bytes 0..7 and 8 mins in bytes
// 8..15, with 32-bit word operations (the same values as unpack_scale_min_k4 for j = 0..7).
inline __m128i unpack_scales_mins_k4(const uint8_t* packed) {
  constexpr uint32_t kLow6 = 0x3f3f3f3f, kLow4 = 0x0f0f0f0f, kLow2 = 0x03030303;
  uint32_t u[3];
  std::memcpy(u, packed, 12);
  const uint32_t scales_lo = u[0] & kLow6;                                        // j < 4: q[j] & 63
  const uint32_t mins_lo = u[1] & kLow6;                                          // j < 4: q[j+4] & 63
  const uint32_t scales_hi = (u[2] & kLow4) | (((u[0] >> 6) & kLow2) << 4);       // q[j+4] & 15 | q[j-4] >> 6 << 4
  const uint32_t mins_hi = ((u[2] >> 4) & kLow4) | (((u[1] >> 6) & kLow2) << 4);  // q[j+4] >> 4 | q[j] >> 6 << 4
  return _mm_set_epi32(static_cast<int>(mins_hi), static_cast<int>(mins_lo), static_cast<int>(scales_hi),
                       static_cast<int>(scales_lo));
}

// Byte shuffle that fills all 16 int16 lanes with int16 element j of each 128-bit half.
inline __m256i broadcast_epi16_mask(int j) {
  return _mm256_set1_epi16(static_cast<int16_t>((2 * j) | ((2 * j + 1) << 8)));
}

// Integer sums of one Q4_K/Q5_K super-block given its 8 scales as int16 in both 128-bit halves;
// kFiveBit adds bit 4 from qh (Q5_K).
template <bool kFiveBit>
inline int32_t k4_block_isum(const uint8_t* qs, const uint8_t* qh, const int8_t* act, __m256i scales16) {
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
    const __m256i sc_lo = _mm256_shuffle_epi8(scales16, broadcast_epi16_mask(2 * c));
    const __m256i sc_hi = _mm256_shuffle_epi8(scales16, broadcast_epi16_mask(2 * c + 1));
    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_lo, sc_lo));
    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_hi, sc_hi));
  }
  return hsum_epi32(sumi);
}

template <bool kFiveBit, class Block>
float dot_k4_like(int64_t n, const Block* x, const BlockQ8_K* y) {
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const __m128i scales_mins = unpack_scales_mins_k4(x[b].scales);
    // sum_j m_j * (bsum_2j + bsum_2j+1) as vector integer ops (same integer as the scalar loop).
    const __m256i pair_sums = _mm256_madd_epi16(load32(y[b].bsums), _mm256_set1_epi16(1));
    const __m256i mins = _mm256_cvtepu8_epi32(_mm_srli_si128(scales_mins, 8));
    const int32_t msum = hsum_epi32(_mm256_mullo_epi32(pair_sums, mins));
    const __m256i scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scales_mins));
    const uint8_t* qh = nullptr;
    if constexpr (kFiveBit) qh = x[b].qh;
    const int32_t isum = k4_block_isum<kFiveBit>(x[b].qs, qh, y[b].qs, scales16);
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

namespace {
// Byte shuffle of 16 int8 scales: scale s in bytes 0..7, scale s + 1 in bytes 8..15.
inline __m128i scale_pair_mask(int s) {
  return _mm_set_epi64x(0x0101010101010101LL * (s + 1), 0x0101010101010101LL * s);
}
}  // namespace

float dot_q6_k_avx2(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m256i low_mask = _mm256_set1_epi8(0x0F), two_bits = _mm256_set1_epi8(0x03);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const __m128i scales8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].scales));
    // The -32 of every level, applied through the activation sums: sum_j scales_j * bsums_j.
    const __m256i offset = _mm256_madd_epi16(_mm256_cvtepi8_epi16(scales8), load32(y[b].bsums));
    __m256i sumi = _mm256_setzero_si256();
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
        const __m256i scale = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales8, scale_pair_mask(s)));
        const __m256i p = _mm256_maddubs_epi16(q[r], load32(y[b].qs + 128 * h + 32 * r));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scale));
      }
    }
    const int32_t isum = hsum_epi32(_mm256_sub_epi32(sumi, _mm256_slli_epi32(offset, 5)));
    sum += k_block_value_inline(y[b].d, half_to_float(x[b].d), 0.0f, isum, 0);
  }
  return sum;
}

}  // namespace flame::quant
