// Prompt-shaped quantized GEMM (m=512 activation rows, the 1B model's k=2048 with n=2048 and
// n=8192, and k=8192 with n=2048): the integer GEMM on packed blocks (quant_gemm.h) against the
// previous prompt path, dequantized ~1 MB weight tiles + single-threaded sgemm per thread (kept
// here as the baseline). Reported as FLOP/s (2*m*n*k per call) per process CPU-second.
//
//   ./build/bin/flame_bench --benchmark_filter='QuantGemm' --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "flame/core/tensor.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_gemm.h"

extern "C" void openblas_set_num_threads(int num_threads);

namespace flame {
namespace {

// The prompt path before the integer GEMM: each thread dequantizes tiles of its rows and calls sgemm.
void dequantize_sgemm(const Tensor& w, const float* x, float* y, int64_t m, ThreadPool& pool) {
  const auto& kern = quant::kernels(w.dtype());
  const int64_t n = w.dim(0), k = w.dim(1);
  pool.parallel_for(
      n,
      [&](int64_t begin, int64_t end) {
        const int64_t tile = std::clamp<int64_t>(256 * 1024 / k, 16, 512);
        thread_local std::vector<float> buffer;
        buffer.resize(tile * k);
        for (int64_t r0 = begin; r0 < end; r0 += tile) {
          const int64_t rows = std::min(tile, end - r0);
          for (int64_t r = 0; r < rows; ++r) kern.dequantize(w.row<void>(r0 + r), buffer.data() + r * k, k);
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(rows),
                      static_cast<int>(k), 1.0f, x, static_cast<int>(k), buffer.data(), static_cast<int>(k), 0.0f,
                      y + r0, static_cast<int>(n));
        }
      },
      16);
}

void BM_QuantGemm(benchmark::State& state) {
  const auto type = static_cast<DType>(state.range(0));
  const int64_t n = state.range(1), k = state.range(2), m = 512;
  const bool integer_gemm = state.range(3) != 0;
  openblas_set_num_threads(1);
  const Tensor w = bench::repeated_quantized_weight(type, n, k);
  const auto x = bench::gaussian(m * k, 2);
  std::vector<float> y(m * n);
  ThreadPool& pool = ThreadPool::global();
  for (auto _ : state) {
    if (integer_gemm)
      quant_gemm(w, x.data(), y.data(), m, pool);
    else
      dequantize_sgemm(w, x.data(), y.data(), m, pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(static_cast<double>(2 * m * n * k) * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(std::string(dtype_name(type)) + (integer_gemm ? " int8-gemm" : " dequant+sgemm") +
                 " threads=" + std::to_string(pool.size()));
}

BENCHMARK(BM_QuantGemm)
    ->ArgNames({"type", "n", "k", "int"})
    ->Apply([](benchmark::internal::Benchmark* b) {
      for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K})
        for (auto [n, k] : {std::pair<int64_t, int64_t>{2048, 2048}, {8192, 2048}, {2048, 8192}})
          for (int integer : {0, 1}) b->Args({static_cast<int64_t>(t), n, k, integer});
    })
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace flame
