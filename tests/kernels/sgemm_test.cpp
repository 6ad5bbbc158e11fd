// flame's fp32 GEMM (kernels/sgemm.h) and the packed training products (kernels/matmul_train.h)
// against a double-precision naive product written here, on shapes that are not multiples of the
// 6 x 16 tile or of the 256-deep K block; the AVX2 tile against its scalar twin; and bitwise
// independence of the thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/matmul_train.h"
#include "flame/kernels/sgemm.h"
#include "support/test_support.h"

namespace flame {
namespace {

// c0 + A . B in double, A[i][k] = a[i * ars + k * acs], B[k][j] = b[k * ldb + j]; bound[i][j] =
// sum_k |A[i][k] B[k][j]| (+ |c0|), the scale of the rounding error of an fp32 sum.
struct Reference {
  std::vector<double> value, bound;
};
Reference naive(const float* a, int64_t ars, int64_t acs, const float* b, int64_t ldb, const std::vector<float>* c0,
                int64_t M, int64_t K, int64_t N) {
  Reference r{std::vector<double>(M * N), std::vector<double>(M * N)};
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = c0 ? (*c0)[i * N + j] : 0.0, bound = c0 ? std::fabs((*c0)[i * N + j]) : 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const double p = double(a[i * ars + k * acs]) * double(b[k * ldb + j]);
        s += p, bound += std::fabs(p);
      }
      r.value[i * N + j] = s, r.bound[i * N + j] = bound;
    }
  return r;
}

// Every element within 4 K eps_fp32 of its bound (fp32 FMA chains of length K: a loose but
// meaningful limit; a wrong index or a missed K block is off by O(bound)).
void expect_close(const std::vector<float>& got, const Reference& ref, int64_t K, const char* what) {
  const double tol = 4.0 * double(K + 1) * 1.2e-7;
  int64_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (std::fabs(double(got[i]) - ref.value[i]) > tol * ref.bound[i] + 1e-30) ++bad;
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " elements outside tolerance";
}

struct Dims {
  int64_t M, K, N;
};
// Odd shapes: 1 row, 1 column, K of 1, M/N off the 6 x 16 tile, K across several 256 blocks.
const Dims kOddShapes[] = {{1, 1, 1},     {1, 7, 33}, {7, 1, 5},     {6, 256, 16}, {13, 300, 17},
                           {37, 513, 50}, {5, 64, 1}, {61, 29, 130}, {96, 257, 48}};

class SgemmModes : public ::testing::TestWithParam<bool> {  // param: force scalar
 protected:
  void SetUp() override {
    if (!GetParam() && !cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA on this CPU";
    set_force_scalar(GetParam());
  }
  void TearDown() override { set_force_scalar(false); }
};

TEST_P(SgemmModes, RowMajorAMatchesDoubleReference) {
  for (const Dims& d : kOddShapes) {
    const auto a = test::gaussian(d.M * d.K, 1), b = test::gaussian(d.K * d.N, 2);
    sgemm::PackedB pb;
    pb.pack(b.data(), d.K, d.N, d.N);
    std::vector<float> c(d.M * d.N, 123.0f);  // overwritten
    sgemm::gemm(sgemm::rows(a.data(), d.K), pb, c.data(), d.N, d.M, false);
    expect_close(c, naive(a.data(), d.K, 1, b.data(), d.N, nullptr, d.M, d.K, d.N), d.K, "C = A B");
  }
}

TEST_P(SgemmModes, TransposedAAndTransposedBAccumulate) {
  for (const Dims& d : kOddShapes) {
    // A = X^T with X [K, M]; B = W^T with W [N, K]; C += A . B.
    const auto x = test::gaussian(d.K * d.M, 3), w = test::gaussian(d.N * d.K, 4);
    const auto c0 = test::gaussian(d.M * d.N, 5);
    std::vector<float> bt(d.K * d.N);  // W^T, row-major [K, N], for the reference
    for (int64_t n = 0; n < d.N; ++n)
      for (int64_t k = 0; k < d.K; ++k) bt[k * d.N + n] = w[n * d.K + k];
    sgemm::PackedB pb;
    pb.pack_transposed(w.data(), d.N, d.K, d.K);
    std::vector<float> c = c0;
    sgemm::gemm(sgemm::transposed(x.data(), d.M), pb, c.data(), d.N, d.M, true);
    expect_close(c, naive(x.data(), 1, d.M, bt.data(), d.N, &c0, d.M, d.K, d.N), d.K, "C += X^T W^T");
  }
}

TEST_P(SgemmModes, LeadingDimensionsWiderThanTheMatrix) {
  // A and C are column windows of wider row-major buffers (how callers split work over threads).
  const int64_t M = 19, K = 40, N = 35, lda = 57, ldc = 50;
  const auto abuf = test::gaussian(M * lda, 6), b = test::gaussian(K * N, 7);
  sgemm::PackedB pb;
  pb.pack(b.data(), K, N, N);
  std::vector<float> cbuf(M * ldc, -7.0f);
  sgemm::gemm(sgemm::rows(abuf.data() + 3, lda), pb, cbuf.data() + 5, ldc, M, false);
  const Reference ref = naive(abuf.data() + 3, lda, 1, b.data(), N, nullptr, M, K, N);
  std::vector<float> c(M * N);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) c[i * N + j] = cbuf[i * ldc + 5 + j];
  expect_close(c, ref, K, "windowed");
  for (int64_t i = 0; i < M; ++i) {  // columns outside the window untouched
    for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(cbuf[i * ldc + j], -7.0f);
    for (int64_t j = 5 + N; j < ldc; ++j) EXPECT_EQ(cbuf[i * ldc + j], -7.0f);
  }
}

