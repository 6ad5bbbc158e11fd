// Attention kernel on the Llama 3.2 1B geometry (32 query heads, 8 KV heads, head_dim 64), one
// layer, on a private 1-thread pool so Google Benchmark's CPU time is the whole cost even on a
// shared machine. Uses only the float-cache entry point, so this file also builds against older
// libflame versions for before/after comparisons (docs/benchmarks.md, "KV cache and attention"):
//
//   g++ -O3 -std=c++20 -Isrc bench/attention_bench.cpp OLD/libflame.a -lbenchmark -lbenchmark_main \
//       -lfmt -lpthread -o /tmp/attention_bench_old
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "bench_support.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/attention.h"

namespace {

const flame::AttentionShape kShape{32, 8, 64};

// One decode step at position context - 1: reads context * 8 * 64 keys and values.
void BM_AttentionDecodeOneThread(benchmark::State& state) {
  const int64_t context = state.range(0);
  flame::ThreadPool pool(1);
  const auto q = flame::bench::gaussian(32 * 64, 1);
  const auto k = flame::bench::gaussian(static_cast<size_t>(context * 8 * 64), 2);
  const auto v = flame::bench::gaussian(k.size(), 3);
  std::vector<float> out(q.size());
  for (auto _ : state) {
    flame::attention_causal(q.data(), k.data(), v.data(), out.data(), 1, context - 1, kShape, pool);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["KV_GB/s"] =
      benchmark::Counter(2.0 * 4.0 * context * 8 * 64 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AttentionDecodeOneThread)->Arg(1024)->Arg(4096)->Arg(8192);

// A causal prompt of n tokens from position 0.
void BM_AttentionPromptOneThread(benchmark::State& state) {
  const int64_t n = state.range(0);
  flame::ThreadPool pool(1);
  const auto q = flame::bench::gaussian(static_cast<size_t>(n * 32 * 64), 1);
  const auto k = flame::bench::gaussian(static_cast<size_t>(n * 8 * 64), 2);
  const auto v = flame::bench::gaussian(k.size(), 3);
  std::vector<float> out(q.size());
  for (auto _ : state) {
    flame::attention_causal(q.data(), k.data(), v.data(), out.data(), n, 0, kShape, pool);
    benchmark::DoNotOptimize(out.data());
  }
  // QK^T and PV over n^2/2 (query, key) pairs, 32 heads, 64 dims, 2 flops per multiply-add.
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * 2.0 * (n * n / 2.0) * 32 * 64 * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AttentionPromptOneThread)->Arg(512)->Arg(2048)->Unit(benchmark::kMillisecond);

}  // namespace
