#pragma once
// Register tiles of the AVX2 training attention (attention_train_avx2.cpp). Include ONLY from files
// compiled with -mavx2 -mfma (see avx2_common.h for why). Every tile is 6 rows x 16 columns: 12
// accumulators, 2 loads and 1 broadcast in flight, the reduction in the inner loop, so a K = 32 or
// 64 product (head_dim) pays no packing or call overhead.
//
//   tile_nn<6>(a, lda, b, ldb, n, c, ldc, nullptr);   // c[6 x 16] = a[6 x n] b[n x 16]
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace flame::avx2::attention_tiles {

constexpr int kTileRows = 6;
constexpr int kTileCols = 16;

inline int64_t round_up(int64_t n, int64_t m) {
  return (n + m - 1) / m * m;
}

// Lanes i .. i + 7 that are < n, as a float mask.
inline __m256 lanes_below(int64_t i, int64_t n) {
  const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(int32_t(i)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(n)), idx));
}

// The row loops below carry `#pragma GCC unroll 6`: fully unrolled, the accumulator arrays live in
// registers; a loop left rolled makes GCC keep them in memory (a 1.4x slower backward seen in practice).

// Runtime row count (1..6) -> fn(std::integral_constant<int, rows>).
template <class Fn>
inline void with_rows(int64_t rows, Fn&& fn) {
  switch (rows) {
    case 1:
      return fn(std::integral_constant<int, 1>{});
    case 2:
      return fn(std::integral_constant<int, 2>{});
    case 3:
      return fn(std::integral_constant<int, 3>{});
    case 4:
      return fn(std::integral_constant<int, 4>{});
    case 5:
      return fn(std::integral_constant<int, 5>{});
    default:
      return fn(std::integral_constant<int, 6>{});
  }
}

// acc[r] = sum_{k < n} a[r * lda + k] * b[k * ldb + 0:16].
// (Local accumulators, copied out once: accumulating into `out` directly made GCC spill them.)
template <int R>
inline void accumulate_nn(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t n, __m256 (&out)[R][2]) {
  __m256 acc[R][2];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < n; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b + k * ldb), b1 = _mm256_loadu_ps(b + k * ldb + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + r * lda + k);
      acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) out[r][0] = acc[r][0], out[r][1] = acc[r][1];
}

// c[r][0:16] = row_scale[r] * sum_{k < n} a[r * lda + k] * b[k * ldb + 0:16] (row_scale may be null).
template <int R>
inline void tile_nn(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t n, float* c, int64_t ldc,
                    const float* row_scale) {
  __m256 acc[R][2];
  accumulate_nn<R>(a, lda, b, ldb, n, acc);
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    const __m256 s = _mm256_set1_ps(row_scale ? row_scale[r] : 1.0f);
    _mm256_storeu_ps(c + r * ldc, _mm256_mul_ps(acc[r][0], s));
    _mm256_storeu_ps(c + r * ldc + 8, _mm256_mul_ps(acc[r][1], s));
  }
}

// Scores of query rows i0 .. i0 + R - 1 against the 16 keys c0 .. c0 + 15 (one packed K^T panel,
// ldb 16): s[r][0:16] = q[r] . k[c0 + jj], and rmax[r] = max(rmax[r], scores of keys <= i0 + r).
template <int R>
inline void tile_scores(const float* q, int64_t ldq, const float* kpanel, int64_t hd, float* s, int64_t lds, int64_t c0,
                        int64_t i0, __m256 (&rmax)[R]) {
  __m256 acc[R][2];
  accumulate_nn<R>(q, ldq, kpanel, kTileCols, hd, acc);
  const bool below_diagonal = c0 + kTileCols <= i0 + 1;
  const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(s + r * lds, acc[r][0]);
    _mm256_storeu_ps(s + r * lds + 8, acc[r][1]);
    __m256 a0 = acc[r][0], a1 = acc[r][1];
    if (!below_diagonal) {
      a0 = _mm256_blendv_ps(neg_inf, a0, lanes_below(c0, i0 + r + 1));
      a1 = _mm256_blendv_ps(neg_inf, a1, lanes_below(c0 + 8, i0 + r + 1));
    }
    rmax[r] = _mm256_max_ps(rmax[r], _mm256_max_ps(a0, a1));
  }
}

