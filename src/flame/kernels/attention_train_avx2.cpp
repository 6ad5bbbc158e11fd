// AVX2/FMA causal attention for training (compiled with -mavx2 -mfma): every product is a 6 x 16
// register tile with the reduction in the inner loop, so K = head_dim stays in registers and no
// sgemm packing or call overhead is paid per 64-row block. Tiles above the diagonal are skipped
// (16-column granularity for the score tiles, exact rows for the rest), the softmax and its
// backward run on a row tile that is still in L1, and dK/dV are accumulated over key blocks in a
// fixed order (query rows ascending, query heads of a group in order), so results do not depend
// on the thread count.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "flame/kernels/attention_train.h"
#include "flame/kernels/avx2_common.h"

namespace flame::avx2 {
namespace {

constexpr int kTileRows = 6;   // rows of a register tile (6 x 2 accumulators + 2 loads + 1 broadcast)
constexpr int kTileCols = 16;  // columns of a register tile (two 8-float vectors)

int64_t round_up(int64_t n, int64_t m) {
  return (n + m - 1) / m * m;
}

// c[r][0:16] = sum_{k < n} a[r * lda + k] * b[k * ldb + 0:16] for r < R.
template <int R>
inline void tile_nn(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t n, float* c, int64_t ldc) {
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < n; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b + k * ldb), b1 = _mm256_loadu_ps(b + k * ldb + 8);
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + r * lda + k);
      acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(c + r * ldc, acc[r][0]);
    _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
  }
}

// Causal transposed product for key rows j0 .. j0 + R - 1 (`a` points at column j0 of row 0):
// c[r][0:16] (+)= sum_{i in [j0 + r, i_end)} a[i * lda + r] * b[i * ldb + 0:16].
// Entries of `a` above the diagonal are never read.
template <int R>
inline void tile_tn_causal(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t j0, int64_t i_end,
                           float* c, int64_t ldc, bool accumulate) {
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r) {
    acc[r][0] = accumulate ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();
    acc[r][1] = accumulate ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_setzero_ps();
  }
  const int64_t diag_end = std::min(i_end, j0 + R);
  for (int64_t i = j0; i < diag_end; ++i) {
    const __m256 b0 = _mm256_loadu_ps(b + i * ldb), b1 = _mm256_loadu_ps(b + i * ldb + 8);
    for (int r = 0; r < R; ++r) {
      if (j0 + r > i) break;
      const __m256 x = _mm256_broadcast_ss(a + i * lda + r);
      acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
    }
  }
  for (int64_t i = diag_end; i < i_end; ++i) {
    const __m256 b0 = _mm256_loadu_ps(b + i * ldb), b1 = _mm256_loadu_ps(b + i * ldb + 8);
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + i * lda + r);
      acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(c + r * ldc, acc[r][0]);
    _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
  }
}

// Runtime row count (1..6) -> template.
template <class Fn>
inline void with_rows(int64_t rows, Fn&& fn) {
  switch (rows) {
    case 1: return fn(std::integral_constant<int, 1>{});
    case 2: return fn(std::integral_constant<int, 2>{});
    case 3: return fn(std::integral_constant<int, 3>{});
    case 4: return fn(std::integral_constant<int, 4>{});
    case 5: return fn(std::integral_constant<int, 5>{});
    default: return fn(std::integral_constant<int, 6>{});
  }
}

// Lanes i .. i + 7 that are < n.
inline __m256 lanes_below(int64_t i, int64_t n) {
  const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(int32_t(i)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(n)), idx));
}

// K (or V) of one sequence and kv head transposed into panels of 16 keys: panel p holds
// out[p * hd * 16 + d * 16 + jj] = src[(16 p + jj) * stride + d], zero past T.
void pack_transposed_panels(const float* src, int64_t stride, int64_t T, int64_t hd, float* out) {
  for (int64_t p = 0; p < round_up(T, kTileCols) / kTileCols; ++p) {
    float* panel = out + p * hd * kTileCols;
    for (int64_t jj = 0; jj < kTileCols; ++jj) {
      const int64_t j = p * kTileCols + jj;
      for (int64_t d = 0; d < hd; ++d) panel[d * kTileCols + jj] = j < T ? src[j * stride + d] : 0.0f;
    }
  }
}

