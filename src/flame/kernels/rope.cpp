#include "flame/kernels/rope.h"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "flame/core/error.h"

namespace flame {

RopeTable RopeTable::make(int64_t rope_dim, float base, const std::vector<float>& freq_factors, float position_scale) {
  if (rope_dim <= 0 || rope_dim % 2 != 0)
    throw ArgumentError("rope", fmt::format("rope_dim must be positive and even, got {}", rope_dim));
  const int64_t pairs = rope_dim / 2;
  if (!freq_factors.empty() && static_cast<int64_t>(freq_factors.size()) != pairs)
    throw ArgumentError(
        "rope", fmt::format("{} frequency factors for rope_dim {} (want {})", freq_factors.size(), rope_dim, pairs));
  RopeTable t;
  t.rope_dim = rope_dim;
  t.position_scale = position_scale;
  t.inv_freq.resize(pairs);
  for (int64_t i = 0; i < pairs; ++i) {
    double f = std::pow(static_cast<double>(base), -2.0 * static_cast<double>(i) / static_cast<double>(rope_dim));
    if (!freq_factors.empty()) f /= freq_factors[i];
    t.inv_freq[i] = f;
  }
  return t;
}

void rope_apply(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const RopeTable& rope, int64_t pos0,
                bool inverse) {
  const int64_t pairs = rope.rope_dim / 2;
  std::vector<float> cos_v(pairs), sin_v(pairs);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const double pos = static_cast<double>(pos0 + t) * rope.position_scale;
    for (int64_t i = 0; i < pairs; ++i) {
      const double angle = pos * rope.inv_freq[i];
      cos_v[i] = static_cast<float>(std::cos(angle));
      sin_v[i] = static_cast<float>(inverse ? -std::sin(angle) : std::sin(angle));
    }
    float* row = x + t * n_heads * head_dim;
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = row + h * head_dim;
      for (int64_t i = 0; i < pairs; ++i) {
        const float a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * cos_v[i] - b * sin_v[i];
        v[2 * i + 1] = a * sin_v[i] + b * cos_v[i];
      }
    }
  }
}

std::vector<float> llama3_freq_factors(int64_t rope_dim, float base, float factor, float low_freq_factor,
                                       float high_freq_factor, int64_t original_context) {
  const double low_freq_wavelen = static_cast<double>(original_context) / low_freq_factor;
  const double high_freq_wavelen = static_cast<double>(original_context) / high_freq_factor;
  std::vector<float> factors;
  for (int64_t i = 0; i < rope_dim; i += 2) {
    const double freq = 1.0 / std::pow(static_cast<double>(base), static_cast<double>(i) / rope_dim);
    const double wavelen = 2.0 * std::numbers::pi / freq;
    if (wavelen < high_freq_wavelen) {
      factors.push_back(1.0f);
    } else if (wavelen > low_freq_wavelen) {
      factors.push_back(factor);
    } else {
      const double smooth = (original_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      factors.push_back(static_cast<float>(1.0 / ((1.0 - smooth) / factor + smooth)));
    }
  }
  return factors;
}

}  // namespace flame