INSTANTIATE_TEST_SUITE_P(Sgemm, SgemmModes, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Scalar" : "Avx2"; });

TEST(Sgemm, Avx2TileMatchesScalarTile) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA on this CPU";
  const int64_t kc = 300, lda = 301, ldc = 20;
  const auto a = test::gaussian(sgemm::kTileRows * lda, 8), b = test::gaussian(kc * sgemm::kPanelWidth, 9);
  const auto c0 = test::gaussian(sgemm::kTileRows * ldc, 10);
  std::vector<float> packed_a(kc * sgemm::kTileRows);
  for (int64_t k = 0; k < kc; ++k)
    for (int64_t i = 0; i < sgemm::kTileRows; ++i) packed_a[k * sgemm::kTileRows + i] = a[i * lda + k];
  // b must be 32-byte aligned for the AVX2 tile: take it from a PackedB.
  sgemm::PackedB pb;
  pb.pack(b.data(), kc, sgemm::kPanelWidth, sgemm::kPanelWidth);
  for (bool load_c : {false, true}) {
    std::vector<float> fast = c0, slow = c0, fast_packed = c0;
    sgemm::avx2::tile_rows(kc, a.data(), lda, pb.at(0, 0), fast.data(), ldc, load_c);
    sgemm::avx2::tile_packed(kc, packed_a.data(), pb.at(0, 0), fast_packed.data(), ldc, load_c);
    sgemm::scalar::tile_rows(kc, a.data(), lda, pb.at(0, 0), slow.data(), ldc, load_c);
    EXPECT_EQ(fast, fast_packed);  // same arithmetic, A read two ways
    for (size_t i = 0; i < slow.size(); ++i) {
      const bool in_tile = int64_t(i % ldc) < sgemm::kPanelWidth;
      if (!in_tile) {
        EXPECT_EQ(fast[i], c0[i]) << "wrote outside the tile at " << i;
        continue;
      }
      // FMA (one rounding) vs multiply-add (two): K = 300 terms of N(0,1) products.
      EXPECT_NEAR(fast[i], slow[i], 2e-4f * (1.0f + std::fabs(slow[i]))) << i << " load_c " << load_c;
    }
  }
}

TEST(Sgemm, PackedTrainingProductsMatchReferenceAndIgnoreThreadCount) {
  // y = x W^T, dx = dy W, dW += dy^T x through PackedWeight / pack_activation, on 1 and 2 threads.
  const int64_t M = 100, K = 70, N = 45;
  const auto x = test::gaussian(M * K, 11), w = test::gaussian(N * K, 12), dy = test::gaussian(M * N, 13);
  const auto dw0 = test::gaussian(N * K, 14);
  std::vector<float> y[2], dx[2], dw[2];
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    PackedWeight pw;
    pw.pack(w.data(), N, K, pool);
    sgemm::PackedB xp;
    pack_activation(x.data(), M, K, xp, pool);
    auto& yy = y[threads - 1];
    auto& dxx = dx[threads - 1];
    auto& dww = dw[threads - 1];
    yy.assign(M * N, 0.0f), dxx.assign(M * K, 0.0f), dww = dw0;
    matmul_forward(x.data(), pw, yy.data(), M, pool);
    matmul_backward(dy.data(), &xp, pw, dxx.data(), dww.data(), M, pool);
  }
  EXPECT_EQ(y[0], y[1]);
  EXPECT_EQ(dx[0], dx[1]);
  EXPECT_EQ(dw[0], dw[1]);
  std::vector<float> wt(K * N);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) wt[k * N + n] = w[n * K + k];
  expect_close(y[0], naive(x.data(), K, 1, wt.data(), N, nullptr, M, K, N), K, "y = x W^T");
  expect_close(dx[0], naive(dy.data(), N, 1, w.data(), K, nullptr, M, N, K), N, "dx = dy W");
  expect_close(dw[0], naive(dy.data(), 1, N, x.data(), K, &dw0, N, M, K), M, "dW += dy^T x");
}

TEST(Sgemm, BackwardWithoutMatchingPackedActivationIsAnError) {
  ThreadPool pool(1);
  const auto w = test::gaussian(8 * 5, 15), dy = test::gaussian(4 * 8, 16), x = test::gaussian(4 * 5, 17);
  PackedWeight pw;
  pw.pack(w.data(), 8, 5, pool);
  std::vector<float> dw(8 * 5);
  EXPECT_THROW(matmul_backward(dy.data(), nullptr, pw, nullptr, dw.data(), 4, pool), ArgumentError);
  sgemm::PackedB wrong;
  pack_activation(x.data(), 3, 5, wrong, pool);  // 3 rows, not 4
  EXPECT_THROW(matmul_backward(dy.data(), &wrong, pw, nullptr, dw.data(), 4, pool), ArgumentError);
}

}  // namespace
}  // namespace flame
