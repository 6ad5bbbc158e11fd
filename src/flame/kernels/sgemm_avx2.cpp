// AVX2/FMA 6 x 16 tile of flame's fp32 GEMM (sgemm.h): 12 ymm accumulators; per k two B loads
// (one 16-float panel row) and six broadcasts of A, 12 FMAs. One FMA chain per C element in k
// order, starting from C (load_c) or zero.
#include <immintrin.h>

#include "flame/kernels/sgemm.h"

namespace flame::sgemm::avx2 {
namespace {

// a_at(i, k): pointer to A[i][k] for the tile's row i (i = 0..5).
template <class AAt>
inline __attribute__((always_inline)) void tile(int64_t kc, AAt a_at, const float* b, float* c, int64_t ldc,
                                                bool load_c) {
  // The tile of C is needed only after the k loop: prefetch it now (for writing) so its misses
  // overlap the FMAs instead of stalling the first loads or the final stores.
  for (int i = 0; i < int(kTileRows); ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + kPanelWidth - 1), _MM_HINT_T0);
  }
  __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
  c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b + k * kPanelWidth), b1 = _mm256_load_ps(b + k * kPanelWidth + 8);
    __m256 a = _mm256_broadcast_ss(a_at(0, k));
    c00 = _mm256_fmadd_ps(a, b0, c00), c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(a_at(1, k));
    c10 = _mm256_fmadd_ps(a, b0, c10), c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(a_at(2, k));
    c20 = _mm256_fmadd_ps(a, b0, c20), c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(a_at(3, k));
    c30 = _mm256_fmadd_ps(a, b0, c30), c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(a_at(4, k));
    c40 = _mm256_fmadd_ps(a, b0, c40), c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(a_at(5, k));
    c50 = _mm256_fmadd_ps(a, b0, c50), c51 = _mm256_fmadd_ps(a, b1, c51);
  }
  if (load_c) {
    c00 = _mm256_add_ps(c00, _mm256_loadu_ps(c + 0 * ldc)), c01 = _mm256_add_ps(c01, _mm256_loadu_ps(c + 0 * ldc + 8));
    c10 = _mm256_add_ps(c10, _mm256_loadu_ps(c + 1 * ldc)), c11 = _mm256_add_ps(c11, _mm256_loadu_ps(c + 1 * ldc + 8));
    c20 = _mm256_add_ps(c20, _mm256_loadu_ps(c + 2 * ldc)), c21 = _mm256_add_ps(c21, _mm256_loadu_ps(c + 2 * ldc + 8));
    c30 = _mm256_add_ps(c30, _mm256_loadu_ps(c + 3 * ldc)), c31 = _mm256_add_ps(c31, _mm256_loadu_ps(c + 3 * ldc + 8));
    c40 = _mm256_add_ps(c40, _mm256_loadu_ps(c + 4 * ldc)), c41 = _mm256_add_ps(c41, _mm256_loadu_ps(c + 4 * ldc + 8));
    c50 = _mm256_add_ps(c50, _mm256_loadu_ps(c + 5 * ldc)), c51 = _mm256_add_ps(c51, _mm256_loadu_ps(c + 5 * ldc + 8));
  }
  _mm256_storeu_ps(c + 0 * ldc, c00), _mm256_storeu_ps(c + 0 * ldc + 8, c01);
  _mm256_storeu_ps(c + 1 * ldc, c10), _mm256_storeu_ps(c + 1 * ldc + 8, c11);
  _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
  _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
  _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
  _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}

}  // namespace

void tile_rows(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, bool load_c) {
  const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
  const float* rows[kTileRows] = {a0, a1, a2, a3, a4, a5};
  tile(
      kc, [&](int i, int64_t k) { return rows[i] + k; }, b, c, ldc, load_c);
}

void tile_packed(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool load_c) {
  tile(
      kc, [&](int i, int64_t k) { return a + k * kTileRows + i; }, b, c, ldc, load_c);
}

}  // namespace flame::sgemm::avx2

namespace flame::sgemm::avx2 {
namespace {
// Transposes the 8 x 8 block r[0..7] in place (r[i] = row i on entry, column i on exit).
inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20), r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20), r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31), r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31), r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}
}  // namespace

int64_t pack_transposed_rows16(const float* w, int64_t ldw, int64_t kc, float* d) {
  const int64_t k8 = kc / 8 * 8;
  for (int64_t k = 0; k < k8; k += 8)
    for (int half = 0; half < 2; ++half) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(w + (half * 8 + i) * ldw + k);
      transpose8(r);  // r[j] = W[half*8 .. half*8+7][k + j]
      for (int j = 0; j < 8; ++j) _mm256_store_ps(d + (k + j) * kPanelWidth + half * 8, r[j]);
    }
  return k8;
}

}  // namespace flame::sgemm::avx2