// Softmax of one score row in place: s[j] = exp(scale (s[j] - max)) / sum for j < n, 0 for
// n <= j < round_up(n, 8). s must be readable up to round_up(n, 8).
void softmax_row(float* s, int64_t n, float scale) {
  const int64_t n8 = round_up(n, 8);
  __m256 vmax = _mm256_set1_ps(-INFINITY);
  for (int64_t j = 0; j < n8; j += 8)
    vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_loadu_ps(s + j), lanes_below(j, n)));
  const __m256 vscale = _mm256_set1_ps(scale), shift = _mm256_set1_ps(-hmax_ps(vmax) * scale);
  const __m256 lo = _mm256_set1_ps(-88.3762626647949f);
  __m256 vsum = _mm256_setzero_ps();
  for (int64_t j = 0; j < n8; j += 8) {
    const __m256 x = _mm256_max_ps(_mm256_fmadd_ps(_mm256_loadu_ps(s + j), vscale, shift), lo);
    const __m256 e = _mm256_and_ps(exp_ps_clamped(x), lanes_below(j, n));
    _mm256_storeu_ps(s + j, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  const __m256 inv = _mm256_set1_ps(1.0f / hsum_ps(vsum));
  for (int64_t j = 0; j < n8; j += 8) _mm256_storeu_ps(s + j, _mm256_mul_ps(_mm256_loadu_ps(s + j), inv));
}

// Softmax backward of one row, scaled: ds[j] = scale p[j] (ds[j] - sum_k p[k] ds[k]) for j < n, 0
// for n <= j < round_up(n, 8). p is read only below n; ds must be readable up to round_up(n, 8).
void softmax_grad_row_scaled(const float* p, float* ds, int64_t n, float scale) {
  const int64_t n8 = round_up(n, 8);
  __m256 vdot = _mm256_setzero_ps();
  for (int64_t j = 0; j < n8; j += 8) {
    const __m256 pj = _mm256_maskload_ps(p + j, _mm256_castps_si256(lanes_below(j, n)));
    vdot = _mm256_fmadd_ps(pj, _mm256_loadu_ps(ds + j), vdot);
  }
  const __m256 dot = _mm256_set1_ps(hsum_ps(vdot)), vscale = _mm256_set1_ps(scale);
  for (int64_t j = 0; j < n8; j += 8) {
    const __m256 m = lanes_below(j, n);
    const __m256 pj = _mm256_maskload_ps(p + j, _mm256_castps_si256(m));
    const __m256 g = _mm256_mul_ps(_mm256_mul_ps(pj, vscale), _mm256_sub_ps(_mm256_loadu_ps(ds + j), dot));
    _mm256_storeu_ps(ds + j, _mm256_and_ps(g, m));
  }
}

// Per-thread scratch that survives calls, so the hot loop never allocates (or page-faults).
float* scratch(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

struct Geometry {
  int64_t T, H, KVH, hd, group, qs, ks, Tp;
  float scale;
};

Geometry geometry(int64_t T, int64_t H, int64_t KVH, int64_t hd) {
  return {T, H, KVH, hd, H / KVH, H * hd, KVH * hd, round_up(T, kTileCols), 1.0f / std::sqrt(float(hd))};
}

// Forward of one sequence and kv head: the group's query heads in order.
void forward_group(const Geometry& G, const float* qb, const float* kg, const float* vg, float* ob, float* probs_b,
                   int64_t g, float* kp, float* s) {
  const int64_t T = G.T, Tp = G.Tp, hd = G.hd;
  pack_transposed_panels(kg, G.ks, T, hd, kp);
  for (int64_t h = g * G.group; h < (g + 1) * G.group; ++h) {
    const float* qh = qb + h * hd;
    float* oh = ob + h * hd;
    float* P = probs_b + h * T * T;
    for (int64_t i0 = 0; i0 < T; i0 += kTileRows) {
      const int64_t rows = std::min<int64_t>(kTileRows, T - i0), end = i0 + rows;
      with_rows(rows, [&](auto R) {
        // S[0:rows, 0:end] = Q K^T, whole 16-key panels (the softmax masks what is past the diagonal).
        for (int64_t p = 0; p < round_up(end, kTileCols) / kTileCols; ++p)
          tile_nn<decltype(R)::value>(qh + i0 * G.qs, G.qs, kp + p * hd * kTileCols, kTileCols, hd, s + p * kTileCols, Tp);
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t i = i0 + r, n = i + 1;
          float* row = s + r * Tp;
          softmax_row(row, n, G.scale);
          std::fill(row + round_up(n, 8), row + std::max(end, round_up(n, 8)), 0.0f);
          // Saved row: P[i][0..i], then zeros up to the end of the 64-row block (header contract).
          float* prow = P + i * T;
          std::copy(row, row + n, prow);
          std::fill(prow + n, prow + std::min(T, std::max(end, round_up(n, 64))), 0.0f);
        }
        // O[i0:end] = P V, reduction over keys [0, end) (zeros past each row's diagonal).
        for (int64_t d0 = 0; d0 < hd; d0 += kTileCols)
          tile_nn<decltype(R)::value>(s, Tp, vg + d0, G.ks, end, oh + i0 * G.qs + d0, G.qs);
      });
    }
  }
}

// Backward of one sequence and kv head. ds is a [T, Tp] scratch holding one head's scaled dS.
void backward_group(const Geometry& G, const float* dob, const float* qb, const float* kg, const float* vg,
                    const float* probs_b, float* dqb, float* dkg, float* dvg, int64_t g, float* vp, float* ds) {
  const int64_t T = G.T, Tp = G.Tp, hd = G.hd;
  pack_transposed_panels(vg, G.ks, T, hd, vp);
  for (int64_t h = g * G.group; h < (g + 1) * G.group; ++h) {
    const float* qh = qb + h * hd;
    const float* doh = dob + h * hd;
    float* dqh = dqb + h * hd;
    const float* P = probs_b + h * T * T;
    const bool accumulate = h != g * G.group;
    for (int64_t i0 = 0; i0 < T; i0 += kTileRows) {
      const int64_t rows = std::min<int64_t>(kTileRows, T - i0), end = i0 + rows;
      with_rows(rows, [&](auto R) {
        float* dsb = ds + i0 * Tp;
        // dP = dO V^T, then dS = scale P (dP - rowsum(P dP)) with zeros past the diagonal.
        for (int64_t p = 0; p < round_up(end, kTileCols) / kTileCols; ++p)
          tile_nn<decltype(R)::value>(doh + i0 * G.qs, G.qs, vp + p * hd * kTileCols, kTileCols, hd, dsb + p * kTileCols, Tp);
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t n = i0 + r + 1;
          float* row = dsb + r * Tp;
          softmax_grad_row_scaled(P + (i0 + r) * T, row, n, G.scale);
          std::fill(row + round_up(n, 8), row + std::max(end, round_up(n, 8)), 0.0f);
        }
        // dQ[i0:end] = dS K over keys [0, end).
        for (int64_t d0 = 0; d0 < hd; d0 += kTileCols)
          tile_nn<decltype(R)::value>(dsb, Tp, kg + d0, G.ks, end, dqh + i0 * G.qs + d0, G.qs);
      });
    }
    // dK[j] (+)= sum_{i >= j} dS[i][j] Q[i];  dV[j] (+)= sum_{i >= j} P[i][j] dO[i].
    for (int64_t j0 = 0; j0 < T; j0 += kTileRows) {
      with_rows(std::min<int64_t>(kTileRows, T - j0), [&](auto R) {
        for (int64_t d0 = 0; d0 < hd; d0 += kTileCols) {
          tile_tn_causal<decltype(R)::value>(ds + j0, Tp, qh + d0, G.qs, j0, T, dkg + j0 * G.ks + d0, G.ks, accumulate);
          tile_tn_causal<decltype(R)::value>(P + j0, T, doh + d0, G.qs, j0, T, dvg + j0 * G.ks + d0, G.ks, accumulate);
        }
      });
    }
  }
}

