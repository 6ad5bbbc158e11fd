#pragma once
// Optional per-op wall-time breakdown of the training step (bench/train_bench.cpp's TrainBreakdown).
// Off by default; when on, thread 0's shard records the time of each kernel call it makes (in
// batch-parallel mode every thread runs the same ops on its own sequences, so thread 0's times are
// representative). Times are the recording thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so a
// shared, oversubscribed machine inflates them far less than wall time. Costs one branch per op when off.
//
//   train_profile_enable(true);
//   ... train_forward_backward(...) ...
//   for (int i = 0; i < kTrainOpCount; ++i) printf("%s %.3f\n", train_op_name(TrainOp(i)), train_profile()[i]);
//   train_profile_reset();
#include <time.h>

#include <array>

namespace flame {

enum class TrainOp {
  Embedding,
  AttnNorm,
  QkvMatmul,
  Rope,
  Attention,
  WoMatmul,
  FfnNorm,
  GateUpMatmul,
  Swiglu,
  DownMatmul,
  FinalNorm,
  Classifier,  // output projection + cross-entropy, forward and backward (fused, chunked)
  FinalNormBackward,
  DownMatmulBackward,
  SwigluBackward,
  GateUpMatmulBackward,
  FfnNormBackward,
  WoMatmulBackward,
  AttentionBackward,
  RopeBackward,
  QkvMatmulBackward,
  AttnNormBackward,
  EmbeddingBackward,
  GradZeroAndReduce,  // zeroing the per-thread gradient copies and adding them up (batch-parallel)
  Count
};
constexpr int kTrainOpCount = int(TrainOp::Count);

const char* train_op_name(TrainOp op);
void train_profile_enable(bool on);
bool train_profile_enabled();
void train_profile_reset();
// Seconds per op accumulated since the last reset.
const std::array<double, kTrainOpCount>& train_profile();
void train_profile_add(TrainOp op, double seconds);

// Times one op when `active` (profiling on and this is the recording thread).
class TrainOpTimer {
 public:
  explicit TrainOpTimer(bool active) : active_(active) {
    if (active_) start_ = thread_cpu_seconds();
  }
  void lap(TrainOp op) {
    if (!active_) return;
    const double now = thread_cpu_seconds();
    train_profile_add(op, now - start_);
    start_ = now;
  }
  static double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  }

 private:
  bool active_;
  double start_ = 0;
};

}  // namespace flame
