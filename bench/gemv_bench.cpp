// Decode matrix-vector products streamed from DRAM, against the read-bandwidth probe of the same
// run. The weights are cycled over several copies (256 MiB in all, far above L3) so every call
// reads memory, as a model's decode step does; BM_MatmulF16 (model_bench.cpp) uses one 32 MB matrix
// that partly stays in L3.
//
//   ./build/bin/flame_bench --benchmark_filter=BM_GemvStream --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "flame/core/half.h"
#include "flame/kernels/matmul.h"
#include "flame/kernels/membw.h"
#include "flame/kernels/quant.h"

namespace {

constexpr size_t kStreamBytes = size_t{256} << 20;

// Args: dtype (0 F32, 1 F16, 30 BF16), rows n, k. The 1B model's FFN shapes are 8192x2048 (gate,
// up) and 2048x8192 (down).
void BM_GemvStream(benchmark::State& state) {
  const auto type = static_cast<flame::DType>(state.range(0));
  const int64_t n = state.range(1), k = state.range(2);
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.0f, 0.05f);
  std::vector<float> row(static_cast<size_t>(k));
  flame::Tensor first = flame::Tensor::empty(type, {n, k});
  const size_t copies = std::max<size_t>(2, kStreamBytes / first.nbytes());
  std::vector<flame::Tensor> weights;
  for (size_t c = 0; c < copies; ++c) {
    flame::Tensor w = flame::Tensor::empty(type, {n, k});
    for (int64_t r = 0; r < n; ++r) {
      for (auto& x : row) x = d(rng);
      flame::quantize_row(type, row.data(), w.row<void>(r), k);
    }
    weights.push_back(std::move(w));
  }
  std::vector<float> x(static_cast<size_t>(k), 0.5f), y(static_cast<size_t>(n));
  const double probe = flame::measure_read_bandwidth(kStreamBytes, 3);
  size_t c = 0;
  for (auto _ : state) {
    flame::matmul(weights[c], x.data(), y.data(), 1);
    benchmark::DoNotOptimize(y.data());
    c = (c + 1) % copies;
  }
  state.counters["weight_GB/s"] =
      benchmark::Counter(static_cast<double>(first.nbytes()) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["probe_GB/s"] = probe / 1e9;
}
BENCHMARK(BM_GemvStream)
    ->ArgsProduct({{0, 1, 30}, {8192}, {2048}})
    ->ArgsProduct({{0, 1, 30}, {2048}, {8192}})
    ->UseRealTime();

}  // namespace
