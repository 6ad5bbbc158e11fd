// The decode-shaped quantized products: the 4-row AVX2 dot kernels against the scalar twins, the
// fused multi-product call (one pool call for Q/K/V) against one product at a time, independence
// of the thread count, and ThreadPool::run_claimed (the pool call those products use).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/matmul.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_decode.h"
#include "support/test_support.h"

namespace flame {
namespace {

using test::gaussian;

Tensor quantized_matrix(DType t, int64_t n, int64_t k, uint32_t seed, float scale = 1.0f) {
  const auto f = gaussian(n * k, seed, scale);
  Tensor w = Tensor::empty(t, {n, k});
  for (int64_t r = 0; r < n; ++r) quantize_row(t, f.data() + r * k, w.row<void>(r), k);
  return w;
}

// 4-row kernels: every output equals its row's scalar dot within 1e-6 of sum |terms| (float order:
// per-block products accumulated in 2 lanes per row, then added, vs the scalar
// running sum; rounding errors of the 128 block steps grow like sqrt(128) * 2^-24 ~ 7e-7 of
// sum |terms|, the same tolerance as QuantDot.Avx2MatchesScalar), and exactly when all scales are 1
// (every partial sum is then an exact integer in float).
TEST(QuantDot, FourRowKernelsMatchScalar) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  const int64_t k = 4096;
  for (DType t : {DType::Q4_0}) {  // the only type with a 4-row decode kernel
    const quant::Dot4Fn dot4 = quant::dot4_kernel(t);
    ASSERT_NE(dot4, nullptr) << dtype_name(t);
    const auto& kern = quant::kernels(t);
    for (uint32_t seed = 0; seed < 4; ++seed) {
      Tensor w = quantized_matrix(t, 4, k, 30 + seed, 0.1f + seed);
      const auto xf = gaussian(k, 40 + seed);
      std::vector<uint8_t> act(row_bytes(kern.act_type, k));
      quantize_row(kern.act_type, xf.data(), act.data(), k);
      std::vector<float> af(k), wf(k);
      dequantize_row(kern.act_type, act.data(), af.data(), k);
      float out[4];
      dot4(k, w.data(), w.row_bytes(), act.data(), out);
      for (int r = 0; r < 4; ++r) {
        dequantize_row(t, w.row<void>(r), wf.data(), k);
        double mag = 0;
        for (int64_t j = 0; j < k; ++j) mag += std::fabs(static_cast<double>(wf[j]) * af[j]);
        EXPECT_NEAR(out[r], kern.dot_scalar(k, w.row<void>(r), act.data()), 1e-6 * mag)
            << dtype_name(t) << " row " << r << " seed " << seed;
      }
      // Unit scales: bytes 0..1 of every 32-element block are its fp16 d.
      const size_t wb = dtype_info(t).type_size, ab = dtype_info(kern.act_type).type_size;
      auto* wbytes = static_cast<uint8_t*>(w.data());
      for (int64_t b = 0; b < 4 * k / 32; ++b) wbytes[b * wb] = 0x00, wbytes[b * wb + 1] = 0x3C;
      for (int64_t b = 0; b < k / 32; ++b) act[b * ab] = 0x00, act[b * ab + 1] = 0x3C;
      dot4(k, w.data(), w.row_bytes(), act.data(), out);
      for (int r = 0; r < 4; ++r)
        EXPECT_EQ(out[r], kern.dot_scalar(k, w.row<void>(r), act.data())) << dtype_name(t) << " row " << r;
    }
  }
}

// The AVX2 activation quantizers are bit-identical to the scalar ones, including exact ties (with
// amax = 127 the Q8_0 scale is 1, so x.5 values hit lround's half-away-from-zero rule), blocks of
// zeros and a block whose largest magnitude occurs with both signs (the first one wins in Q8_K).
TEST(QuantAct, Avx2QuantizersEqualScalar) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  const int64_t n = 2048;
  std::vector<std::vector<float>> inputs;
  for (uint32_t seed = 0; seed < 4; ++seed) inputs.push_back(gaussian(n, 50 + seed, 0.01f + seed));
  std::vector<float> ties(n);
  for (int64_t i = 0; i < n; ++i) ties[i] = (i % 32 == 0) ? 127.0f : static_cast<float>(i % 254 - 127) + 0.5f;
  inputs.push_back(ties);
  std::vector<float> special = gaussian(n, 60);
  std::fill(special.begin(), special.begin() + 256, 0.0f);
  special[300] = -9.0f, special[301] = 9.0f, special[600] = 9.0f, special[601] = -9.0f;
  inputs.push_back(special);
  for (size_t c = 0; c < inputs.size(); ++c) {
    std::vector<uint8_t> a(row_bytes(DType::Q8_0, n)), b(a.size());
    quant::quantize_q8_0(inputs[c].data(), a.data(), n);
    quant::quantize_q8_0_avx2(inputs[c].data(), b.data(), n);
    EXPECT_EQ(a, b) << "Q8_0 case " << c;
    std::vector<uint8_t> ak(row_bytes(DType::Q8_K, n)), bk(ak.size());
    quant::quantize_q8_k(inputs[c].data(), ak.data(), n);
    quant::quantize_q8_k_avx2(inputs[c].data(), bk.data(), n);
    EXPECT_EQ(ak, bk) << "Q8_K case " << c;
  }
}

