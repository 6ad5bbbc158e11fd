// AVX2/FMA/F16C twins of the matmul row kernels (compiled with -mavx2 -mfma -mf16c).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>

#include "flame/core/half.h"
#include "flame/kernels/avx2_common.h"
#include "flame/kernels/matmul_detail.h"

namespace flame::detail {
namespace {

inline __m256 load8(const float* p) {
  return _mm256_loadu_ps(p);
}
inline __m256 load8(const uint16_t* p, DType type) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if (type == DType::F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

using avx2::hsum_ps;

inline float to_f32(const uint16_t v, DType type) {
  return type == DType::F16 ? f16_to_f32(v) : bf16_to_f32(v);
}

// One weight row against up to kMaxM input rows at once, so the row is read from memory once.
constexpr int kMaxM = 4;

enum class WeightKind { F32, F16, BF16 };

template <WeightKind K>
inline __m256 load_weights8(const uint8_t* row, int64_t j) {
  if constexpr (K == WeightKind::F32) return load8(reinterpret_cast<const float*>(row) + j);
  if constexpr (K == WeightKind::F16) return load8(reinterpret_cast<const uint16_t*>(row) + j, DType::F16);
  return load8(reinterpret_cast<const uint16_t*>(row) + j, DType::BF16);
}

template <WeightKind K>
inline float weight_at(const uint8_t* row, int64_t j) {
  if constexpr (K == WeightKind::F32) return reinterpret_cast<const float*>(row)[j];
  return to_f32(reinterpret_cast<const uint16_t*>(row)[j], K == WeightKind::F16 ? DType::F16 : DType::BF16);
}

// x holds M rows `ldx` floats apart; dots their first `k` (a multiple of 8) elements with the row.
// Decode (M == 1) keeps four independent accumulator chains so FMA latency, not memory, is never
// the limit; with more input rows there is enough independent work per weight load already.
template <int M, WeightKind K>
void dot_rows(const float* x, int64_t ldx, int64_t k, const uint8_t* row, float (&out)[kMaxM]) {
  constexpr int A = M == 1 ? 4 : 2;
  __m256 acc[A][M];
  for (int a = 0; a < A; ++a)
    for (int i = 0; i < M; ++i) acc[a][i] = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 * A <= k; j += 8 * A) {
    for (int a = 0; a < A; ++a) {
      const __m256 w = load_weights8<K>(row, j + 8 * a);
      for (int i = 0; i < M; ++i) acc[a][i] = _mm256_fmadd_ps(w, load8(x + i * ldx + j + 8 * a), acc[a][i]);
    }
  }
  for (; j + 8 <= k; j += 8) {
    const __m256 w = load_weights8<K>(row, j);
    for (int i = 0; i < M; ++i) acc[0][i] = _mm256_fmadd_ps(w, load8(x + i * ldx + j), acc[0][i]);
  }
  for (int i = 0; i < M; ++i) {
    __m256 sum = acc[0][i];
    for (int a = 1; a < A; ++a) sum = _mm256_add_ps(sum, acc[a][i]);
    out[i] = hsum_ps(sum);
  }
}

// Decode of long rows (one input row, k > kLongRowK): R weight rows per pass over x, so each 8-float
// load of x feeds R FMAs and x is read once per R rows. With k = 8192 the 32 KB input fills L1 by
// itself, and one row at a time re-streams it from L2 next to every weight row: that ran at 60% of
// the 4-row speed, and 8 rows per pass (x re-read once per 128 KB of weights instead of 64 KB) ran
// the 2048 x 8192 F16 product ~5% faster again from memory (flame_bench DecodeStream/1/2048/8192).
// Eight rows leave one accumulator chain per row (8 independent FMA chains hide the latency). Short
// rows stay one at a time (dot_rows<1>): their x sits in L1 anyway, and four interleaved 4 KB
// streams read memory slower than one sequential stream (measured ~30% slower at k = 2048). Every
// row keeps the same single chain whatever R is, so a row's result does not depend on how the rows
// around it were grouped.
constexpr int64_t kLongRowK = 4096;
constexpr int kRowsPerPass = 8;

template <int R, WeightKind K>
void dot_weight_rows(const float* x, int64_t k8, const uint8_t* const (&rows)[kRowsPerPass], float* out) {
  __m256 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t j = 0; j < k8; j += 8) {
    const __m256 xj = load8(x + j);
    for (int r = 0; r < R; ++r) acc[r] = _mm256_fmadd_ps(load_weights8<K>(rows[r], j), xj, acc[r]);
  }
  for (int r = 0; r < R; ++r) out[r] = hsum_ps(acc[r]);
}

using PassFn = void (*)(const float*, int64_t, const uint8_t* const (&)[kRowsPerPass], float*);

// dot_weight_rows<R, K> for R = 1 ... kRowsPerPass, indexed by R - 1.
template <WeightKind K, size_t... R>
constexpr std::array<PassFn, sizeof...(R)> make_passes(std::index_sequence<R...>) {
  return {dot_weight_rows<static_cast<int>(R) + 1, K>...};
}
template <WeightKind K>
const std::array<PassFn, kRowsPerPass>& passes_for() {
  static constexpr auto passes = make_passes<K>(std::make_index_sequence<kRowsPerPass>());
  return passes;
}

template <WeightKind K>
void gemv_long_rows(const void* weights, size_t row_stride, const float* x, float* y, int64_t k, int64_t row_begin,
                    int64_t row_end) {
  const int64_t k8 = k / 8 * 8;
  const auto* base = static_cast<const uint8_t*>(weights);
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kRowsPerPass) {
    const int rows_now = static_cast<int>(std::min<int64_t>(kRowsPerPass, row_end - r0));
    const uint8_t* rows[kRowsPerPass];
    for (int r = 0; r < kRowsPerPass; ++r)
      rows[r] = base + static_cast<size_t>(r0 + std::min(r, rows_now - 1)) * row_stride;
    float out[kRowsPerPass];
    passes_for<K>()[rows_now - 1](x, k8, rows, out);
    for (int r = 0; r < rows_now; ++r) {
      for (int64_t j = k8; j < k; ++j) out[r] += weight_at<K>(rows[r], j) * x[j];
      y[r0 + r] = out[r];
    }
  }
}

