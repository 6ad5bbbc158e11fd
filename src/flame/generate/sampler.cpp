#include "flame/generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include <fmt/format.h>

#include "flame/core/error.h"

namespace flame {

void SamplerParams::validate() const {
  if (!(top_p > 0.0f)) throw ArgumentError("sampler", fmt::format("top_p must be in (0, 1], got {}", top_p));
  if (!(min_p >= 0.0f && min_p <= 1.0f))
    throw ArgumentError("sampler", fmt::format("min_p must be in [0, 1], got {}", min_p));
  if (!(repeat_penalty > 0.0f))
    throw ArgumentError("sampler", fmt::format("repeat_penalty must be positive, got {}", repeat_penalty));
  if (repeat_last_n < 0)
    throw ArgumentError("sampler", fmt::format("repeat_last_n must be >= 0, got {}", repeat_last_n));
  if (std::isnan(temperature)) throw ArgumentError("sampler", "temperature is NaN");
}

SamplerParams SamplerParams::greedy() {
  SamplerParams p;
  p.temperature = 0.0f;
  return p;
}

int32_t argmax(const float* values, int64_t n) {
  return static_cast<int32_t>(std::max_element(values, values + n) - values);
}

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {
  params_.validate();
}

int32_t Sampler::sample(const float* logits, int64_t vocab, const std::vector<int32_t>& history) {
  candidates_.resize(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) candidates_[i] = {static_cast<int32_t>(i), logits[i]};

  // Repetition penalty (CTRL / llama.cpp): divide positive logits, multiply negative ones.
  if (params_.repeat_penalty != 1.0f && params_.repeat_last_n > 0) {
    const size_t n = std::min(history.size(), static_cast<size_t>(params_.repeat_last_n));
    const std::unordered_set<int32_t> recent(history.end() - n, history.end());
    for (int32_t id : recent) {
      if (id < 0 || id >= vocab) continue;
      float& v = candidates_[id].value;
      v = v > 0 ? v / params_.repeat_penalty : v * params_.repeat_penalty;
    }
  }

  auto by_value = [](const Candidate& a, const Candidate& b) {
    return a.value > b.value || (a.value == b.value && a.id < b.id);
  };
  if (params_.temperature <= 0.0f) return std::min_element(candidates_.begin(), candidates_.end(), by_value)->id;

  // Top-k: keep the k largest, sorted descending.
  size_t keep = candidates_.size();
  if (params_.top_k > 0) keep = std::min(keep, static_cast<size_t>(params_.top_k));
  std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), by_value);
  candidates_.resize(keep);

  // Temperature, then softmax over the survivors (double for a stable normalisation).
  std::vector<double> probs(keep);
  const double max = candidates_[0].value / params_.temperature;
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) {
    probs[i] = std::exp(candidates_[i].value / params_.temperature - max);
    sum += probs[i];
  }
  for (auto& p : probs) p /= sum;

  // Top-p: the smallest prefix whose mass reaches top_p (at least one token).
  if (params_.top_p < 1.0f) {
    double mass = 0;
    size_t n = 0;
    while (n < keep) {
      mass += probs[n++];
      if (mass >= params_.top_p) break;
    }
    keep = n;
  }
  // Min-p: drop tokens below min_p times the most likely one.
  if (params_.min_p > 0.0f) {
    const double floor = params_.min_p * probs[0];
    size_t n = 1;
    while (n < keep && probs[n] >= floor) ++n;
    keep = n;
  }

  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += probs[i];
  // A uniform draw from the 53 high bits: deterministic across standard libraries.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * total;
  double acc = 0;
  for (size_t i = 0; i < keep; ++i) {
    acc += probs[i];
    if (u < acc) return candidates_[i].id;
  }
  return candidates_[keep - 1].id;
}

}  // namespace flame