thread_local std::vector<float> t_panels, t_tile;

}  // namespace

bool attention_supported(int64_t hd) {
  return hd > 0 && hd % kTileCols == 0;
}

void attention_forward(const float* q, const float* k, const float* v, float* out, float* probs, int64_t B, int64_t T,
                       int64_t H, int64_t KVH, int64_t hd, ThreadPool& pool) {
  const Geometry G = geometry(T, H, KVH, hd);
  pool.parallel_for(B * KVH, [&](int64_t begin, int64_t end) {
    float* kp = scratch(t_panels, size_t(G.Tp * hd));
    float* s = scratch(t_tile, size_t(kTileRows * G.Tp));
    for (int64_t bg = begin; bg < end; ++bg) {
      const int64_t b = bg / KVH, g = bg % KVH;
      forward_group(G, q + b * T * G.qs, k + b * T * G.ks + g * hd, v + b * T * G.ks + g * hd, out + b * T * G.qs,
                    probs + b * H * T * T, g, kp, s);
    }
  });
}

void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* probs,
                        float* dq, float* dk, float* dv, int64_t B, int64_t T, int64_t H, int64_t KVH, int64_t hd,
                        ThreadPool& pool) {
  const Geometry G = geometry(T, H, KVH, hd);
  pool.parallel_for(B * KVH, [&](int64_t begin, int64_t end) {
    float* vp = scratch(t_panels, size_t(G.Tp * hd));
    float* ds = scratch(t_tile, size_t(T * G.Tp));
    for (int64_t bg = begin; bg < end; ++bg) {
      const int64_t b = bg / KVH, g = bg % KVH;
      const int64_t kv = b * T * G.ks + g * hd;
      backward_group(G, dout + b * T * G.qs, q + b * T * G.qs, k + kv, v + kv, probs + b * H * T * T,
                     dq + b * T * G.qs, dk + kv, dv + kv, g, vp, ds);
    }
  });
}

}  // namespace flame::avx2
