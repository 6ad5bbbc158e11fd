#include "flame/kernels/rope_train.h"

#include <algorithm>
#include <cmath>

#include "flame/core/error.h"

namespace flame {

RopeAngles RopeAngles::make(const RopeTable& table, int64_t T) {
  RopeAngles a;
  a.T = T;
  a.pairs = table.rope_dim / 2;
  a.cos.resize(size_t(T * a.pairs));
  a.sin.resize(size_t(T * a.pairs));
  for (int64_t t = 0; t < T; ++t) {
    const double pos = static_cast<double>(t) * table.position_scale;
    for (int64_t i = 0; i < a.pairs; ++i) {
      const double angle = pos * table.inv_freq[i];
      a.cos[t * a.pairs + i] = static_cast<float>(std::cos(angle));
      a.sin[t * a.pairs + i] = static_cast<float>(std::sin(angle));
    }
  }
  return a;
}

namespace {
// Rows [b, e) of the flattened [B*T] positions; row r is at position r % T. The inverse rotation
// negates sin (exact in float), as rope_apply does.
void rotate(float* x, const RopeAngles& a, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim, bool inverse,
            ThreadPool& pool) {
  if (a.T < T) throw ArgumentError("rope", "RopeAngles table is shorter than the sequence");
  const int64_t row = n_heads * head_dim, pairs = a.pairs;
  const float sign = inverse ? -1.0f : 1.0f;
  pool.parallel_for(B * T, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* cs = a.cos.data() + (r % T) * pairs;
      const float* sn = a.sin.data() + (r % T) * pairs;
      float* xr = x + r * row;
      for (int64_t h = 0; h < n_heads; ++h) {
        float* v = xr + h * head_dim;
        for (int64_t i = 0; i < pairs; ++i) {
          const float c = cs[i], s = sign * sn[i], p = v[2 * i], q = v[2 * i + 1];
          v[2 * i] = p * c - q * s;
          v[2 * i + 1] = p * s + q * c;
        }
      }
    }
  });
}
}  // namespace

void rope_forward(float* x, const RopeAngles& angles, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                  ThreadPool& pool) {
  rotate(x, angles, B, T, n_heads, head_dim, false, pool);
}

void rope_backward(float* dx, const RopeAngles& angles, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                   ThreadPool& pool) {
  rotate(dx, angles, B, T, n_heads, head_dim, true, pool);
}

void rope_forward(float* x, const RopeTable& table, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                  ThreadPool& pool) {
  rotate(x, RopeAngles::make(table, T), B, T, n_heads, head_dim, false, pool);
}

void rope_backward(float* dx, const RopeTable& table, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                   ThreadPool& pool) {
  rotate(dx, RopeAngles::make(table, T), B, T, n_heads, head_dim, true, pool);
}

}  // namespace flame
