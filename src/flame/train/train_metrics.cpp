#include "flame/train/train_metrics.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "flame/kernels/matmul_train.h"

namespace flame {

double measure_gemm_peak_gflops(ThreadPool& pool, double budget_seconds) {
  // 1024^3 as bench/train_bench.cpp's GemmPeak (2.1 GFLOP, ~13 ms at 160 GFLOP/s): about 20
  // repeats fit the budget; the best one is the least disturbed by other processes.
  constexpr int64_t n = 1024;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
  using Clock = std::chrono::steady_clock;
  matmul_forward(a.data(), b.data(), c.data(), n, n, n, pool);  // warm-up: pages, threads, caches
  const auto start = Clock::now();
  double best = 0;
  for (int rep = 0;; ++rep) {
    const auto t0 = Clock::now();
    matmul_forward(a.data(), b.data(), c.data(), n, n, n, pool);
    const auto t1 = Clock::now();
    const double seconds = std::chrono::duration<double>(t1 - t0).count();
    if (seconds > 0) best = std::max(best, 2.0 * n * n * n / seconds / 1e9);
    if (rep >= 3 && std::chrono::duration<double>(t1 - start).count() >= budget_seconds) break;
  }
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
