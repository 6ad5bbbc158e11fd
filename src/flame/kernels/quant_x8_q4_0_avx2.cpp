// AVX2 twin of dot_q4_0_scalar (format in quant_x8_q4_0.cpp). Per block, each 32-byte chunk of
// nibbles gives two vpmaddubsw (low and high nibbles) against a broadcast group of 4 activation
// bytes; the 8 int16 pair sums of a block are added before one vpmaddwd. Bound: a pair sum is at most
// 2 * 15 * 128 = 3840 in magnitude, 8 of them 30720 < 32767, so the int16 sums cannot overflow.
// The -8 offset is 8 * (sum of the activation block), computed once per call for every block (8
// blocks per transposing horizontal sum) together with the blocks' float scales, so a call over a
// run of groups pays it once (decode: a 2048 x 8192 product went from 83% to 92-100% of the probe's
// read rate, flame_bench DecodeStream). Integer sums equal the scalar twin's; the float step per lane
// is the same multiply then fma, so results are bit-identical.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "flame/core/half.h"
#include "flame/kernels/quant_avx2_common.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_x8_detail.h"
#include "flame/kernels/quant_x8_legacy_layout.h"

namespace flame::quant::x8::detail {
namespace {

using quant::avx2::load_si256;
using quant::avx2::ones16;

constexpr size_t kBlockGroup = legacy_x8::block_group_bytes<kQK / 2>();

// {sum(v[0]), ..., sum(v[7])}: the 8 horizontal sums as one vector.
inline __m256i hsum8_epi32(const __m256i* v) {
  const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

using flame::avx2::broadcast4;

// One block of 8 rows: the integer dot of the rows' nibbles with the activation block, less the -8
// offset, times the two scales, into acc.
inline __m256 block_fma(const uint8_t* blk, const int8_t* yq, int32_t offset, float act_d, __m256 acc) {
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  __m256i pairs = _mm256_setzero_si256();
  for (int c = 0; c < 4; ++c) {
    const __m256i bytes = load_si256(blk + legacy_x8::kScaleBytes + 32 * c);
    const __m256i lo = _mm256_and_si256(bytes, low_mask);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low_mask);
    pairs = _mm256_add_epi16(pairs, _mm256_maddubs_epi16(lo, broadcast4(yq + 4 * c)));
    pairs = _mm256_add_epi16(pairs, _mm256_maddubs_epi16(hi, broadcast4(yq + 16 + 4 * c)));
  }
  const __m256i isum = _mm256_sub_epi32(_mm256_madd_epi16(pairs, ones16()), _mm256_set1_epi32(offset));
  const __m256 scale =
      _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk))), _mm256_set1_ps(act_d));
  return _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(isum), acc);
}

// Per activation block: 8 * (sum of its levels) and its scale as float, in grow-only per-thread
// arrays (k / 32 entries; padded to whole 8-block strides).
struct PreparedActivation {
  std::vector<int32_t> offset;
  std::vector<float> scale;
};

const PreparedActivation& prepare(const BlockQ8_0* y, int64_t blocks) {
  thread_local PreparedActivation p;
  if (static_cast<int64_t>(p.offset.size()) < blocks + 8) {
    p.offset.resize(blocks + 8);
    p.scale.resize(blocks + 8);
  }
  const __m256i eight = _mm256_set1_epi8(8);
  for (int64_t b0 = 0; b0 < blocks; b0 += 8) {
    const int count = static_cast<int>(std::min<int64_t>(8, blocks - b0));
    __m256i partial[8];
    for (int i = 0; i < 8; ++i)
      partial[i] = i < count ? _mm256_madd_epi16(_mm256_maddubs_epi16(eight, load_si256(y[b0 + i].qs)), ones16())
                             : _mm256_setzero_si256();
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p.offset.data() + b0), hsum8_epi32(partial));
  }
  for (int64_t b = 0; b < blocks; ++b) p.scale[b] = f16_to_f32(y[b].d);
  return p;
}

}  // namespace

void dot_groups_q4_0_avx2(int64_t k, const uint8_t* groups, int64_t count, const uint8_t* act, float* out) {
  const auto* y = reinterpret_cast<const BlockQ8_0*>(act);
  const int64_t blocks = k / kQK;
  const PreparedActivation& p = prepare(y, blocks);
  const size_t group_bytes = static_cast<size_t>(blocks) * kBlockGroup;
  for (int64_t g = 0; g < count; ++g) {
    const uint8_t* group = groups + g * group_bytes;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b)
      acc = block_fma(group + b * kBlockGroup, y[b].qs, p.offset[b], p.scale[b], acc);
    _mm256_storeu_ps(out + 8 * g, acc);
  }
}

void dot_q4_0_avx2(int64_t k, const uint8_t* group, const uint8_t* act, float* out) {
  dot_groups_q4_0_avx2(k, group, 1, act, out);
}

}  // namespace flame::quant::x8::detail
