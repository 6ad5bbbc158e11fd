#include "flame/kernels/rope_train.h"

#include <cmath>
#include <numbers>

namespace flame {

std::vector<float> llama3_rope_freq_factors(const LlamaConfig& config) {
  const int64_t pairs = config.rope_dim / 2;
  std::vector<float> factors(pairs, 1.0f);
  const RopeScaling& s = config.rope_scaling;
  if (!s.enabled()) return factors;
  // Same rule as Hugging Face's _compute_llama3_parameters, expressed as divisors of the frequency.
  const double low_wavelen = double(s.original_context) / s.low_freq_factor;
  const double high_wavelen = double(s.original_context) / s.high_freq_factor;
  for (int64_t i = 0; i < pairs; ++i) {
    const double freq = std::pow(double(config.rope_theta), -2.0 * double(i) / double(config.rope_dim));
    const double wavelen = 2.0 * std::numbers::pi / freq;
    if (wavelen < high_wavelen) {
      factors[i] = 1.0f;
    } else if (wavelen > low_wavelen) {
      factors[i] = s.factor;
    } else {
      const double smooth =
          (double(s.original_context) / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      factors[i] = float(1.0 / ((1.0 - smooth) / s.factor + smooth));
    }
  }
  return factors;
}

RopeTable RopeTable::build(const LlamaConfig& config, int64_t seq, const float* freq_factors) {
  RopeTable t;
  t.seq = seq;
  t.pairs = config.rope_dim / 2;
  std::vector<float> factors =
      freq_factors ? std::vector<float>(freq_factors, freq_factors + t.pairs) : llama3_rope_freq_factors(config);
  t.cos.resize(seq * t.pairs);
  t.sin.resize(seq * t.pairs);
  for (int64_t i = 0; i < t.pairs; ++i) {
    const double freq =
        std::pow(double(config.rope_theta), -2.0 * double(i) / double(config.rope_dim)) / double(factors[i]);
    for (int64_t p = 0; p < seq; ++p) {
      const double angle = double(p) * freq;
      t.cos[p * t.pairs + i] = float(std::cos(angle));
      t.sin[p * t.pairs + i] = float(std::sin(angle));
    }
  }
  return t;
}

namespace {
// sign = +1 rotates by +angle (forward), -1 by -angle (backward = transpose of the rotation).
void rotate(float* x, const RopeTable& table, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim, float sign,
            ThreadPool& pool) {
  pool.parallel_for(B * T, [&](int64_t b, int64_t e) {
    for (int64_t bt = b; bt < e; ++bt) {
      const int64_t pos = bt % T;
      const float* cs = table.cos.data() + pos * table.pairs;
      const float* sn = table.sin.data() + pos * table.pairs;
      for (int64_t h = 0; h < n_heads; ++h) {
        float* v = x + (bt * n_heads + h) * head_dim;
        for (int64_t i = 0; i < table.pairs; ++i) {
          const float c = cs[i], s = sign * sn[i];
          const float a = v[2 * i], bb = v[2 * i + 1];
          v[2 * i] = a * c - bb * s;
          v[2 * i + 1] = a * s + bb * c;
        }
      }
    }
  });
}
}  // namespace

void rope_forward(float* x, const RopeTable& table, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                  ThreadPool& pool) {
  rotate(x, table, B, T, n_heads, head_dim, 1.0f, pool);
}

void rope_backward(float* dx, const RopeTable& table, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                   ThreadPool& pool) {
  rotate(dx, table, B, T, n_heads, head_dim, -1.0f, pool);
}

}  // namespace flame
