#pragma once
// Run-time measures for the training loop's live line and log: the fp32 GEMM peak that MFU is a
// fraction of, and the ETA that honours both the step budget and the time budget.
//
//   const double peak = measure_gemm_peak_gflops(ThreadPool::global());   // ~0.3 s
//   const double eta = training_eta_seconds(steps_left, seconds_per_step, max_minutes, elapsed);
#include <cstdint>

#include "flame/core/thread_pool.h"

namespace flame {

// Best GFLOP/s of a square fp32 product split over `pool` as the training kernels split theirs
// (each worker a single-threaded flame sgemm; kernels/matmul_train.h), repeated for about
// `budget_seconds` after one warm-up product. Measured at run start because a fixed figure from
// another host misstates MFU (this host: 167 GFLOP/s against the 133).
double measure_gemm_peak_gflops(ThreadPool& pool, double budget_seconds = 0.3);

// Seconds until the run stops: the earlier of the step budget (steps_left x seconds_per_step) and
// the time budget (max_minutes, 0 = none, minus the seconds this invocation has run). Negative
// inputs count as 0; an unknown step time (<= 0) leaves only the time budget, or -1 if there is none.
double training_eta_seconds(int64_t steps_left, double seconds_per_step, double max_minutes, double elapsed_seconds);

}  // namespace flame
