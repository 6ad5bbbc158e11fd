// The training loop's run-time measures: the ETA that honours both budgets, and the GEMM peak probe.
#include <gtest/gtest.h>

#include <chrono>

#include "flame/core/thread_pool.h"
#include "flame/train/train_metrics.h"

namespace flame {
namespace {

TEST(TrainMetrics, EtaIsTheStepBudgetWithoutATimeLimit) {
  EXPECT_DOUBLE_EQ(training_eta_seconds(100, 0.5, 0, 10), 50.0);
  EXPECT_DOUBLE_EQ(training_eta_seconds(0, 0.5, 0, 10), 0.0);
}

TEST(TrainMetrics, EtaIsTheEarlierOfTheStepAndTimeBudgets) {
  // 1000 steps at 1 s would take 1000 s, but max_minutes = 2 with 30 s gone leaves 90 s.
  EXPECT_DOUBLE_EQ(training_eta_seconds(1000, 1.0, 2.0, 30.0), 90.0);
  // The steps finish first: 10 steps x 1 s < 90 s.
  EXPECT_DOUBLE_EQ(training_eta_seconds(10, 1.0, 2.0, 30.0), 10.0);
  // Past the time limit (the last step is still running): 0, never negative.
  EXPECT_DOUBLE_EQ(training_eta_seconds(1000, 1.0, 2.0, 200.0), 0.0);
}

TEST(TrainMetrics, EtaWithAnUnknownStepTimeFallsBackToTheTimeBudget) {
  EXPECT_DOUBLE_EQ(training_eta_seconds(1000, 0.0, 1.0, 15.0), 45.0);
  EXPECT_LT(training_eta_seconds(1000, 0.0, 0.0, 15.0), 0.0);  // nothing known: no ETA
}

TEST(TrainMetrics, GemmPeakProbeIsShortAndPlausible) {
  ThreadPool& pool = ThreadPool::global();
  const auto t0 = std::chrono::steady_clock::now();
  const double peak = measure_gemm_peak_gflops(pool, 0.3);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // At least 4 timed 1024^3 products plus a warm-up; on a loaded 2-core host ~0.4 s, allow slack.
  EXPECT_LT(seconds, 5.0);
  // Above a scalar loop's rate, below the FMA hardware limit (2 x 256-bit FMA per cycle = 32 FLOP
  // per cycle per core) at a generous 6 GHz.
  EXPECT_GT(peak, 1.0);
  EXPECT_LT(peak, 32.0 * 6.0 * static_cast<double>(pool.size()));
}

}  // namespace
}  // namespace flame
