// Weights carrying the x8 layout (quant_x8_tensor.h) through matmul: decode (m < 8, the x8 group
// kernels) agrees with the same weight without the layout (the per-row kernels) within float
// rounding, the prompt GEMM (m >= 8, groups unpacked to scratch rows) equals it bit for bit, and the
// layout hook behaves like a part of the Tensor (shared by copies, dropped by reshape/slice).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/matmul.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_x8_tensor.h"
#include "support/test_support.h"

namespace flame {
namespace {

using test::gaussian;

Tensor quantized_matrix(DType t, int64_t n, int64_t k, uint32_t seed) {
  const auto f = gaussian(n * k, seed, 0.05f);
  Tensor w = Tensor::empty(t, {n, k});
  for (int64_t r = 0; r < n; ++r) quantize_row(t, f.data() + r * k, w.row<void>(r), k);
  return w;
}

TEST(QuantX8Tensor, LayoutIsSharedByCopiesAndDroppedByReshapeAndSlice) {
  ThreadPool pool(2);
  Tensor w = quantized_matrix(DType::Q4_0, 16, 64, 1);
  EXPECT_EQ(x8_weight(w), nullptr);
  w.set_layout(pack_x8(w, pool));
  ASSERT_NE(x8_weight(w), nullptr);
  const Tensor copy = w;
  EXPECT_EQ(x8_weight(copy), x8_weight(w));
  EXPECT_EQ(x8_weight(w.reshape({8, 128})), nullptr);
  EXPECT_EQ(x8_weight(w.slice_rows(0, 8)), nullptr);
  EXPECT_EQ(x8_weight(w.clone()), nullptr);
  // A layout attached to a tensor of another shape is not taken for that tensor's.
  Tensor other = quantized_matrix(DType::Q4_0, 24, 64, 2);
  other.set_layout(w.layout());
  EXPECT_EQ(x8_weight(other), nullptr);
}

TEST(QuantX8Tensor, OnlyMatricesWithWholeGroupsAndX8KernelsPack) {
  ThreadPool pool(1);
  EXPECT_TRUE(can_pack_x8(quantized_matrix(DType::Q8_0, 8, 32, 1)));
  EXPECT_FALSE(can_pack_x8(quantized_matrix(DType::Q8_0, 12, 32, 1)));  // 12 rows: not whole groups
  EXPECT_FALSE(can_pack_x8(quantized_matrix(DType::Q5_0, 8, 32, 1)));   // no x8 kernels
  EXPECT_FALSE(can_pack_x8(Tensor::empty(DType::F16, {8, 32})));
  EXPECT_THROW(pack_x8(quantized_matrix(DType::Q4_0, 12, 32, 1), pool), ArgumentError);
}

// Decode: within 2e-6 of sum_j |w_j x_j| (two float summation orders, each ~sqrt(blocks) * 2^-24
// relative, plus the activation quantization being identical on both sides); prompt (m = 64):
// the same integer GEMM on the same bytes, so equal.
TEST(QuantX8Tensor, PackedWeightMatmulMatchesUnpacked) {
  ThreadPool pool(2);
  const int64_t n = 72, k = 1024;
  for (DType t : {DType::Q4_0, DType::Q8_0}) {
    const Tensor plain = quantized_matrix(t, n, k, 3);
    Tensor packed = plain;
    packed.set_layout(pack_x8(plain, pool));
    ASSERT_NE(x8_weight(packed), nullptr);
    std::vector<float> wf(n * k);
    for (int64_t r = 0; r < n; ++r) dequantize_row(t, plain.row<void>(r), wf.data() + r * k, k);
    for (int64_t m : {1, 2, 3, 4, 5, 6, 7, 64}) {
      const auto x = gaussian(m * k, 10 + static_cast<uint32_t>(m));
      std::vector<float> a(m * n), b(m * n);
      matmul(plain, x.data(), a.data(), m, pool);
      matmul(packed, x.data(), b.data(), m, pool);
      if (m >= 8) {
        EXPECT_EQ(a, b) << dtype_name(t) << " m=" << m;
        continue;
      }
      for (int64_t i = 0; i < m; ++i)
        for (int64_t r = 0; r < n; ++r) {
          double mag = 0;
          for (int64_t j = 0; j < k; ++j) mag += std::fabs(static_cast<double>(wf[r * k + j]) * x[i * k + j]);
          EXPECT_NEAR(a[i * n + r], b[i * n + r], 2e-6 * mag) << dtype_name(t) << " m=" << m << " row " << r;
        }
    }
  }
}

// The x8 path gives the same result whatever the thread count (runs of whole groups, one kernel
// per row), for one activation row (the multi-group kernels) and two (group by group).
TEST(QuantX8Tensor, PackedDecodeIndependentOfThreadCount) {
  const int64_t n = 520, k = 512;
  for (DType t : {DType::Q4_0, DType::Q8_0})
    for (int64_t m : {1, 2}) {
      Tensor w = quantized_matrix(t, n, k, 4);
      ThreadPool one(1);
      w.set_layout(pack_x8(w, one));
      const auto x = gaussian(m * k, 5);
      std::vector<float> reference;
      for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        std::vector<float> y(m * n);
        matmul(w, x.data(), y.data(), m, pool);
        if (reference.empty())
          reference = y;
        else
          EXPECT_EQ(y, reference) << dtype_name(t) << " m=" << m << " threads " << threads;
      }
    }
}

}  // namespace
}  // namespace flame
