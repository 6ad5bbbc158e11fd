#include "flame/kernels/train_math.h"

#include <algorithm>
#include <cmath>

#include "flame/core/cpu.h"

namespace flame {
namespace scalar {

float max_of(const float* x, int64_t n) {
  float m = x[0];
  for (int64_t i = 1; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

float exp_shifted_sum(const float* x, float* y, int64_t n, float shift) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    const float e = std::exp(x[i] - shift);
    if (y) y[i] = e;
    sum += e;
  }
  return sum;
}

void exp_shifted_scaled(const float* x, float* y, int64_t n, float shift, float scale) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i] - shift) * scale;
}

void scale_in_place(float* x, int64_t n, float scale) {
  for (int64_t i = 0; i < n; ++i) x[i] *= scale;
}

void swiglu_rows(const float* gate, const float* up, float* h, int64_t n) {
  for (int64_t i = 0; i < n; ++i) h[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void swiglu_grad_rows(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i], s = 1.0f / (1.0f + std::exp(-g)), d = dh[i];
    dup[i] = d * g * s;
    dgate[i] = d * up[i] * s * (1.0f + g * (1.0f - s));
  }
}

float sum_of_squares(const float* x, int64_t n) {
  float ss = 0.0f;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  return ss;
}

void scaled_product(const float* x, const float* w, float r, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * r * w[i];
}

void rmsnorm_grad_row(const float* dy, const float* x, const float* w, float r, float* dx, float* dw, int64_t n) {
  float dot = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    dot += dy[i] * w[i] * x[i];
    dw[i] += dy[i] * x[i] * r;
  }
  const float k = dot * r * r * r / float(n);
  for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * w[i] * r - x[i] * k;
}

void softmax_grad_row(const float* p, float* ds, int64_t n) {
  float dot = 0.0f;
  for (int64_t j = 0; j < n; ++j) dot += p[j] * ds[j];
  for (int64_t j = 0; j < n; ++j) ds[j] = p[j] * (ds[j] - dot);
}

}  // namespace scalar

namespace {
bool fast() {
  return cpu().has_avx2_fma();
}
}  // namespace

float max_of(const float* x, int64_t n) {
  return fast() ? avx2::max_of(x, n) : scalar::max_of(x, n);
}
float exp_shifted_sum(const float* x, float* y, int64_t n, float shift) {
  return fast() ? avx2::exp_shifted_sum(x, y, n, shift) : scalar::exp_shifted_sum(x, y, n, shift);
}
void exp_shifted_scaled(const float* x, float* y, int64_t n, float shift, float scale) {
  fast() ? avx2::exp_shifted_scaled(x, y, n, shift, scale) : scalar::exp_shifted_scaled(x, y, n, shift, scale);
}
void scale_in_place(float* x, int64_t n, float scale) {
  fast() ? avx2::scale_in_place(x, n, scale) : scalar::scale_in_place(x, n, scale);
}
void swiglu_rows(const float* gate, const float* up, float* h, int64_t n) {
  fast() ? avx2::swiglu_rows(gate, up, h, n) : scalar::swiglu_rows(gate, up, h, n);
}
void swiglu_grad_rows(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n) {
  fast() ? avx2::swiglu_grad_rows(dh, gate, up, dgate, dup, n) : scalar::swiglu_grad_rows(dh, gate, up, dgate, dup, n);
}
float sum_of_squares(const float* x, int64_t n) {
  return fast() ? avx2::sum_of_squares(x, n) : scalar::sum_of_squares(x, n);
}
void scaled_product(const float* x, const float* w, float r, float* y, int64_t n) {
  fast() ? avx2::scaled_product(x, w, r, y, n) : scalar::scaled_product(x, w, r, y, n);
}
void rmsnorm_grad_row(const float* dy, const float* x, const float* w, float r, float* dx, float* dw, int64_t n) {
  fast() ? avx2::rmsnorm_grad_row(dy, x, w, r, dx, dw, n) : scalar::rmsnorm_grad_row(dy, x, w, r, dx, dw, n);
}
void softmax_grad_row(const float* p, float* ds, int64_t n) {
  fast() ? avx2::softmax_grad_row(p, ds, n) : scalar::softmax_grad_row(p, ds, n);
}

}  // namespace flame
