// Google Benchmarks of the inference kernels and, when FLAME_BENCH_MODEL names a GGUF (e.g. the
// 1B-shaped file from `flame synth --shape llama3.2-1b --type f16`), of a whole decode step.
//
//   ./build/bin/flame_bench --benchmark_filter='Matmul|Decode' --benchmark_repetitions=5
//   FLAME_BENCH_MODEL=/work/models/llama3.2-1b-random-f16.gguf ./build/bin/flame_bench --benchmark_filter=Decode
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "flame/core/half.h"
#include "flame/io/gguf.h"
#include "flame/kernels/attention.h"
#include "flame/kernels/matmul.h"
#include "flame/kernels/quant.h"
#include "flame/model/inference.h"

namespace {

flame::Tensor random_weight(flame::DType type, int64_t n, int64_t k) {
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.0f, 0.05f);
  std::vector<float> row(static_cast<size_t>(k));
  flame::Tensor w = flame::Tensor::empty(type, {n, k});
  for (int64_t r = 0; r < n; ++r) {
    for (auto& x : row) x = d(rng);
    flame::quantize_row(type, row.data(), w.row<void>(r), k);
  }
  return w;
}

// Args: rows (n), k, m; the 1B model's FFN gate is n=8192, k=2048.
void BM_MatmulF16(benchmark::State& state) {
  const int64_t n = state.range(0), k = state.range(1), m = state.range(2);
  const flame::Tensor w = random_weight(flame::DType::F16, n, k);
  std::vector<float> x(static_cast<size_t>(m * k), 0.5f), y(static_cast<size_t>(m * n));
  for (auto _ : state) {
    flame::matmul(w, x.data(), y.data(), m);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_GB/s"] =
      benchmark::Counter(static_cast<double>(w.nbytes()) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * n * k * m * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MatmulF16)->Args({8192, 2048, 1})->Args({2048, 8192, 1})->Args({8192, 2048, 64})->UseRealTime();

void BM_AttentionDecode(benchmark::State& state) {
  const int64_t context = state.range(0);
  const flame::AttentionShape s{32, 8, 64};
  std::vector<float> q(32 * 64, 0.1f), out(32 * 64), k(static_cast<size_t>(context * 8 * 64), 0.01f), v(k.size(), 0.2f);
  for (auto _ : state) {
    flame::attention_causal(q.data(), k.data(), v.data(), out.data(), 1, context - 1, s);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_AttentionDecode)->Arg(512)->Arg(4096)->UseRealTime();

// 1B attention geometry over an fp16 cache; KV bytes read per call: 2 * context * 8 * 64 * 2.
void BM_AttentionDecodeF16(benchmark::State& state) {
  const int64_t context = state.range(0);
  const flame::AttentionShape s{32, 8, 64};
  std::vector<float> q(32 * 64, 0.1f), out(32 * 64);
  std::vector<uint16_t> k(static_cast<size_t>(context * 8 * 64), 0x2000), v(k.size(), 0x3000);
  for (auto _ : state) {
    flame::attention_causal(q.data(), flame::KvRows{k.data(), v.data(), flame::DType::F16}, out.data(), 1, context - 1,
                            s);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["KV_GB/s"] =
      benchmark::Counter(4.0 * context * 8 * 64 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AttentionDecodeF16)->Arg(512)->Arg(4096)->Arg(8192)->UseRealTime();

// The same decode step on a 1-thread pool (CPU time is the whole cost; compare with
// BM_AttentionDecodeOneThread in attention_bench.cpp for the F32 cache).
void BM_AttentionDecodeF16OneThread(benchmark::State& state) {
  const int64_t context = state.range(0);
  const flame::AttentionShape s{32, 8, 64};
  flame::ThreadPool pool(1);
  std::mt19937 rng(2);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> q(32 * 64), out(32 * 64);
  for (auto& x : q) x = d(rng);
  std::vector<uint16_t> k(static_cast<size_t>(context * 8 * 64)), v(k.size());
  for (auto& x : k) x = flame::f32_to_f16(d(rng));
  for (auto& x : v) x = flame::f32_to_f16(d(rng));
  for (auto _ : state) {
    flame::attention_causal(q.data(), flame::KvRows{k.data(), v.data(), flame::DType::F16}, out.data(), 1, context - 1,
                            s, pool);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["KV_GB/s"] =
      benchmark::Counter(2.0 * 2.0 * context * 8 * 64 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AttentionDecodeF16OneThread)->Arg(1024)->Arg(4096)->Arg(8192);

// The inference cache's head-major layout ([kv head][capacity][head_dim]), 1 thread; arg 0 is
// the context, arg 1 selects F16 (1) or F32 (0).
void BM_AttentionDecodeHeadMajorOneThread(benchmark::State& state) {
  const int64_t context = state.range(0), hd = 64;
  const bool f16 = state.range(1) != 0;
  const flame::AttentionShape s{32, 8, hd};
  flame::ThreadPool pool(1);
  std::mt19937 rng(2);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> q(32 * hd), out(32 * hd), k(static_cast<size_t>(context * 8 * hd)), v(k.size());
  for (auto& x : q) x = d(rng);
  for (auto& x : k) x = d(rng);
  for (auto& x : v) x = d(rng);
  std::vector<uint16_t> k16(k.size()), v16(v.size());
  flame::f32_to_f16_rows(k.data(), k16.data(), static_cast<int64_t>(k.size()));
  flame::f32_to_f16_rows(v.data(), v16.data(), static_cast<int64_t>(v.size()));
  const flame::KvRows kv = f16 ? flame::KvRows{k16.data(), v16.data(), flame::DType::F16, hd, context * hd}
                               : flame::KvRows{k.data(), v.data(), flame::DType::F32, hd, context * hd};
  for (auto _ : state) {
    flame::attention_causal(q.data(), kv, out.data(), 1, context - 1, s, pool);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["KV_GB/s"] =
      benchmark::Counter(2.0 * (f16 ? 2.0 : 4.0) * context * 8 * hd * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AttentionDecodeHeadMajorOneThread)->ArgsProduct({{64, 256, 1024, 4096, 8192}, {0, 1}});

// Causal prompt attention of n tokens from position 0 (one layer of the 1B shape).
void BM_AttentionPrompt(benchmark::State& state) {
  const int64_t n = state.range(0);
  const flame::AttentionShape s{32, 8, 64};
  std::vector<float> q(static_cast<size_t>(n * 32 * 64), 0.1f), out(q.size());
  std::vector<float> k(static_cast<size_t>(n * 8 * 64), 0.01f), v(k.size(), 0.2f);
  for (auto _ : state) {
    flame::attention_causal(q.data(), k.data(), v.data(), out.data(), n, 0, s);
    benchmark::DoNotOptimize(out.data());
  }
  // 2 matmuls (QK^T, PV) of n*n/2 pairs x 32 heads x 64 dims.
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * 2.0 * n * n / 2 * 32 * 64 * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AttentionPrompt)->Arg(512)->Arg(2048)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
  const char* path = std::getenv("FLAME_BENCH_MODEL");
  if (!path) {
    state.SkipWithError("set FLAME_BENCH_MODEL to a GGUF file");
    return;
  }
  const auto reader = flame::gguf::Reader::open(path);
  flame::InferenceSession session(flame::LlamaWeights::from_gguf(reader), 256);
  int32_t token = 1;
  session.forward(&token, 1, 0);  // warm the mapping
  int64_t pos = 0;
  for (auto _ : state) {
    if (pos == 255) pos = 0;
    session.forward(&token, 1, pos++);
  }
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
