// Blocked driver of flame's fp32 GEMM (sgemm.h): loops K blocks, row blocks of A, B panels and
// 6-row tiles, so a K block of one B panel (16 KiB at kc = 256) stays in L1 across the tiles of a
// row block (in L2). Also the panel packing and the scalar tile kernels.
#include "flame/kernels/sgemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "flame/core/cpu.h"

namespace flame::sgemm {

namespace {
// Panels per block of B (N block): 16 panels x one K block = 256 KiB, L2-resident while every
// 6-row tile of A (L1-resident) runs across them.
constexpr int64_t kPanelBlock = 16;
// Rows of A per block: bounds the packed-A scratch (768 x 256 floats); a multiple of kTileRows.
constexpr int64_t kRowBlock = 768;

float* allocate_floats(int64_t n) {
  const size_t bytes = (size_t(std::max<int64_t>(n, 1)) * sizeof(float) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<float*>(p);
}

// Per-thread aligned scratch that only grows.
struct Scratch {
  float* data = nullptr;
  int64_t capacity = 0;
  ~Scratch() { std::free(data); }
  float* get(int64_t n) {
    if (n > capacity) {
      std::free(data);
      data = nullptr;
      data = allocate_floats(n);
      capacity = n;
    }
    return data;
  }
};

// Packs A[m0 + i][k0 + k] (i < mc, k < kc) into tiles of kTileRows rows: tile t holds, for every
// k, its 6 values contiguously (dst[t * 6 * kc + k * 6 + i]); rows past mc are zero.
void pack_a(const AView& a, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* dst) {
  if (a.row_stride == 1) {
    // A = X^T: A's column k is a contiguous run of X's row k. Read row after row (sequential,
    // prefetch-friendly) and deal each row's 6-value pieces out to the tiles.
    const int64_t full = mc - mc % kTileRows;
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = a.data + (k0 + k) * a.col_stride + m0;
      float* d = dst + k * kTileRows;
      for (int64_t t0 = 0; t0 < full; t0 += kTileRows) std::memcpy(d + t0 * kc, src + t0, sizeof(float) * kTileRows);
      if (full < mc)
        for (int64_t i = 0; i < kTileRows; ++i) d[full * kc + i] = full + i < mc ? src[full + i] : 0.0f;
    }
    return;
  }
  for (int64_t t0 = 0; t0 < mc; t0 += kTileRows) {
    float* d = dst + t0 * kc;
    const int64_t rows = std::min(kTileRows, mc - t0);
    for (int64_t i = 0; i < kTileRows; ++i) {
      if (i >= rows) {
        for (int64_t k = 0; k < kc; ++k) d[k * kTileRows + i] = 0.0f;
        continue;
      }
      const float* src = a.data + (m0 + t0 + i) * a.row_stride + k0 * a.col_stride;
      for (int64_t k = 0; k < kc; ++k) d[k * kTileRows + i] = src[k * a.col_stride];
    }
  }
}

// Row-major A is read in place (a 6-row tile stays in L1 across a block of panels); a transposed
// A is packed block by block.
bool must_pack_a(const AView& a) {
  return a.col_stride != 1;
}

struct TileKernels {
  RowTileFn rows;
  PackedTileFn packed;
};

TileKernels tile_kernels() {
  if (cpu().has_avx2_fma()) return {avx2::tile_rows, avx2::tile_packed};
  return {scalar::tile_rows, scalar::tile_packed};
}
}  // namespace

void PackedB::Free::operator()(float* p) const {
  std::free(p);
}

void PackedB::resize(int64_t depth, int64_t width) {
  const int64_t need = depth * ((width + kPanelWidth - 1) / kPanelWidth) * kPanelWidth;
  if (need > capacity_) {
    data_.reset(allocate_floats(need));
    capacity_ = need;
  }
  depth_ = depth;
  width_ = width;
}

void PackedB::pack_panels(const float* b, int64_t ldb, int64_t p0, int64_t p1) {
  // Row by row: B is read sequentially, each panel written sequentially.
  for (int64_t k = 0; k < depth_; ++k) {
    const float* src = b + k * ldb;
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n0 = p * kPanelWidth, cols = std::min(kPanelWidth, width_ - n0);
      float* d = at(k, p);
      if (cols == kPanelWidth) {
        std::memcpy(d, src + n0, sizeof(float) * kPanelWidth);
      } else {
        for (int64_t j = 0; j < kPanelWidth; ++j) d[j] = j < cols ? src[n0 + j] : 0.0f;
      }
    }
  }
}

void PackedB::pack_panels_transposed(const float* w, int64_t ldw, int64_t p0, int64_t p1) {
  const bool fast = cpu().has_avx2_fma();
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n0 = p * kPanelWidth, cols = std::min(kPanelWidth, width_ - n0);
    for (int64_t k0 = 0; k0 < depth_; k0 += kDepthBlock) {
      const int64_t kc = std::min(kDepthBlock, depth_ - k0);
      float* d = at(k0, p);  // kc rows of 16, contiguous
      // Full panels: 8 x 8 transposes (AVX2) for the first kc - kc % 8 rows.
      const int64_t done =
          cols == kPanelWidth && fast ? avx2::pack_transposed_rows16(w + n0 * ldw + k0, ldw, kc, d) : 0;
      for (int64_t j = 0; j < kPanelWidth; ++j) {
        if (j >= cols) {
          for (int64_t k = done; k < kc; ++k) d[k * kPanelWidth + j] = 0.0f;
          continue;
        }
        const float* src = w + (n0 + j) * ldw + k0;
        for (int64_t k = done; k < kc; ++k) d[k * kPanelWidth + j] = src[k];
      }
    }
  }
}

