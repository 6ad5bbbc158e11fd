// Quantized kernel benchmarks: the dot product on one in-cache row (scalar vs AVX2), decode
// matrix-vector over a weight bigger than the L3 cache (reported as weight bytes/s), and prompt
// matrix-matrix (reported as FLOP/s, 2*m*n*k per call).
//
//   ./build/bin/flame_bench --benchmark_filter='Quant' --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "bench_support.h"
#include "flame/core/dtype.h"
#include "flame/core/tensor.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_blocks.h"

namespace flame {
namespace {

DType type_arg(const benchmark::State& state) {
  return static_cast<DType>(state.range(0));
}

void BM_QuantDot(benchmark::State& state) {
  const DType type = type_arg(state);
  const bool avx2 = state.range(1) != 0;
  const auto& k = quant::kernels(type);
  const int64_t n = 4096;
  std::vector<uint8_t> w(row_bytes(type, n)), a(row_bytes(k.act_type, n));
  const auto wf = bench::gaussian(n, 1), af = bench::gaussian(n, 2);
  quantize_row(type, wf.data(), w.data(), n);
  quantize_row(k.act_type, af.data(), a.data(), n);
  const quant::DotFn dot = avx2 ? k.dot_avx2 : k.dot_scalar;
  if (!dot) {
    state.SkipWithError("no AVX2 kernel for this type");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(dot(n, w.data(), a.data()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.size()));
  state.SetLabel(std::string(dtype_name(type)) + (avx2 ? " avx2" : " scalar"));
}

void BM_QuantMatVec(benchmark::State& state) {
  const DType type = type_arg(state);
  const int64_t rows = 16384, cols = 4096;  // 64M weights: 36-68 MB quantized, above the 32 MB L3
  const Tensor w = bench::repeated_quantized_weight(type, rows, cols);
  const auto x = bench::gaussian(cols, 3);
  std::vector<float> y(rows);
  ThreadPool& pool = ThreadPool::global();
  for (auto _ : state) {
    matmul_quant(w, x.data(), y.data(), 1, pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.nbytes()));
  state.SetLabel(std::string(dtype_name(type)) + " threads=" + std::to_string(pool.size()));
}

void BM_QuantPromptMatmul(benchmark::State& state) {
  const DType type = type_arg(state);
  const int64_t n = 2048, k = 2048, m = state.range(1);
  const Tensor w = bench::repeated_quantized_weight(type, n, k);
  const auto x = bench::gaussian(m * k, 4);
  std::vector<float> y(m * n);
  ThreadPool& pool = ThreadPool::global();
  for (auto _ : state) {
    matmul_quant(w, x.data(), y.data(), m, pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(static_cast<double>(2 * m * n * k) * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(std::string(dtype_name(type)) + " m=" + std::to_string(m));
}

constexpr int64_t id(DType t) {
  return static_cast<int64_t>(t);
}

void dot_args(benchmark::internal::Benchmark* b) {
  for (DType t : {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K,
                  DType::Q4_K, DType::Q5_K, DType::Q6_K})
    for (int avx2 : {0, 1})
      if (avx2 == 0 || quant::kernels(t).dot_avx2) b->Args({id(t), avx2});
}

void all_types(benchmark::internal::Benchmark* b) {
  for (DType t : {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K,
                  DType::Q4_K, DType::Q5_K, DType::Q6_K})
    b->Args({id(t), 0});
}

void main_types(benchmark::internal::Benchmark* b, int64_t extra) {
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) b->Args({id(t), extra});
}

BENCHMARK(BM_QuantDot)->Apply(dot_args);
// Per process CPU-second: on an idle machine with T threads, decode reaches T x this rate unless
// memory bandwidth caps it first (>= 8.4 GB/s per core: compute is not the limit at 2 threads).
BENCHMARK(BM_QuantMatVec)->Apply(all_types)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);
// Rates per process CPU-second (all threads), so a shared, loaded machine still gives comparable
// per-core numbers; m=7 takes the integer dot-product path, m=512 the dequantize+sgemm path.
BENCHMARK(BM_QuantPromptMatmul)
    ->Apply([](auto* b) {
      main_types(b, 512);
      main_types(b, 7);
    }) -> MeasureProcessCPUTime() -> Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace flame
