// AVX2 integer GEMM on packed weight blocks (see quant_gemm.h). Each thread takes panels of 8
// weight rows, repacks one panel at a time into an interleaved, L1/L2-resident layout, and then
// runs every activation row against it in tiles of up to 4 rows:
//   panel vector g = bytes [4r, 4r+4) hold levels 4g..4g+3 of weight row r (r = 0..7),
// so `vpmaddubsw(vector g, broadcast of activation bytes 4g..4g+3)` yields, per 32-bit lane r, two
// 16-bit partial sums of row r. The 16-bit sums of a block (or k-quant sub-block) stay in
// registers and are widened once per block with vpmaddwd (by 1 or by the sub-block scales), so
// the float work (convert + scale + fma) is paid once per block for 8 rows at a time. Levels enter
// vpmaddubsw unsigned (Q4_0 0..15, Q4_K 0..15, Q5_K 0..31, Q6_K 0..63); their offsets (-8, -32)
// and the Q4_K/Q5_K mins are applied through the activation block sums. Q8_0 is signed on both
// sides, so it uses |w| and the sign moved onto the activations. No 16-bit sum can saturate: a pair
// of products is at most 2*63*128, and at most 31744 is accumulated in 16 bits (8 pairs of 15*128
// for Q4_K, 4 pairs of 31*128 for Q5_K, which widens every half sub-block).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/core/half.h"
#include "flame/kernels/avx2_common.h"
#include "flame/kernels/quant_gemm.h"

namespace flame::quant_gemm_detail {
namespace {

using namespace quant;
constexpr int kRows = static_cast<int>(kPanelRows);
constexpr int kMaxTileCols = 4;  // activation rows per micro-kernel call

// Panel blocks: the repacked form of one block (super-block) of 8 weight rows.
struct alignas(32) PanelQ8_0 {
  float d[kRows];
  int8_t q[kRows * kQK];
  uint8_t abs_q[kRows * kQK];
};
struct alignas(32) PanelQ4_0 {
  float d[kRows];
  uint8_t q[kRows * kQK];
};
struct alignas(32) PanelQ4_K {
  float d[kRows], dmin[kRows];
  int16_t scales[8][2 * kRows];  // sub-block s: (scale, scale) per row, for vpmaddwd
  int16_t mins[8][2 * kRows];    // sub-block s: (min, min) per row, against (bsum 2s, bsum 2s+1)
  uint8_t q[kRows * kQK_K];
};
struct alignas(32) PanelQ6_K {
  float d[kRows];
  int16_t scales[16][2 * kRows];      // sub-block s: (scale, scale) per row
  int16_t scale_pairs[8][2 * kRows];  // (scale 2t, scale 2t+1) per row, against (bsum 2t, bsum 2t+1)
  uint8_t q[kRows * kQK_K];
};

using avx2::half_to_float;
inline __m256i load32(const void* p) {
  return _mm256_load_si256(static_cast<const __m256i*>(p));
}
using flame::avx2::broadcast4;
// ---- repacking: vectors of 32 levels in element order per row, transposed as 8x8 dwords ----

// rows[r] holds 32 levels (element order) of weight row r; afterwards vector g holds elements
// 4g..4g+3 of every row, row r in dword r: the panel layout.
inline void transpose_8x8_dwords(__m256i v[kRows]) {
  __m256i t[kRows], u[kRows];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {  // rows 0-3, then 4-7
    u[4 * h + 0] = _mm256_unpacklo_epi64(t[4 * h + 0], t[4 * h + 2]);
    u[4 * h + 1] = _mm256_unpackhi_epi64(t[4 * h + 0], t[4 * h + 2]);
    u[4 * h + 2] = _mm256_unpacklo_epi64(t[4 * h + 1], t[4 * h + 3]);
    u[4 * h + 3] = _mm256_unpackhi_epi64(t[4 * h + 1], t[4 * h + 3]);
  }
  for (int g = 0; g < 4; ++g) {
    v[g] = _mm256_permute2x128_si256(u[g], u[4 + g], 0x20);
    v[g + 4] = _mm256_permute2x128_si256(u[g], u[4 + g], 0x31);
  }
}

// Writes one 32-element chunk of the panel: levels(r) gives row r's 32 levels (rows >= `rows` are zero).
template <class Levels>
inline void put_chunk(uint8_t* dst, int rows, Levels&& levels) {
  __m256i v[kRows];
  for (int r = 0; r < kRows; ++r) v[r] = r < rows ? levels(r) : _mm256_setzero_si256();
  transpose_8x8_dwords(v);
  for (int g = 0; g < kRows; ++g) _mm256_store_si256(reinterpret_cast<__m256i*>(dst + 32 * g), v[g]);
}

inline __m256i low_nibbles(__m256i v) {
  return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}
inline __m256i high_nibbles(__m256i v) {
  return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
}
// 16 packed bytes -> 32 levels: low nibbles are elements 0..15, high nibbles 16..31 (Q4_0).
inline __m256i unpack_q4_0(const uint8_t* qs) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0x0F));
}

