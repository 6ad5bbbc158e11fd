#pragma once
// Scale searches shared by the k-quant quantizers: pick a scale (and min) that minimises the
// weighted squared error of a small group, trying several candidate step sizes around the naive
// one and refitting each by least squares.
//
//   int8_t L[16];  float d = fit_symmetric(16, 32, x, w, L);      // x ~ d * L, L in [-32, 31]
//   uint8_t Q[32]; float m; float s = fit_with_min(32, 15, x, w, Q, &m);  // x ~ s * Q - m
#include <cstdint>

namespace flame::quant {

// Levels L[i] in [-nmax, nmax - 1]; returns d (0 for an all-zero group).
float fit_symmetric(int n, int nmax, const float* x, const float* weights, int8_t* levels);
// Levels L[i] in [0, nmax]; *min_out >= 0 is subtracted; returns the scale (>= 0).
float fit_with_min(int n, int nmax, const float* x, const float* weights, unsigned char* levels, float* min_out);

inline int nearest_int(float v) {
  return static_cast<int>(v >= 0 ? v + 0.5f : v - 0.5f);
}

}  // namespace flame::quant
