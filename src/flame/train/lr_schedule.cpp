#include "flame/train/lr_schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "flame/core/error.h"

namespace flame {

void LrSchedule::validate() const {
  if (!(max_lr > 0)) throw ArgumentError("lr_schedule", fmt::format("max_lr must be positive, got {}", max_lr));
  if (!(min_lr >= 0) || min_lr > max_lr)
    throw ArgumentError("lr_schedule", fmt::format("min_lr ({}) must be in [0, max_lr ({})]", min_lr, max_lr));
  if (total_steps <= 0)
    throw ArgumentError("lr_schedule", fmt::format("total_steps ({}) must be positive", total_steps));
  if (warmup_steps < 0 || warmup_steps > total_steps)
    throw ArgumentError("lr_schedule",
                        fmt::format("warmup_steps ({}) must be in [0, total_steps ({})]", warmup_steps, total_steps));
  if (kind == Kind::WarmupStableDecay && (decay_steps <= 0 || decay_steps > total_steps - warmup_steps))
    throw ArgumentError("lr_schedule", fmt::format("decay_steps ({}) must be in [1, total_steps - warmup_steps ({})]",
                                                   decay_steps, total_steps - warmup_steps));
}

float LrSchedule::lr(int64_t step) const {
  if (step < warmup_steps) return float(double(max_lr) * double(step + 1) / double(warmup_steps));
  switch (kind) {
    case Kind::Constant:
      return max_lr;
    case Kind::Cosine: {
      const double span = double(std::max<int64_t>(1, total_steps - warmup_steps));
      const double p = std::clamp(double(step - warmup_steps) / span, 0.0, 1.0);
      return float(min_lr + (double(max_lr) - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * p)));
    }
    case Kind::WarmupStableDecay: {
      const int64_t decay_start = total_steps - decay_steps;
      if (step < decay_start) return max_lr;
      const double p = std::clamp(double(step - decay_start + 1) / double(decay_steps), 0.0, 1.0);
      return float(max_lr + (double(min_lr) - max_lr) * p);
    }
  }
  return max_lr;
}

}  // namespace flame
