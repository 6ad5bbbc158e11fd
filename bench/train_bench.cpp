// Training throughput: one full step (zero grads, forward + backward, AdamW) of configs A/B/C of
// issue 5 at seq 256, reporting tokens/s and MFU, plus the fp32 GEMM peak the MFU divides by.
//
//   build/bin/flame_bench --benchmark_filter='TrainStep|GemmPeak'
//   FLAME_BENCH_THREADS=1 build/bin/flame_bench --benchmark_filter=TrainStep/A   # 1 thread
//   FLAME_GEMM_PEAK_GFLOPS=133 ...    # use a given peak instead of probing it
//   FLAME_BENCH_THREADS=2 build/bin/flame_bench --benchmark_filter=TrainBreakdown/B  # per-op table on stderr
//
// MFU = tokens/s * (6 N + 12 layers dim seq) / peak, N = LlamaConfig::n_matmul_params().
// The GEMM peak is the best of (a) one 1024^3 sgemm with OpenBLAS's own threads and (b) the same
// product split over the flame pool with flame's own GEMM (kernels/sgemm.h via matmul_forward, W
// packed inside the call: what the training kernels use).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "flame/kernels/matmul_train.h"
#include "flame/model/train_profile.h"
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
  state.SetLabel(pool_split ? "flame sgemm split over the pool" : "one sgemm, OpenBLAS threads");
}
BENCHMARK(BM_GemmPeak)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();

// The hardware's fp32 FMA ceiling of one core: 10 independent chains of 256-bit FMAs (enough to
// cover 2 pipes x 4-cycle latency), timed in thread CPU time so other processes on a shared machine
// do not lower it. GEMM-bound training cannot beat this; the sgemm probe above shows how close
// OpenBLAS gets.
__attribute__((target("avx2,fma"))) double fma_peak_gflops_one_core() {
  using v8 = float __attribute__((vector_size(32)));
  v8 a[10];
  for (int j = 0; j < 10; ++j) a[j] = v8{} + 0.1f * float(j + 1);
  const v8 b = v8{} + 0.9999f, c = v8{} + 1e-7f;
  const long n = 20000000;
  const double t0 = TrainOpTimer::thread_cpu_seconds();
  for (long i = 0; i < n; ++i) {
#pragma GCC unroll 10
    for (int j = 0; j < 10; ++j) a[j] = __builtin_ia32_vfmaddps256(a[j], b, c);
    asm volatile(""
                 : "+x"(a[0]), "+x"(a[1]), "+x"(a[2]), "+x"(a[3]), "+x"(a[4]), "+x"(a[5]), "+x"(a[6]), "+x"(a[7]),
                   "+x"(a[8]), "+x"(a[9]));
  }
  const double s = TrainOpTimer::thread_cpu_seconds() - t0;
  return double(n) * 10 * 16 / s / 1e9;
}

void BM_FmaPeak(benchmark::State& state) {
  double best = 0;
  for (auto _ : state) best = std::max(best, fma_peak_gflops_one_core());
  state.counters["GFLOPs_per_core_best"] = best;
}
BENCHMARK(BM_FmaPeak)->Iterations(5)->Unit(benchmark::kMillisecond);

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

// Config `which` with random weights (norms 1, matrices N(0, 0.02^2)), one random batch, and the
// workspace and optimizer to step it.
struct BenchModel {
  BenchModel(char which, int64_t batch, int64_t seq)
      : c(bench_config(which)),
        params(LlamaWeights::allocate(c)),
        grads(LlamaWeights::allocate(c)),
        inputs(batch * seq),
        targets(batch * seq),
        ws(c, batch, seq),
        opt(c, AdamWOptions{}),
        batch(batch),
        seq(seq) {
    std::mt19937 rng(1);
    std::normal_distribution<float> init(0.0f, 0.02f);
    params.for_each([&](const std::string&, Tensor& t) {
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = t.ndim() == 1 ? 1.0f : init(rng);
    });
    for (auto& t : inputs) t = rng() % c.vocab_size;
    for (auto& t : targets) t = rng() % c.vocab_size;
  }
  float forward_backward() {
    return train_forward_backward(params, grads, inputs.data(), targets.data(), batch, seq, ws);
  }

  LlamaConfig c;
  LlamaWeights params, grads;
  std::vector<uint32_t> inputs, targets;
  TrainWorkspace ws;
  AdamW opt;
  int64_t batch, seq;
};