void repack_q8_0(const uint8_t* w, size_t row_bytes, int rows, int64_t nb, PanelQ8_0* panel) {
  const auto row = [&](int r) { return reinterpret_cast<const BlockQ8_0*>(w + r * row_bytes); };
  for (int64_t b = 0; b < nb; ++b) {
    for (int r = 0; r < kRows; ++r) panel[b].d[r] = r < rows ? half_to_float(row(r)[b].d) : 0.0f;
    put_chunk(reinterpret_cast<uint8_t*>(panel[b].q), rows, [&](int r) { return avx2::load_si256(row(r)[b].qs); });
    put_chunk(panel[b].abs_q, rows, [&](int r) { return _mm256_abs_epi8(avx2::load_si256(row(r)[b].qs)); });
  }
}

void repack_q4_0(const uint8_t* w, size_t row_bytes, int rows, int64_t nb, PanelQ4_0* panel) {
  const auto row = [&](int r) { return reinterpret_cast<const BlockQ4_0*>(w + r * row_bytes); };
  for (int64_t b = 0; b < nb; ++b) {
    for (int r = 0; r < kRows; ++r) panel[b].d[r] = r < rows ? half_to_float(row(r)[b].d) : 0.0f;
    put_chunk(panel[b].q, rows, [&](int r) { return unpack_q4_0(row(r)[b].qs); });
  }
}

// Q5_K panels have the Q4_K layout with 5-bit levels (bit 4 from qh).
using PanelQ5_K = PanelQ4_K;

// Bit 4 of the 32 levels of sub-block s: bit s of qh[l] for Q5_K, nothing for Q4_K.
inline __m256i bit4_of_sub_block(const BlockQ4_K&, int) {
  return _mm256_setzero_si256();
}
inline __m256i bit4_of_sub_block(const BlockQ5_K& x, int s) {
  const __m256i bit = _mm256_and_si256(_mm256_srli_epi16(avx2::load_si256(x.qh), s), _mm256_set1_epi8(1));
  return _mm256_slli_epi16(bit, 4);
}

