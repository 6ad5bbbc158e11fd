#pragma once
// flame's own single-threaded fp32 GEMM for the training products: C[M, N] (=, or +=) A[M, K] . B[K, N].
// B is packed once into 16-column panels (a PackedB, reusable across calls and shared read-only by
// threads: the weights are packed once per optimizer step); A is read in place through two strides
// (row-major, or a transposed view packed block by block). No separate beta pass: each 6 x 16 tile of
// C is loaded (accumulate, or a later K block) or zeroed in registers, takes one FMA chain over K in
// order, and is stored once per K block. Every C element therefore has a fixed summation order that
// does not depend on how callers split M or N over threads (bitwise reproducible).
//
//   sgemm::PackedB wt;
//   wt.pack_transposed(w, N, K, K);                        // B = W^T (W row-major [N, K])
//   sgemm::gemm(sgemm::rows(x, K), wt, y, N, M, false);     // y[M, N] = x[M, K] . W^T
//   sgemm::PackedB wn;
//   wn.pack(w, N, K, K);                                    // B = W (depth N, width K)
//   sgemm::gemm(sgemm::rows(dy, N), wn, dx, K, M, false);   // dx[M, K] = dy[M, N] . W
//   sgemm::PackedB xb;
//   xb.pack(x, M, K, K);                                    // B = x (depth M, width K)
//   sgemm::gemm(sgemm::transposed(dy, N), xb, dw, K, N, true);  // dW[N, K] += dy^T . x
//
// Fast path: AVX2/FMA 6 x 16 register tile (12 accumulators); scalar twin with the same loop
// structure for CPUs without it (and for tests, via set_force_scalar).
#include <cstdint>
#include <memory>

namespace flame::sgemm {

constexpr int64_t kPanelWidth = 16;   // columns of B per packed panel (NR)
constexpr int64_t kTileRows = 6;      // rows of C per register tile (MR)
constexpr int64_t kDepthBlock = 256;  // K block (KC): one panel's K block is 16 KiB, an L1-resident tile of A 6 KiB

// A[i][k] = data[i * row_stride + k * col_stride].
struct AView {
  const float* data;
  int64_t row_stride;
  int64_t col_stride;
};
// A = the row-major matrix a [M, K] with leading dimension lda.
inline AView rows(const float* a, int64_t lda) {
  return {a, lda, 1};
}
// A = X^T for the row-major matrix X [K, M] with leading dimension ldx.
inline AView transposed(const float* x, int64_t ldx) {
  return {x, 1, ldx};
}

// B [depth, width] in panels of kPanelWidth columns, K block by K block: block b (rows k0 = 256b ..
// k0 + kc) stores panel after panel, each panel its kc rows of 16 values B[k][16p .. 16p + 15]
// (zero padded past width). A K block of all panels is thus one contiguous run (no L2 set
// conflicts between panels), and a K block of one panel is kc x 16 contiguous floats. 64-byte aligned.
class PackedB {
 public:
  PackedB() = default;
  // Allocates (only when it grows) for B [depth, width]; pack_panels* then fill panel ranges, so
  // threads can pack disjoint ranges of one PackedB.
  void resize(int64_t depth, int64_t width);
  // Panels [p0, p1) of B[k][n] = b[k * ldb + n].
  void pack_panels(const float* b, int64_t ldb, int64_t p0, int64_t p1);
  // Panels [p0, p1) of B[k][n] = w[n * ldw + k] (B = W^T for row-major W [width, depth]).
  void pack_panels_transposed(const float* w, int64_t ldw, int64_t p0, int64_t p1);
  // Whole-matrix forms: resize + every panel.
  void pack(const float* b, int64_t depth, int64_t width, int64_t ldb);
  void pack_transposed(const float* w, int64_t width, int64_t depth, int64_t ldw);

  int64_t depth() const { return depth_; }
  int64_t width() const { return width_; }
  int64_t panels() const { return (width_ + kPanelWidth - 1) / kPanelWidth; }
  // The 16 packed values of row k of panel p (k0 = k rounded down to a K block).
  const float* at(int64_t k, int64_t p) const { return data_.get() + offset(k, p); }
  float* at(int64_t k, int64_t p) { return data_.get() + offset(k, p); }

 private:
  struct Free {
    void operator()(float* p) const;
  };
  int64_t offset(int64_t k, int64_t p) const {
    const int64_t k0 = k / kDepthBlock * kDepthBlock;
    const int64_t kc = depth_ - k0 < kDepthBlock ? depth_ - k0 : kDepthBlock;
    return k0 * panels() * kPanelWidth + (p * kc + (k - k0)) * kPanelWidth;
  }
  std::unique_ptr<float[], Free> data_;
  int64_t capacity_ = 0, depth_ = 0, width_ = 0;
};

// C[M, b.width()] (=, or += when accumulate) A[M, b.depth()] . B, C row-major with leading
// dimension ldc. Single-threaded; callers split M (or A's rows) over threads.
void gemm(const AView& a, const PackedB& b, float* c, int64_t ldc, int64_t M, bool accumulate);

// The 6 x 16 tile kernels (exposed for tests and benchmarks): C tile (=, or += when load_c)
// A tile . B panel over kc steps. Row form: A[i][k] = a[i * lda + k]; packed form: a[k * 6 + i].
// b: kc x 16 contiguous. c: 6 rows x 16 columns with leading dimension ldc.
using RowTileFn = void (*)(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, bool load_c);
using PackedTileFn = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool load_c);

namespace scalar {
void tile_rows(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, bool load_c);
void tile_packed(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool load_c);
}  // namespace scalar
namespace avx2 {
// Rows [0, kc - kc % 8) of one full panel's K block of B = W^T: d[k * 16 + j] = w[j * ldw + k] for
// the 16 rows j of W; returns how many k it packed (the caller packs the rest).
int64_t pack_transposed_rows16(const float* w, int64_t ldw, int64_t kc, float* d);
void tile_rows(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, bool load_c);
void tile_packed(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool load_c);
}  // namespace avx2

}  // namespace flame::sgemm
