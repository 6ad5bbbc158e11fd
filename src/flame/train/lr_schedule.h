#pragma once
// Learning-rate schedules, as a pure function of the 0-based update index.
//
//   LrSchedule s{.kind = LrSchedule::Kind::Cosine, .max_lr = 3e-4f, .min_lr = 3e-5f,
//                .warmup_steps = 100, .total_steps = 5000};
//   float lr = s.lr(step);
//
// warmup (all kinds): lr = max_lr * (step + 1) / warmup_steps for step < warmup_steps.
// Cosine: then min_lr + (max_lr - min_lr) * (1 + cos(pi * p)) / 2, p = (step - warmup) /
//   (total - warmup), clamped to [0, 1].
// WarmupStableDecay: max_lr until total - decay_steps, then linearly down to min_lr at the last
//   step: p = (step - (total - decay_steps) + 1) / decay_steps.
// Constant: max_lr after warmup.
#include <cstdint>

namespace flame {

struct LrSchedule {
  enum class Kind { Constant, Cosine, WarmupStableDecay };
  Kind kind = Kind::Cosine;
  float max_lr = 3e-4f;
  float min_lr = 0.0f;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  int64_t decay_steps = 0;  // WarmupStableDecay only

  // Throws ArgumentError naming the inconsistent field.
  void validate() const;
  float lr(int64_t step) const;
};

}  // namespace flame