// Q4_K and Q5_K (Block decides): scales and mins unpacked per row, then the levels.
template <class Block>
void repack_k4_like(const uint8_t* w, size_t row_bytes, int rows, int64_t nb, PanelQ4_K* panel) {
  const auto row = [&](int r) { return reinterpret_cast<const Block*>(w + r * row_bytes); };
  for (int64_t b = 0; b < nb; ++b) {
    PanelQ4_K& p = panel[b];
    for (int r = 0; r < kRows; ++r) {
      p.d[r] = r < rows ? half_to_float(row(r)[b].d) : 0.0f;
      p.dmin[r] = r < rows ? half_to_float(row(r)[b].dmin) : 0.0f;
      for (int s = 0; s < 8; ++s) {
        uint8_t sc = 0, mn = 0;
        if (r < rows) unpack_scale_min_k4(s, row(r)[b].scales, sc, mn);
        p.scales[s][2 * r] = p.scales[s][2 * r + 1] = sc;
        p.mins[s][2 * r] = p.mins[s][2 * r + 1] = mn;
      }
    }
    // 32 bytes c: low nibbles are sub-block 2c, high nibbles sub-block 2c+1; Q5_K adds bit s of
    // qh[l] as bit 4 of element l of sub-block s.
    const auto level_bit4 = [&](int r, int s) { return bit4_of_sub_block(row(r)[b], s); };
    for (int c = 0; c < 4; ++c) {
      put_chunk(p.q + 256 * (2 * c), rows, [&](int r) {
        return _mm256_or_si256(low_nibbles(avx2::load_si256(row(r)[b].qs + 32 * c)), level_bit4(r, 2 * c));
      });
      put_chunk(p.q + 256 * (2 * c + 1), rows, [&](int r) {
        return _mm256_or_si256(high_nibbles(avx2::load_si256(row(r)[b].qs + 32 * c)), level_bit4(r, 2 * c + 1));
      });
    }
  }
}

void repack_q6_k(const uint8_t* w, size_t row_bytes, int rows, int64_t nb, PanelQ6_K* panel) {
  const auto row = [&](int r) { return reinterpret_cast<const BlockQ6_K*>(w + r * row_bytes); };
  const __m256i two_bits = _mm256_set1_epi8(0x03);
  for (int64_t b = 0; b < nb; ++b) {
    PanelQ6_K& p = panel[b];
    for (int r = 0; r < kRows; ++r) {
      const int8_t* sc = row(r)[b].scales;
      p.d[r] = r < rows ? half_to_float(row(r)[b].d) : 0.0f;
      for (int s = 0; s < 16; ++s) p.scales[s][2 * r] = p.scales[s][2 * r + 1] = r < rows ? sc[s] : 0;
      for (int t = 0; t < 8; ++t) {
        p.scale_pairs[t][2 * r] = r < rows ? sc[2 * t] : 0;
        p.scale_pairs[t][2 * r + 1] = r < rows ? sc[2 * t + 1] : 0;
      }
    }
    // Half h, run 0..3 (32 elements each): low/high nibbles of ql[64h + 32(run&1)] and 2 bits of qh.
    for (int h = 0; h < 2; ++h)
      for (int run = 0; run < 4; ++run)
        put_chunk(p.q + 256 * (4 * h + run), rows, [&](int r) {
          const BlockQ6_K& x = row(r)[b];
          const __m256i ql = avx2::load_si256(x.ql + 64 * h + 32 * (run & 1));
          const __m256i low = run < 2 ? low_nibbles(ql) : high_nibbles(ql);
          const __m256i qh = _mm256_and_si256(_mm256_srli_epi16(avx2::load_si256(x.qh + 32 * h), 2 * run), two_bits);
          return _mm256_or_si256(low, _mm256_slli_epi16(qh, 4));
        });
  }
}

// ---- micro-kernels: one panel x RN activation rows, out[jj * 8 + r] ----