// Softmax gradient of query rows i0 .. i0 + R - 1 on keys c0 .. c0 + 15, fused with dP = dO V^T:
// ds[r][jj] = scale * P[i][c0 + jj] * (dO[i] . V[c0 + jj] - rowdot[r]) for keys <= i = i0 + r,
// exactly 0 past the diagonal (P is not read there). vpanel: packed V^T panel (ldb 16).
// Prefetches the same columns of P two row tiles on.
template <int R>
inline void tile_dscores(const float* dout, int64_t ldo, const float* vpanel, int64_t hd, const float* P, int64_t ldp,
                         int64_t c0, int64_t i0, int64_t T, const float* rowdot, float scale, float* ds, int64_t lds) {
  for (int64_t i = i0 + 2 * kTileRows; i < std::min(T, i0 + 3 * kTileRows); ++i)
    if (c0 <= i) _mm_prefetch(reinterpret_cast<const char*>(P + i * ldp + c0), _MM_HINT_T0);
  __m256 acc[R][2];
  accumulate_nn<R>(dout, ldo, vpanel, kTileCols, hd, acc);
  const bool below_diagonal = c0 + kTileCols <= i0 + 1;
  const __m256 vscale = _mm256_set1_ps(scale);
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    const float* prow = P + (i0 + r) * ldp + c0;
    const __m256 d = _mm256_set1_ps(rowdot[r]);
    __m256 p0, p1;
    if (below_diagonal) {
      p0 = _mm256_loadu_ps(prow), p1 = _mm256_loadu_ps(prow + 8);
    } else {
      const __m256 m0 = lanes_below(c0, i0 + r + 1), m1 = lanes_below(c0 + 8, i0 + r + 1);
      p0 = _mm256_and_ps(m0, _mm256_maskload_ps(prow, _mm256_castps_si256(m0)));
      p1 = _mm256_and_ps(m1, _mm256_maskload_ps(prow + 8, _mm256_castps_si256(m1)));
    }
    const __m256 g0 = _mm256_mul_ps(_mm256_mul_ps(p0, vscale), _mm256_sub_ps(acc[r][0], d));
    const __m256 g1 = _mm256_mul_ps(_mm256_mul_ps(p1, vscale), _mm256_sub_ps(acc[r][1], d));
    if (below_diagonal) {
      _mm256_storeu_ps(ds + r * lds, g0), _mm256_storeu_ps(ds + r * lds + 8, g1);
    } else {  // masked lanes are 0 * (finite) = 0; the AND also clears a 0 * inf
      _mm256_storeu_ps(ds + r * lds, _mm256_and_ps(g0, lanes_below(c0, i0 + r + 1)));
      _mm256_storeu_ps(ds + r * lds + 8, _mm256_and_ps(g1, lanes_below(c0 + 8, i0 + r + 1)));
    }
  }
}

// Causal transposed product for key rows j0 .. j0 + R - 1 (`a` points at column j0 of row 0):
// c[r][0:16] (+)= sum_{i in [j0 + r, i_end)} a[i * lda + r] * b[i * ldb + 0:16].
// Entries of `a` above the diagonal are never read.
template <int R>
inline void tile_tn_causal(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t j0, int64_t i_end,
                           float* c, int64_t ldc, bool accumulate) {
  __m256 acc[R][2];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    acc[r][0] = accumulate ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();
    acc[r][1] = accumulate ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_setzero_ps();
  }
  const int64_t diag_end = std::min(i_end, j0 + R);
  for (int64_t i = j0; i < diag_end; ++i) {
    const __m256 b0 = _mm256_loadu_ps(b + i * ldb), b1 = _mm256_loadu_ps(b + i * ldb + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      if (j0 + r > i) continue;  // (not break: the loop must unroll, or acc[] goes to memory)
      const __m256 x = _mm256_broadcast_ss(a + i * lda + r);
      acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
    }
  }
  for (int64_t i = diag_end; i < i_end; ++i) {
    const __m256 b0 = _mm256_loadu_ps(b + i * ldb), b1 = _mm256_loadu_ps(b + i * ldb + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + i * lda + r);
      acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(c + r * ldc, acc[r][0]);
    _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
  }
}

}  // namespace flame::avx2::attention_tiles