void PackedB::pack(const float* b, int64_t depth, int64_t width, int64_t ldb) {
  resize(depth, width);
  pack_panels(b, ldb, 0, panels());
}

void PackedB::pack_transposed(const float* w, int64_t width, int64_t depth, int64_t ldw) {
  resize(depth, width);
  pack_panels_transposed(w, ldw, 0, panels());
}

void gemm(const AView& a, const PackedB& b, float* c, int64_t ldc, int64_t M, bool accumulate) {
  const int64_t K = b.depth(), N = b.width();
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::memset(c + i * ldc, 0, sizeof(float) * N);
    return;
  }
  const TileKernels kernels = tile_kernels();
  const bool pack = must_pack_a(a);
  thread_local Scratch a_scratch, edge_scratch;
  const int64_t max_kc = std::min(kDepthBlock, K);
  float* a_block =
      pack ? a_scratch.get(((std::min(kRowBlock, M) + kTileRows - 1) / kTileRows) * kTileRows * max_kc) : nullptr;
  float* edge_a = edge_scratch.get(kTileRows * max_kc);
  alignas(64) float edge_c[kTileRows * kPanelWidth];

  for (int64_t k0 = 0; k0 < K; k0 += kDepthBlock) {
    const int64_t kc = std::min(kDepthBlock, K - k0);
    const bool load_c = accumulate || k0 > 0;
    for (int64_t m0 = 0; m0 < M; m0 += kRowBlock) {
      const int64_t mc = std::min(kRowBlock, M - m0);
      if (pack) {
        pack_a(a, m0, mc, k0, kc, a_block);
      } else if (mc % kTileRows != 0) {
        // The last, partial tile of unpacked A: pack it (zero rows) so the kernel never reads past A.
        const int64_t last = mc - mc % kTileRows;
        pack_a(a, m0 + last, mc - last, k0, kc, edge_a);
      }
      auto run_tile = [&](int64_t p, int64_t i0) {
        const float* bp = b.at(k0, p);
        const int64_t n0 = p * kPanelWidth, nc = std::min(kPanelWidth, N - n0);
        const int64_t mr = std::min(kTileRows, mc - i0);
        float* ct = c + (m0 + i0) * ldc + n0;
        const bool full = mr == kTileRows && nc == kPanelWidth;
        float* dst = full ? ct : edge_c;
        const int64_t ldd = full ? ldc : kPanelWidth;
        if (!full && load_c) {
          std::memset(edge_c, 0, sizeof(edge_c));
          for (int64_t i = 0; i < mr; ++i) std::memcpy(edge_c + i * kPanelWidth, ct + i * ldc, sizeof(float) * nc);
        }
        if (pack) {
          kernels.packed(kc, a_block + i0 * kc, bp, dst, ldd, load_c);
        } else if (mr == kTileRows) {
          kernels.rows(kc, a.data + (m0 + i0) * a.row_stride + k0, a.row_stride, bp, dst, ldd, load_c);
        } else {
          kernels.packed(kc, edge_a, bp, dst, ldd, load_c);
        }
        if (!full)
          for (int64_t i = 0; i < mr; ++i) std::memcpy(ct + i * ldc, edge_c + i * kPanelWidth, sizeof(float) * nc);
      };
      for (int64_t p0 = 0; p0 < b.panels(); p0 += kPanelBlock)
        for (int64_t i0 = 0; i0 < mc; i0 += kTileRows)
          for (int64_t p = p0; p < std::min(p0 + kPanelBlock, b.panels()); ++p) run_tile(p, i0);
    }
  }
}

namespace scalar {
namespace {
template <class ALoad>
void tile(int64_t kc, ALoad a_at, const float* b, float* c, int64_t ldc, bool load_c) {
  float acc[kTileRows][kPanelWidth];
  for (int64_t i = 0; i < kTileRows; ++i)
    for (int64_t j = 0; j < kPanelWidth; ++j) acc[i][j] = load_c ? c[i * ldc + j] : 0.0f;
  for (int64_t k = 0; k < kc; ++k)
    for (int64_t i = 0; i < kTileRows; ++i) {
      const float av = a_at(i, k);
      for (int64_t j = 0; j < kPanelWidth; ++j) acc[i][j] += av * b[k * kPanelWidth + j];
    }
  for (int64_t i = 0; i < kTileRows; ++i)
    for (int64_t j = 0; j < kPanelWidth; ++j) c[i * ldc + j] = acc[i][j];
}
}  // namespace

void tile_rows(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, bool load_c) {
  tile(
      kc, [&](int64_t i, int64_t k) { return a[i * lda + k]; }, b, c, ldc, load_c);
}

void tile_packed(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool load_c) {
  tile(
      kc, [&](int64_t i, int64_t k) { return a[k * kTileRows + i]; }, b, c, ldc, load_c);
}
}  // namespace scalar

}  // namespace flame::sgemm