template <int RN>
void tile_q8_0(const PanelQ8_0* p, int64_t nb, const Activations& a, int64_t j0, float* out) {
  const uint8_t* act[RN];
  for (int jj = 0; jj < RN; ++jj) act[jj] = a.blocks + (j0 + jj) * a.row_bytes + offsetof(BlockQ8_0, qs);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[RN];
  for (int jj = 0; jj < RN; ++jj) acc[jj] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m256i isum[RN];
    for (int jj = 0; jj < RN; ++jj) isum[jj] = _mm256_setzero_si256();
      // Fully unrolled, GCC hoists all 32 broadcasts and spills accumulators (perf: ~25% of the
      // kernel in stack moves); unrolling by 2 keeps them in registers (Q4_K GEMM 115 -> 146 GFLOP/s).
#pragma GCC unroll 2
    for (int g = 0; g < kQK / 4; ++g) {
      const __m256i w = load32(p[b].q + 32 * g), abs_w = load32(p[b].abs_q + 32 * g);
      for (int jj = 0; jj < RN; ++jj) {
        const __m256i x = _mm256_sign_epi8(broadcast4(act[jj] + b * sizeof(BlockQ8_0) + 4 * g), w);
        isum[jj] = _mm256_add_epi32(isum[jj], _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, x), ones));
      }
    }
    const __m256 dw = _mm256_load_ps(p[b].d);
    for (int jj = 0; jj < RN; ++jj) {
      const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(a.scales[(j0 + jj) * nb + b]));
      acc[jj] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[jj]), scale, acc[jj]);
    }
  }
  for (int jj = 0; jj < RN; ++jj) _mm256_storeu_ps(out + kRows * jj, acc[jj]);
}

template <int RN>
void tile_q4_0(const PanelQ4_0* p, int64_t nb, const Activations& a, int64_t j0, float* out) {
  const uint8_t* act[RN];
  for (int jj = 0; jj < RN; ++jj) act[jj] = a.blocks + (j0 + jj) * a.row_bytes + offsetof(BlockQ8_0, qs);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[RN];
  for (int jj = 0; jj < RN; ++jj) acc[jj] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m256i sum16[RN];
    for (int jj = 0; jj < RN; ++jj) sum16[jj] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int g = 0; g < kQK / 4; ++g) {
      const __m256i w = load32(p[b].q + 32 * g);
      for (int jj = 0; jj < RN; ++jj)
        sum16[jj] =
            _mm256_add_epi16(sum16[jj], _mm256_maddubs_epi16(w, broadcast4(act[jj] + b * sizeof(BlockQ8_0) + 4 * g)));
    }
    const __m256 dw = _mm256_load_ps(p[b].d);
    for (int jj = 0; jj < RN; ++jj) {
      const int64_t at = (j0 + jj) * nb + b;
      const __m256i isum = _mm256_sub_epi32(_mm256_madd_epi16(sum16[jj], ones), _mm256_set1_epi32(8 * a.sums[at]));
      const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(a.scales[at]));
      acc[jj] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale, acc[jj]);
    }
  }
  for (int jj = 0; jj < RN; ++jj) _mm256_storeu_ps(out + kRows * jj, acc[jj]);
}

