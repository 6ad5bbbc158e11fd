#pragma once
// Vector helpers of the training kernels (softmax rows, cross-entropy rows, SwiGLU), each a scalar
// reference plus an AVX2/FMA path picked at run time (cpu().has_avx2_fma()). The AVX2 exp is a
// Cephes-style polynomial (about 1 ulp from expf in range); results of the two paths agree to
// ~1e-6 relative, each path deterministic on its own.
//
//   float mx = max_of(row, n);
//   float sum = exp_shifted_sum(row, row, n, mx);   // row = exp(row - mx), returns the sum
//   scale_in_place(row, n, 1.0f / sum);
#include <cstdint>

namespace flame {

float max_of(const float* x, int64_t n);
// y[i] = exp(x[i] - shift) (y may alias x, or be null to only sum); returns sum_i exp(x[i] - shift).
float exp_shifted_sum(const float* x, float* y, int64_t n, float shift);
// y[i] = exp(x[i] - shift) * scale
void exp_shifted_scaled(const float* x, float* y, int64_t n, float shift, float scale);
void scale_in_place(float* x, int64_t n, float scale);
// h = silu(gate) * up
void swiglu_rows(const float* gate, const float* up, float* h, int64_t n);
// dup = dh * silu(gate); dgate = dh * up * s * (1 + g * (1 - s)), s = sigmoid(g)
void swiglu_grad_rows(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n);
// sum_i x[i]^2
float sum_of_squares(const float* x, int64_t n);
// y[i] = x[i] * r * w[i]  (RMSNorm forward of one row)
void scaled_product(const float* x, const float* w, float r, float* y, int64_t n);
// RMSNorm backward of one row with rstd r: k = r^3 / n * sum_i dy[i] w[i] x[i];
// dx[i] += dy[i] w[i] r - x[i] k;  dw[i] += dy[i] x[i] r.
void rmsnorm_grad_row(const float* dy, const float* x, const float* w, float r, float* dx, float* dw, int64_t n);
// Softmax backward of one row of probabilities p: ds[j] = p[j] (ds[j] - sum_k p[k] ds[k]).
void softmax_grad_row(const float* p, float* ds, int64_t n);

namespace scalar {
float max_of(const float* x, int64_t n);
float exp_shifted_sum(const float* x, float* y, int64_t n, float shift);
void exp_shifted_scaled(const float* x, float* y, int64_t n, float shift, float scale);
void scale_in_place(float* x, int64_t n, float scale);
void swiglu_rows(const float* gate, const float* up, float* h, int64_t n);
void swiglu_grad_rows(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n);
float sum_of_squares(const float* x, int64_t n);
void scaled_product(const float* x, const float* w, float r, float* y, int64_t n);
void rmsnorm_grad_row(const float* dy, const float* x, const float* w, float r, float* dx, float* dw, int64_t n);
void softmax_grad_row(const float* p, float* ds, int64_t n);
}  // namespace scalar

namespace avx2 {
float max_of(const float* x, int64_t n);
float exp_shifted_sum(const float* x, float* y, int64_t n, float shift);
void exp_shifted_scaled(const float* x, float* y, int64_t n, float shift, float scale);
void scale_in_place(float* x, int64_t n, float scale);
void swiglu_rows(const float* gate, const float* up, float* h, int64_t n);
void swiglu_grad_rows(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n);
float sum_of_squares(const float* x, int64_t n);
void scaled_product(const float* x, const float* w, float r, float* y, int64_t n);
void rmsnorm_grad_row(const float* dy, const float* x, const float* w, float r, float* dx, float* dw, int64_t n);
void softmax_grad_row(const float* p, float* ds, int64_t n);
}  // namespace avx2

}  // namespace flame
