// AVX2/FMA causal attention for training (compiled with -mavx2 -mfma), built from the register
// tiles of attention_tiles_avx2.h. Per (sequence, kv head), the group's query heads in order:
//   forward:  score tiles S = Q K^T (row maxima kept in the tile epilogue), one exp pass per row in
//             L1, P = E / sum streamed to `probs` (non-temporal: it is read back only in the
//             backward), O = (E V) / sum with the normalisation in the tile epilogue.
//   backward: dS = scale P (dO V^T - rowdot) fused into the dP tiles (rowdot = dO . O, or the
//             classic sum_j P dP pass when O is not given), dQ = dS K, then dK = dS^T Q and
//             dV = P^T dO over key tiles, the rows in ascending order and the heads of a group in
//             order, so sums do not depend on the thread count.
// Tiles above the diagonal are skipped (16-key granularity for scores, exact rows elsewhere).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "flame/kernels/attention_tiles_avx2.h"
#include "flame/kernels/attention_train.h"
#include "flame/kernels/avx2_common.h"

namespace flame::avx2 {
namespace {

using namespace attention_tiles;

// Prefetch rows [first, last) (clipped to T) of hd floats at `stride`. Rows of one head are 1 KiB
// or more apart (a new 4 KiB page every few rows), which the hardware prefetchers do not follow.
void prefetch_rows(const float* base, int64_t stride, int64_t first, int64_t last, int64_t T, int64_t hd) {
  for (int64_t i = first; i < std::min(last, T); ++i)
    for (int64_t d = 0; d < hd; d += 16)
      _mm_prefetch(reinterpret_cast<const char*>(base + i * stride + d), _MM_HINT_T0);
}

// Row tiles run this far behind their prefetches (one tile of compute is short next to a DRAM
// miss; against prefetching one tile ahead no difference was measurable on the shared machine).
constexpr int64_t kAhead = kTileRows;

// K (or V) of one sequence and kv head transposed into panels of 16 keys: panel p holds
// out[p * hd * 16 + d * 16 + jj] = src[(16 p + jj) * stride + d], zero past T.
void pack_transposed_panels(const float* src, int64_t stride, int64_t T, int64_t hd, float* out) {
  prefetch_rows(src, stride, 0, kTileCols, T, hd);
  for (int64_t p = 0; p < round_up(T, kTileCols) / kTileCols; ++p) {
    prefetch_rows(src, stride, (p + 1) * kTileCols, (p + 2) * kTileCols, T, hd);
    float* panel = out + p * hd * kTileCols;
    for (int64_t jj = 0; jj < kTileCols; ++jj) {
      const int64_t j = p * kTileCols + jj;
      for (int64_t d = 0; d < hd; ++d) panel[d * kTileCols + jj] = j < T ? src[j * stride + d] : 0.0f;
    }
  }
}

// 2^t for t in [-125, 0]: t = n + f with n = round(t), f in [-0.5, 0.5]; 2^f by a degree-5
// polynomial (minimax for relative error, 2.4e-7 max in float32, like expf's ~2 ulp), times 2^n
// by adding n to the exponent bits. 12 operations per 8 values against ~19 for the Cephes exp with
// its two-constant ln 2 reduction, which a softmax does not need: its exponent is formed by one
// fused multiply-add either way, and the shift's rounding cancels in the normalisation.
inline __m256 exp2_nonpositive(__m256 t) {
  const __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_sub_ps(t, n);
  __m256 p = _mm256_set1_ps(0.001327647129073739f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(0.009675540961325169f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(0.05550713092088699f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(0.24022120237350464f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(0.6931469440460205f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
  return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), e));
}

// s[j] = exp(scale (s[j] - mx)) for j < n, 0 for n <= j < round_up(n, 8); returns the sum.
// s must be readable up to round_up(n, 8).
float exp_row(float* s, int64_t n, float scale, float mx) {
  const float c = scale * 1.44269504088896341f;  // log2(e)
  const __m256 vc = _mm256_set1_ps(c), shift = _mm256_set1_ps(-mx * c), lo = _mm256_set1_ps(-125.0f);
  auto exp_at = [&](int64_t j) {
    return exp2_nonpositive(_mm256_max_ps(_mm256_fmadd_ps(_mm256_loadu_ps(s + j), vc, shift), lo));
  };
  __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256 e0 = exp_at(j), e1 = exp_at(j + 8);
    _mm256_storeu_ps(s + j, e0), _mm256_storeu_ps(s + j + 8, e1);
    sum0 = _mm256_add_ps(sum0, e0), sum1 = _mm256_add_ps(sum1, e1);
  }
  for (; j < n; j += 8) {
    const __m256 e = _mm256_and_ps(exp_at(j), lanes_below(j, n));
    _mm256_storeu_ps(s + j, e);
    sum0 = _mm256_add_ps(sum0, e);
  }
  return hsum_ps(_mm256_add_ps(sum0, sum1));
}

// dst[j] = src[j] * mul for j < n; whole 64-byte lines of dst with non-temporal stores (no read
// for ownership, no cache pollution), the partial lines at either end with ordinary stores.
void stream_scaled(float* dst, const float* src, int64_t n, float mul) {
  int64_t j = 0;
  const int64_t head = std::min<int64_t>(n, ((64 - int64_t(reinterpret_cast<uintptr_t>(dst) & 63)) & 63) / 4);
  for (; j < head; ++j) dst[j] = src[j] * mul;
  const __m256 m = _mm256_set1_ps(mul);
  for (; j + 16 <= n; j += 16) {
    _mm256_stream_ps(dst + j, _mm256_mul_ps(_mm256_loadu_ps(src + j), m));
    _mm256_stream_ps(dst + j + 8, _mm256_mul_ps(_mm256_loadu_ps(src + j + 8), m));
  }
  for (; j < n; ++j) dst[j] = src[j] * mul;
}

float dot(const float* a, const float* b, int64_t n) {  // n a multiple of 8
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  return hsum_ps(acc);
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

void fill_zero(float* begin, float* end) {
  if (begin < end) std::fill(begin, end, 0.0f);
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

// Forward of one sequence and kv head; s is a [kTileRows, Tp] scratch tile.
void forward_group(const Geometry& G, const float* qb, const float* kg, const float* vg, float* ob, float* probs_b,
                   int64_t g, float* kp, float* s) {
  const int64_t T = G.T, Tp = G.Tp, hd = G.hd;
  pack_transposed_panels(kg, G.ks, T, hd, kp);
  for (int64_t h = g * G.group; h < (g + 1) * G.group; ++h) {
    const float* qh = qb + h * hd;
    float* oh = ob + h * hd;
    float* P = probs_b + h * T * T;
    prefetch_rows(qh, G.qs, 0, kTileRows + kAhead, T, hd);
    for (int64_t i0 = 0; i0 < T; i0 += kTileRows) {
      const int64_t rows = std::min<int64_t>(kTileRows, T - i0), end = i0 + rows;
      prefetch_rows(qh, G.qs, end + kAhead, end + kAhead + kTileRows, T, hd);  // queries two tiles on
      prefetch_rows(vg, G.ks, end + kAhead, end + kAhead + kTileRows, T, hd);  // values their P V adds
      with_rows(rows, [&](auto R_) {
        constexpr int R = decltype(R_)::value;
        __m256 rmax[R];
        for (int r = 0; r < R; ++r) rmax[r] = _mm256_set1_ps(-INFINITY);
        for (int64_t c0 = 0; c0 < end; c0 += kTileCols)
          tile_scores<R>(qh + i0 * G.qs, G.qs, kp + c0 * hd, hd, s + c0, Tp, c0, i0, rmax);
        float inv[R];
        for (int r = 0; r < R; ++r) {
          const int64_t n = i0 + r + 1;
          float* row = s + r * Tp;
          inv[r] = 1.0f / exp_row(row, n, G.scale, hmax_ps(rmax[r]));
          // Saved row: P[i][0..i], then zeros up to the end of the 64-row block (header contract);
          // the scratch row is zero from n on, as far as this and the P V reduction read.
          const int64_t saved = std::min(T, std::max(end, round_up(n, 64)));
          fill_zero(row + round_up(n, 8), row + saved);
          stream_scaled(P + (i0 + r) * T, row, saved, inv[r]);
        }
        // O[i0:end] = (E V) / sum over keys [0, end).
        for (int64_t d0 = 0; d0 < hd; d0 += kTileCols)
          tile_nn<R>(s, Tp, vg + d0, G.ks, end, oh + i0 * G.qs + d0, G.qs, inv);
      });
    }
  }
}

// Backward of one sequence and kv head. ds is a [T, Tp] scratch holding one head's scaled dS;
// ob (the forward output) may be null.
void backward_group(const Geometry& G, const float* dob, const float* qb, const float* kg, const float* vg,
                    const float* ob, const float* probs_b, float* dqb, float* dkg, float* dvg, int64_t g, float* vp,
                    float* ds) {
  const int64_t T = G.T, Tp = G.Tp, hd = G.hd;
  pack_transposed_panels(vg, G.ks, T, hd, vp);
  for (int64_t h = g * G.group; h < (g + 1) * G.group; ++h) {
    const float* qh = qb + h * hd;
    const float* doh = dob + h * hd;
    float* dqh = dqb + h * hd;
    const float* P = probs_b + h * T * T;
    const bool accumulate = h != g * G.group;
    prefetch_rows(doh, G.qs, 0, kTileRows + kAhead, T, hd);
    if (ob) prefetch_rows(ob + h * hd, G.qs, 0, kTileRows + kAhead, T, hd);
    for (int64_t i = 0; i < std::min(T, kTileRows + kAhead); ++i)  // the dS tiles prefetch P from here on
      for (int64_t c0 = 0; c0 <= i; c0 += kTileCols)
        _mm_prefetch(reinterpret_cast<const char*>(P + i * T + c0), _MM_HINT_T0);
    for (int64_t i0 = 0; i0 < T; i0 += kTileRows) {
      const int64_t rows = std::min<int64_t>(kTileRows, T - i0), end = i0 + rows;
      // Rows of dO, O and Q (Q for the dK pass below) two tiles on, and the keys their dQ adds.
      prefetch_rows(doh, G.qs, end + kAhead, end + kAhead + kTileRows, T, hd);
      if (ob) prefetch_rows(ob + h * hd, G.qs, end + kAhead, end + kAhead + kTileRows, T, hd);
      prefetch_rows(qh, G.qs, end + kAhead, end + kAhead + kTileRows, T, hd);
      prefetch_rows(kg, G.ks, end + kAhead, end + kAhead + kTileRows, T, hd);
      with_rows(rows, [&](auto R_) {
        constexpr int R = decltype(R_)::value;
        float* dsb = ds + i0 * Tp;
        if (ob) {
          // sum_j P[i][j] dP[i][j] = dO[i] . O[i]: known before the tile, so dS comes out of it.
          float rowdot[R];
          for (int r = 0; r < R; ++r) rowdot[r] = dot(doh + (i0 + r) * G.qs, ob + h * hd + (i0 + r) * G.qs, hd);
          for (int64_t c0 = 0; c0 < end; c0 += kTileCols)
            tile_dscores<R>(doh + i0 * G.qs, G.qs, vp + c0 * hd, hd, P, T, c0, i0, T, rowdot, G.scale, dsb + c0, Tp);
        } else {
          for (int64_t c0 = 0; c0 < end; c0 += kTileCols)
            tile_nn<R>(doh + i0 * G.qs, G.qs, vp + c0 * hd, kTileCols, hd, dsb + c0, Tp, nullptr);
          for (int r = 0; r < R; ++r) softmax_grad_row_scaled(P + (i0 + r) * T, dsb + r * Tp, i0 + r + 1, G.scale);
        }
        for (int r = 0; r < R; ++r) fill_zero(dsb + r * Tp + round_up(i0 + r + 1, 8), dsb + r * Tp + end);
        // dQ[i0:end] = dS K over keys [0, end).
        for (int64_t d0 = 0; d0 < hd; d0 += kTileCols)
          tile_nn<R>(dsb, Tp, kg + d0, G.ks, end, dqh + i0 * G.qs + d0, G.qs, nullptr);
      });
    }
    // dK[j] (+)= sum_{i >= j} dS[i][j] Q[i];  dV[j] (+)= sum_{i >= j} P[i][j] dO[i].
    for (int64_t j0 = 0; j0 < T; j0 += kTileRows) {
      with_rows(std::min<int64_t>(kTileRows, T - j0), [&](auto R_) {
        constexpr int R = decltype(R_)::value;
        // All column tiles of dK, then of dV: the column strip of dS (then P) is reused from L1.
        for (int64_t d0 = 0; d0 < hd; d0 += kTileCols)
          tile_tn_causal<R>(ds + j0, Tp, qh + d0, G.qs, j0, T, dkg + j0 * G.ks + d0, G.ks, accumulate);
        for (int64_t d0 = 0; d0 < hd; d0 += kTileCols)
          tile_tn_causal<R>(P + j0, T, doh + d0, G.qs, j0, T, dvg + j0 * G.ks + d0, G.ks, accumulate);
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
    _mm_sfence();  // the streamed probabilities are visible to whichever thread runs the backward
  });
}

void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* out,
                        const float* probs, float* dq, float* dk, float* dv, int64_t B, int64_t T, int64_t H,
                        int64_t KVH, int64_t hd, ThreadPool& pool) {
  const Geometry G = geometry(T, H, KVH, hd);
  pool.parallel_for(B * KVH, [&](int64_t begin, int64_t end) {
    float* vp = scratch(t_panels, size_t(G.Tp * hd));
    float* ds = scratch(t_tile, size_t(T * G.Tp));
    for (int64_t bg = begin; bg < end; ++bg) {
      const int64_t b = bg / KVH, g = bg % KVH;
      const int64_t kv = b * T * G.ks + g * hd;
      backward_group(G, dout + b * T * G.qs, q + b * T * G.qs, k + kv, v + kv, out ? out + b * T * G.qs : nullptr,
                     probs + b * H * T * T, dq + b * T * G.qs, dk + kv, dv + kv, g, vp, ds);
    }
  });
}

}  // namespace flame::avx2