template <int M, WeightKind K>
void gemv_block_typed(const void* weights, size_t row_stride, const float* x, float* y, int64_t k, int64_t ldy,
                      int64_t row_begin, int64_t row_end) {
  if (M == 1 && k > kLongRowK) {
    gemv_long_rows<K>(weights, row_stride, x, y, k, row_begin, row_end);
    return;
  }
  const int64_t k8 = k / 8 * 8;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const auto* row = static_cast<const uint8_t*>(weights) + static_cast<size_t>(r) * row_stride;
    float out[kMaxM] = {};
    dot_rows<M, K>(x, k, k8, row, out);
    for (int i = 0; i < M; ++i)
      for (int64_t j = k8; j < k; ++j) out[i] += weight_at<K>(row, j) * x[i * k + j];
    for (int i = 0; i < M; ++i) y[i * ldy + r] = out[i];
  }
}

template <int M>
void gemv_block(DType type, const void* weights, size_t row_stride, const float* x, float* y, int64_t k, int64_t ldy,
                int64_t row_begin, int64_t row_end) {
  if (type == DType::F32)
    gemv_block_typed<M, WeightKind::F32>(weights, row_stride, x, y, k, ldy, row_begin, row_end);
  else if (type == DType::F16)
    gemv_block_typed<M, WeightKind::F16>(weights, row_stride, x, y, k, ldy, row_begin, row_end);
  else
    gemv_block_typed<M, WeightKind::BF16>(weights, row_stride, x, y, k, ldy, row_begin, row_end);
}

}  // namespace

void gemv_rows_avx2(DType type, const void* weights, size_t row_stride, const float* x, float* y, int64_t m, int64_t k,
                    int64_t ldy, int64_t row_begin, int64_t row_end) {
  for (int64_t i0 = 0; i0 < m; i0 += kMaxM) {
    const int64_t mi = m - i0 < kMaxM ? m - i0 : kMaxM;
    const float* xi = x + i0 * k;
    float* yi = y + i0 * ldy;
    switch (mi) {
      case 1:
        gemv_block<1>(type, weights, row_stride, xi, yi, k, ldy, row_begin, row_end);
        break;
      case 2:
        gemv_block<2>(type, weights, row_stride, xi, yi, k, ldy, row_begin, row_end);
        break;
      case 3:
        gemv_block<3>(type, weights, row_stride, xi, yi, k, ldy, row_begin, row_end);
        break;
      default:
        gemv_block<4>(type, weights, row_stride, xi, yi, k, ldy, row_begin, row_end);
        break;
    }
  }
}

void rows_to_f32_avx2(DType type, const void* weights, size_t row_stride, float* dst, int64_t rows, int64_t k) {
  for (int64_t r = 0; r < rows; ++r) {
    const auto* row = static_cast<const uint8_t*>(weights) + static_cast<size_t>(r) * row_stride;
    float* d = dst + r * k;
    if (type == DType::F32) {
      const float* w = reinterpret_cast<const float*>(row);
      for (int64_t j = 0; j < k; ++j) d[j] = w[j];
      continue;
    }
    const uint16_t* w = reinterpret_cast<const uint16_t*>(row);
    int64_t j = 0;
    for (; j + 8 <= k; j += 8) _mm256_storeu_ps(d + j, load8(w + j, type));
    for (; j < k; ++j) d[j] = to_f32(w[j], type);
  }
}

}  // namespace flame::detail
