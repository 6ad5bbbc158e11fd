// Training throughput: one full step (zero grads, forward + backward, AdamW) of configs A/B/C of
// issue 5 at seq 256, reporting tokens/s and MFU, plus the fp32 GEMM peak the MFU divides by.
//
//   build/bin/flame_bench --benchmark_filter='TrainStep|GemmPeak'
//   FLAME_BENCH_THREADS=1 build/bin/flame_bench --benchmark_filter=TrainStep/A   # 1 thread
//   FLAME_GEMM_PEAK_GFLOPS=133 ...    # use a given peak instead of probing it
//
// MFU = tokens/s * (6 N + 12 layers dim seq) / peak, N = LlamaConfig::n_matmul_params().
// The GEMM peak is the best of (a) one 1024^3 sgemm with OpenBLAS's own threads and (b) the same
// product split over the flame pool as single-threaded sgemms (what the training kernels do).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <vector>

#include "flame/kernels/matmul_train.h"
#include "flame/model/train_step.h"
#include "flame/train/adamw.h"

namespace flame {
namespace {

void apply_bench_threads() {
  static bool done = false;
  if (done) return;
  done = true;
  if (const char* t = std::getenv("FLAME_BENCH_THREADS")) ThreadPool::set_global_threads(std::atoi(t));
}

constexpr int kProbe = 1024;

// Best GFLOP/s of a kProbe^3 sgemm over `reps` runs.
double probe_gemm(bool pool_split, int reps) {
  std::vector<float> a(kProbe * kProbe, 0.5f), b(kProbe * kProbe, 0.25f), c(kProbe * kProbe);
  ThreadPool& pool = ThreadPool::global();
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    if (pool_split) {
      matmul_forward(a.data(), b.data(), c.data(), kProbe, kProbe, kProbe, pool);
    } else {
      openblas_set_num_threads(pool.size());
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kProbe, kProbe, kProbe, 1.0f, a.data(), kProbe, b.data(),
                  kProbe, 0.0f, c.data(), kProbe);
      openblas_set_num_threads(1);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * kProbe * kProbe * kProbe / s / 1e9);
  }
  return best;
}

double gemm_peak_gflops() {
  static double peak = 0;
  if (peak > 0) return peak;
  if (const char* p = std::getenv("FLAME_GEMM_PEAK_GFLOPS")) return peak = std::atof(p);
  use_single_threaded_blas();
  return peak = std::max(probe_gemm(false, 10), probe_gemm(true, 10));
}

void BM_GemmPeak(benchmark::State& state) {
  apply_bench_threads();
  use_single_threaded_blas();
  const bool pool_split = state.range(0) == 1;
  double best = 0;
  for (auto _ : state) best = std::max(best, probe_gemm(pool_split, 1));
  state.counters["GFLOPs_best"] = best;
  state.counters["threads"] = ThreadPool::global().size();
  state.SetLabel(pool_split ? "pool of single-threaded sgemm" : "one sgemm, OpenBLAS threads");
}
BENCHMARK(BM_GemmPeak)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();

LlamaConfig bench_config(char which) {
  LlamaConfig c;
  switch (which) {
    case 'A':
      c.dim = 128, c.n_layers = 4, c.n_heads = 4, c.n_kv_heads = 2, c.ffn_dim = 384, c.vocab_size = 4096;
      break;
    case 'B':
      c.dim = 256, c.n_layers = 6, c.n_heads = 8, c.n_kv_heads = 4, c.ffn_dim = 768, c.vocab_size = 8192;
      break;
    default:
      c.dim = 512, c.n_layers = 8, c.n_heads = 8, c.n_kv_heads = 4, c.ffn_dim = 1536, c.vocab_size = 8192;
  }
  c.head_dim = c.rope_dim = c.dim / c.n_heads;
  c.context_length = 256;
  c.rope_theta = 10000.0f;
  return c;
}

void BM_TrainStep(benchmark::State& state, char which, int64_t batch) {
  apply_bench_threads();
  const double peak = gemm_peak_gflops();
  const int64_t seq = 256;
  const LlamaConfig c = bench_config(which);
  LlamaWeights params = LlamaWeights::allocate(c), grads = LlamaWeights::allocate(c);
  std::mt19937 rng(1);
  std::normal_distribution<float> init(0.0f, 0.02f);
  params.for_each([&](const std::string&, Tensor& t) {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = t.ndim() == 1 ? 1.0f : init(rng);
  });
  std::vector<uint32_t> inputs(batch * seq), targets(batch * seq);
  for (auto& t : inputs) t = rng() % c.vocab_size;
  for (auto& t : targets) t = rng() % c.vocab_size;
  TrainWorkspace ws(c, batch, seq);
  AdamW opt(c, AdamWOptions{});
  auto step = [&] {
    zero_weights(grads);
    const float loss = train_forward_backward(params, grads, inputs.data(), targets.data(), batch, seq, ws);
    opt.step(params, grads, 1e-4f);
    return loss;
  };
  step();  // warm up: first touch of every buffer
  for (auto _ : state) benchmark::DoNotOptimize(step());
  const double tokens = double(batch * seq) * double(state.iterations());
  const double flops_per_token = 6.0 * double(c.n_matmul_params()) + 12.0 * c.n_layers * c.dim * seq;
  state.counters["tokens_per_s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);
  state.counters["MFU_pct"] =
      benchmark::Counter(tokens * flops_per_token / peak / 1e9 * 100.0, benchmark::Counter::kIsRate);
  state.counters["peak_GFLOPs"] = peak;
  state.counters["threads"] = ThreadPool::global().size();
}
BENCHMARK_CAPTURE(BM_TrainStep, A, 'A', 8)->Unit(benchmark::kMillisecond)->MinTime(3.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainStep, B, 'B', 8)->Unit(benchmark::kMillisecond)->MinTime(3.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainStep, C, 'C', 4)->Unit(benchmark::kMillisecond)->MinTime(3.0)->UseRealTime();

}  // namespace
}  // namespace flame
