#include "flame/train/train_metrics.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "flame/kernels/matmul_train.h"

namespace flame {

namespace {
// Best GFLOP/s of n^3 products on `pool` over about `budget_seconds` (at least 4 repeats), after
// one warm-up product (pages, threads, caches).
double best_gemm_gflops(ThreadPool& pool, int64_t n, double budget_seconds) {
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
  using Clock = std::chrono::steady_clock;
  matmul_forward(a.data(), b.data(), c.data(), n, n, n, pool);
  const auto start = Clock::now();
  double best = 0;
  for (int rep = 0;; ++rep) {
    const auto t0 = Clock::now();
    matmul_forward(a.data(), b.data(), c.data(), n, n, n, pool);
    const auto t1 = Clock::now();
    const double seconds = std::chrono::duration<double>(t1 - t0).count();
    if (seconds > 0) best = std::max(best, 2.0 * double(n) * double(n) * double(n) / seconds / 1e9);
    if (rep >= 3 && std::chrono::duration<double>(t1 - start).count() >= budget_seconds) break;
  }
  return best;
}
}  // namespace

double measure_gemm_peak_gflops(ThreadPool& pool, double budget_seconds) {
  // 1024^3 as bench/train_bench.cpp's GemmPeak (2.1 GFLOP, ~13 ms at 160 GFLOP/s): about 20
  // repeats fit the budget; the best one is the least disturbed by other processes.
  constexpr int64_t n = 1024;
  double best = best_gemm_gflops(pool, n, budget_seconds);
  if (pool.size() < 2) return best;
  // A probe that overlaps another process's burst on one core reads the speed of the other core
  // alone (seen: 77 of 165 GFLOP/s right after `flame data` had written its shards, which the
  // kernel was still flushing), and MFU then reads above 100%. So compare with what the calling
  // thread alone reaches and probe again, a few times, while the pool falls short of 75% of
  // threads x that.
  ThreadPool single(1);
  const double one_thread = best_gemm_gflops(single, 512, 0.05);
  for (int retry = 0; retry < 4 && best < 0.75 * pool.size() * one_thread; ++retry)
    best = std::max(best, best_gemm_gflops(pool, n, budget_seconds));
  return best;
}

double training_eta_seconds(int64_t steps_left, double seconds_per_step, double max_minutes, double elapsed_seconds) {
  double eta = -1;
  if (seconds_per_step > 0) eta = static_cast<double>(std::max<int64_t>(0, steps_left)) * seconds_per_step;
  if (max_minutes > 0) {
    const double time_left = std::max(0.0, max_minutes * 60.0 - std::max(0.0, elapsed_seconds));
    eta = eta < 0 ? time_left : std::min(eta, time_left);
  }
  return eta;
}

}  // namespace flame