// Q4_K and Q5_K: kGroupsPerWiden groups of 4 levels are summed in 16 bits before vpmaddwd widens
// them with the sub-block scale (8 for 4-bit levels, 4 for 5-bit ones so no sum saturates).
template <int RN, int kGroupsPerWiden>
void tile_k4_like(const PanelQ4_K* p, int64_t nb, const Activations& a, int64_t j0, float* out) {
  const BlockQ8_K* act[RN];
  for (int jj = 0; jj < RN; ++jj) act[jj] = reinterpret_cast<const BlockQ8_K*>(a.blocks + (j0 + jj) * a.row_bytes);
  __m256 acc[RN];
  for (int jj = 0; jj < RN; ++jj) acc[jj] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const PanelQ4_K& pb = p[b];
    __m256i isum[RN], msum[RN];
    for (int jj = 0; jj < RN; ++jj) isum[jj] = msum[jj] = _mm256_setzero_si256();
    for (int s = 0; s < 8; ++s) {
      const __m256i sc = load32(pb.scales[s]);
      for (int g0 = 0; g0 < 8; g0 += kGroupsPerWiden) {
        __m256i sum16[RN];
        for (int jj = 0; jj < RN; ++jj) sum16[jj] = _mm256_setzero_si256();
          // Unroll 4: Q5_K's 4-group runs unroll fully (122-131 -> 133-142 GFLOP/s); Q4_K measured
          // the same or up to 5% faster than with unroll 2.
#pragma GCC unroll 4
        for (int g = g0; g < g0 + kGroupsPerWiden; ++g) {
          const __m256i w = load32(pb.q + 32 * (8 * s + g));
          for (int jj = 0; jj < RN; ++jj)
            sum16[jj] =
                _mm256_add_epi16(sum16[jj], _mm256_maddubs_epi16(w, broadcast4(act[jj][b].qs + 32 * s + 4 * g)));
        }
        for (int jj = 0; jj < RN; ++jj) isum[jj] = _mm256_add_epi32(isum[jj], _mm256_madd_epi16(sum16[jj], sc));
      }
    }
    for (int s = 0; s < 8; ++s) {
      const __m256i mn = load32(pb.mins[s]);
      for (int jj = 0; jj < RN; ++jj)
        msum[jj] = _mm256_add_epi32(msum[jj], _mm256_madd_epi16(mn, broadcast4(act[jj][b].bsums + 2 * s)));
    }
    const __m256 d = _mm256_load_ps(pb.d), dmin = _mm256_load_ps(pb.dmin);
    for (int jj = 0; jj < RN; ++jj) {
      const __m256 ad = _mm256_set1_ps(act[jj][b].d);
      acc[jj] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[jj]), _mm256_mul_ps(d, ad), acc[jj]);
      acc[jj] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum[jj]), _mm256_mul_ps(dmin, ad), acc[jj]);
    }
  }
  for (int jj = 0; jj < RN; ++jj) _mm256_storeu_ps(out + kRows * jj, acc[jj]);
}

template <int RN>
void tile_q6_k(const PanelQ6_K* p, int64_t nb, const Activations& a, int64_t j0, float* out) {
  const BlockQ8_K* act[RN];
  for (int jj = 0; jj < RN; ++jj) act[jj] = reinterpret_cast<const BlockQ8_K*>(a.blocks + (j0 + jj) * a.row_bytes);
  __m256 acc[RN];
  for (int jj = 0; jj < RN; ++jj) acc[jj] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const PanelQ6_K& pb = p[b];
    __m256i isum[RN], offset[RN];
    for (int jj = 0; jj < RN; ++jj) isum[jj] = offset[jj] = _mm256_setzero_si256();
    for (int s = 0; s < 16; ++s) {
      const __m256i sc = load32(pb.scales[s]);
      for (int half = 0; half < 2; ++half) {
        const int g = 4 * s + 2 * half;
        const __m256i w0 = load32(pb.q + 32 * g), w1 = load32(pb.q + 32 * (g + 1));
        for (int jj = 0; jj < RN; ++jj) {
          const int8_t* x = act[jj][b].qs + 4 * g;
          const __m256i sum16 =
              _mm256_add_epi16(_mm256_maddubs_epi16(w0, broadcast4(x)), _mm256_maddubs_epi16(w1, broadcast4(x + 4)));
          isum[jj] = _mm256_add_epi32(isum[jj], _mm256_madd_epi16(sum16, sc));
        }
      }
    }
    for (int t = 0; t < 8; ++t) {
      const __m256i sp = load32(pb.scale_pairs[t]);
      for (int jj = 0; jj < RN; ++jj)
        offset[jj] = _mm256_add_epi32(offset[jj], _mm256_madd_epi16(sp, broadcast4(act[jj][b].bsums + 2 * t)));
    }
    const __m256 d = _mm256_load_ps(pb.d);
    for (int jj = 0; jj < RN; ++jj) {
      const __m256i total = _mm256_sub_epi32(isum[jj], _mm256_slli_epi32(offset[jj], 5));
      acc[jj] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_mul_ps(d, _mm256_set1_ps(act[jj][b].d)), acc[jj]);
    }
  }
  for (int jj = 0; jj < RN; ++jj) _mm256_storeu_ps(out + kRows * jj, acc[jj]);
}