// Q/K/V-like products of mixed types through one call equal the same products one at a time
// (bit for bit: each row goes through the same kernel), for m = 1 and a short batch.
TEST(QuantDecode, FusedProductsEqualSeparateProducts) {
  ThreadPool pool(2);
  const int64_t k = 512;
  const Tensor wq = quantized_matrix(DType::Q4_K, 200, k, 1);
  const Tensor wk = quantized_matrix(DType::Q6_K, 67, k, 2);
  const Tensor wv = quantized_matrix(DType::Q4_0, 131, k, 3);
  const Tensor wo = quantized_matrix(DType::Q8_0, 9, k, 4);
  for (int64_t m : {1, 3}) {
    const auto x = gaussian(m * k, 5 + static_cast<uint32_t>(m));
    std::vector<float> q(m * 200), kk(m * 67), v(m * 131), o(m * 9);
    matmul_shared_input({{wq, q.data()}, {wk, kk.data()}, {wv, v.data()}, {wo, o.data()}}, x.data(), m, pool);
    for (const auto& [w, fused] : {std::pair{&wq, &q}, {&wk, &kk}, {&wv, &v}, {&wo, &o}}) {
      std::vector<float> alone(fused->size());
      matmul_quant(*w, x.data(), alone.data(), m, pool);
      EXPECT_EQ(alone, *fused) << dtype_name(w->dtype()) << " m=" << m;
    }
  }
}

TEST(QuantDecode, ResultIndependentOfThreadCount) {
  const int64_t n = 300, k = 1024;
  for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K}) {
    const Tensor w = quantized_matrix(t, n, k, 7);
    const auto x = gaussian(2 * k, 8);
    std::vector<float> reference;
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      std::vector<float> y(2 * n);
      matmul_quant(w, x.data(), y.data(), 2, pool);
      if (reference.empty())
        reference = y;
      else
        EXPECT_EQ(y, reference) << dtype_name(t) << " threads " << threads;
    }
  }
}

TEST(QuantDecode, RejectsWeightsThatDisagreeOnK) {
  ThreadPool pool(2);
  const Tensor a = quantized_matrix(DType::Q8_0, 4, 64, 1), b = quantized_matrix(DType::Q8_0, 4, 96, 2);
  std::vector<float> x(96), ya(4), yb(4);
  const detail::QuantProduct products[] = {{&a, ya.data()}, {&b, yb.data()}};
  EXPECT_THROW(detail::matmul_quant_decode(products, 2, x.data(), 1, pool), ArgumentError);
}

// run_claimed: all chunks done whichever threads run, interleaved with plain run() calls, also when
// a worker is slow inside fn (the caller must wait for it).
TEST(ThreadPoolClaimed, CompletesAllWorkAndInterleavesWithRun) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    for (int call = 0; call < 300; ++call) {
      const int64_t chunks = 1 + call % 37;
      std::atomic<int64_t> next{0}, done{0};
      pool.run_claimed([&](int t, int) {
        if (t != 0 && call % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        for (int64_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) done.fetch_add(c + 1);
      });
      ASSERT_EQ(done.load(), chunks * (chunks + 1) / 2) << "threads " << threads << " call " << call;
      std::atomic<int> ran{0};
      pool.run([&](int, int) { ran.fetch_add(1); });
      ASSERT_EQ(ran.load(), threads);
    }
  }
}

}  // namespace
}  // namespace flame