void BM_TrainStep(benchmark::State& state, char which, int64_t batch) {
  apply_bench_threads();
  const double peak = gemm_peak_gflops();
  const int64_t seq = 256;
  BenchModel m(which, batch, seq);
  const LlamaConfig& c = m.c;
  auto step = [&] {
    zero_weights(m.grads);
    const float loss = m.forward_backward();
    m.opt.step(m.params, m.grads, 1e-4f);
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

// Per-op breakdown of a step (train_profile.h): CPU ms per step of each kernel on thread 0, its
// share of the step, and GFLOP/s for the ops with counted FLOPs (the MFU formula's: 6N + 12 L C T per
// token, attention counted as full T x T). Printed to stderr as a table.
void BM_TrainBreakdown(benchmark::State& state, char which, int64_t batch) {
  apply_bench_threads();
  const int64_t seq = 256;
  BenchModel m(which, batch, seq);
  const LlamaConfig& c = m.c;
  // Thread 0's CPU time, like the per-op timers (the caller is thread 0 of the pool).
  struct clock {
    static double now() { return TrainOpTimer::thread_cpu_seconds(); }
  };
  auto secs = [](double a, double b) { return b - a; };
  double t_zero = 0, t_fwbw = 0, t_opt = 0;
  int64_t steps = 0;
  auto step = [&](bool record) {
    const auto t0 = clock::now();
    zero_weights(m.grads);
    const auto t1 = clock::now();
    const float loss = m.forward_backward();
    const auto t2 = clock::now();
    m.opt.step(m.params, m.grads, 1e-4f);
    const auto t3 = clock::now();
    if (record) t_zero += secs(t0, t1), t_fwbw += secs(t1, t2), t_opt += secs(t2, t3), ++steps;
    return loss;
  };
  step(false);
  train_profile_reset();
  train_profile_enable(true);
  for (auto _ : state) benchmark::DoNotOptimize(step(true));
  train_profile_enable(false);
  const auto& prof = train_profile();
  const int threads = ThreadPool::global().size();
  // Rows of thread 0's shard (batch-parallel when batch >= threads).
  const double Ns = double(batch >= threads ? (batch / threads) * seq : batch * seq);
  const double Bs = Ns / double(seq);
  const double C = c.dim, L = c.n_layers, F = c.ffn_dim, V = c.vocab_size, T = double(seq);
  const double qd = double(c.n_heads * c.head_dim), kvd = double(c.n_kv_heads * c.head_dim);
  std::array<double, kTrainOpCount> flops{};
  flops[int(TrainOp::QkvMatmul)] = 2 * Ns * C * (qd + 2 * kvd) * L;
  flops[int(TrainOp::WoMatmul)] = 2 * Ns * qd * C * L;
  flops[int(TrainOp::GateUpMatmul)] = 2 * Ns * C * 2 * F * L;
  flops[int(TrainOp::DownMatmul)] = 2 * Ns * F * C * L;
  flops[int(TrainOp::Attention)] = 4 * Bs * T * T * qd * L;
  flops[int(TrainOp::QkvMatmulBackward)] = 2 * flops[int(TrainOp::QkvMatmul)];
  flops[int(TrainOp::WoMatmulBackward)] = 2 * flops[int(TrainOp::WoMatmul)];
  flops[int(TrainOp::GateUpMatmulBackward)] = 2 * flops[int(TrainOp::GateUpMatmul)];
  flops[int(TrainOp::DownMatmulBackward)] = 2 * flops[int(TrainOp::DownMatmul)];
  flops[int(TrainOp::AttentionBackward)] = 2 * flops[int(TrainOp::Attention)];
  flops[int(TrainOp::Classifier)] = 6 * Ns * C * V;
  const double n = double(std::max<int64_t>(steps, 1));
  const double total = (t_zero + t_fwbw + t_opt) / n;
  double listed = 0, counted_flops = 0, counted_time = 0;
  std::fprintf(stderr,
               "\nTrainBreakdown/%c, %d thread(s), %lld steps, step %.1f ms CPU of thread 0 (its shard: %.0f rows)\n",
               which, threads, (long long)steps, total * 1e3, Ns);
  std::fprintf(stderr, "%-38s %9s %7s %9s\n", "op", "ms/step", "share", "GFLOP/s");
  auto row = [&](const char* name, double s, double f) {
    std::fprintf(stderr, "%-38s %9.2f %6.1f%% ", name, s * 1e3, 100.0 * s / total);
    if (f > 0) std::fprintf(stderr, "%9.1f", f / s / 1e9);
    std::fprintf(stderr, "\n");
  };
  for (int i = 0; i < kTrainOpCount; ++i) {
    const double s = prof[i] / n;
    listed += s;
    if (flops[i] > 0) counted_flops += flops[i], counted_time += s;
    row(train_op_name(TrainOp(i)), s, flops[i]);
  }
  row("other in fwd+bwd (waiting, imbalance)", t_fwbw / n - listed, 0);
  row("zero_weights(grads)", t_zero / n, 0);
  row("AdamW step (norm, clip, update)", t_opt / n, 0);
  row("all ops with counted FLOPs", counted_time, counted_flops);
  state.counters["step_ms"] = total * 1e3;
  state.counters["threads"] = threads;
}
BENCHMARK_CAPTURE(BM_TrainBreakdown, A, 'A', 8)->Unit(benchmark::kMillisecond)->Iterations(4)->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainBreakdown, B, 'B', 8)->Unit(benchmark::kMillisecond)->Iterations(4)->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainBreakdown, C, 'C', 4)->Unit(benchmark::kMillisecond)->Iterations(4)->UseRealTime();

}  // namespace
}  // namespace flame