// ---- driver ----

template <int RN>
using TileConst = std::integral_constant<int, RN>;

// Calls tile(TileConst<RN>, j0) over all m activation rows, 4 at a time, then the remainder.
template <class Tile>
void for_each_tile(int64_t m, Tile&& tile) {
  int64_t j0 = 0;
  for (; j0 + kMaxTileCols <= m; j0 += kMaxTileCols) tile(TileConst<kMaxTileCols>{}, j0);
  switch (m - j0) {
    case 3:
      tile(TileConst<3>{}, j0);
      break;
    case 2:
      tile(TileConst<2>{}, j0);
      break;
    case 1:
      tile(TileConst<1>{}, j0);
      break;
    default:
      break;
  }
}

template <class Panel, class Repack, class Kernel>
void run_panels(const uint8_t* w, size_t w_row_bytes, int64_t blocks_per_row, const Activations& act, float* y,
                int64_t n, int64_t row_begin, int64_t row_end, Repack repack, Kernel kernel) {
  thread_local std::vector<Panel> panel;  // grow-only: no allocation once warm
  if (panel.size() < static_cast<size_t>(blocks_per_row)) panel.resize(blocks_per_row);
  alignas(32) float out[kMaxTileCols * kRows];
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kRows, row_end - r0));
    repack(w + r0 * w_row_bytes, w_row_bytes, rows, blocks_per_row, panel.data());
    for_each_tile(act.m, [&](auto rn, int64_t j0) {
      constexpr int RN = decltype(rn)::value;
      kernel(rn, panel.data(), blocks_per_row, act, j0, out);
      for (int jj = 0; jj < RN; ++jj) {
        float* dst = y + (j0 + jj) * n + r0;
        if (rows == kRows)
          _mm256_storeu_ps(dst, _mm256_load_ps(out + kRows * jj));
        else
          std::copy_n(out + kRows * jj, rows, dst);
      }
    });
  }
}

}  // namespace

void gemm_rows_avx2(DType type, const uint8_t* w, size_t w_row_bytes, const Activations& act, float* y, int64_t n,
                    int64_t row_begin, int64_t row_end) {
  const int64_t k = act.k;
  switch (type) {
    case DType::Q8_0:
      run_panels<PanelQ8_0>(w, w_row_bytes, k / kQK, act, y, n, row_begin, row_end, repack_q8_0,
                            [](auto rn, auto&&... args) { tile_q8_0<decltype(rn)::value>(args...); });
      break;
    case DType::Q4_0:
      run_panels<PanelQ4_0>(w, w_row_bytes, k / kQK, act, y, n, row_begin, row_end, repack_q4_0,
                            [](auto rn, auto&&... args) { tile_q4_0<decltype(rn)::value>(args...); });
      break;
    case DType::Q4_K:
      run_panels<PanelQ4_K>(w, w_row_bytes, k / kQK_K, act, y, n, row_begin, row_end, repack_k4_like<BlockQ4_K>,
                            [](auto rn, auto&&... args) { tile_k4_like<decltype(rn)::value, 8>(args...); });
      break;
    case DType::Q5_K:
      run_panels<PanelQ5_K>(w, w_row_bytes, k / kQK_K, act, y, n, row_begin, row_end, repack_k4_like<BlockQ5_K>,
                            [](auto rn, auto&&... args) { tile_k4_like<decltype(rn)::value, 4>(args...); });
      break;
    case DType::Q6_K:
      run_panels<PanelQ6_K>(w, w_row_bytes, k / kQK_K, act, y, n, row_begin, row_end, repack_q6_k,
                            [](auto rn, auto&&... args) { tile_q6_k<decltype(rn)::value>(args...); });
      break;
    default:
      throw UnsupportedError(fmt::format("quant_gemm: no AVX2 kernel for {}", dtype_name(type)));
  }
}

}  // namespace flame::quant_gemm_detail
