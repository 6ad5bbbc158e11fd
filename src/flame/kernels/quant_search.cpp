// Least-squares scale searches for the k-quants (see quant_search.h).
#include "flame/kernels/quant_search.h"

#include <algorithm>
#include <cmath>

namespace flame::quant {

namespace {
// nearest_int and std::clamp with the same results, written without branches or float compares
// so the step loops below vectorise. v + copysign(0.5, v) is v + 0.5 or v - 0.5 exactly as in
// nearest_int; the one input where the sign tests differ, -0.0, truncates to 0 either way.
inline int nearest_int_select(float v) {
  return static_cast<int>(v + std::copysign(0.5f, v));
}
inline int clamp_select(int v, int lo, int hi) {
  return std::min(std::max(v, lo), hi);
}
}  // namespace

float fit_symmetric(int n, int nmax, const float* x, const float* w, int8_t* levels) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < 1e-30f) {
    std::fill(levels, levels + n, 0);
    return 0.0f;
  }
  // Mapping the extreme value to -nmax uses the one extra negative level; try nearby step sizes
  // and keep the one whose least-squares refit explains the most weighted energy.
  float best_score = -1.0f, best_scale = 0.0f, best_inv = -nmax / max;
  // All steps advance together, element by element: each step's sums take the same terms in the
  // same order as a loop per step (identical bits), but the steps' independent chains overlap and
  // the compiler vectorises across them, which a loop per step (one serial chain) cannot.
  constexpr int kSteps = 19;
  float invs[kSteps];
  double sums_lx[kSteps] = {}, sums_l2[kSteps] = {};
  for (int s = 0; s < kSteps; ++s) invs[s] = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(s - 9)) / max;
  for (int i = 0; i < n; ++i) {
    const double wi = w[i];
    const float xi = x[i];
    for (int s = 0; s < kSteps; ++s) {
      const int l = clamp_select(nearest_int_select(invs[s] * xi), -nmax, nmax - 1);
      sums_lx[s] += wi * xi * l;
      sums_l2[s] += wi * l * l;
    }
  }
  for (int s = 0; s < kSteps; ++s) {
    const float inv = invs[s];
    const double sum_lx = sums_lx[s], sum_l2 = sums_l2[s];
    if (sum_l2 > 0 && sum_lx * sum_lx / sum_l2 > best_score) {
      best_score = static_cast<float>(sum_lx * sum_lx / sum_l2);
      best_scale = static_cast<float>(sum_lx / sum_l2);
      best_inv = inv;
    }
  }
  for (int i = 0; i < n; ++i)
    levels[i] = static_cast<int8_t>(std::clamp(nearest_int(best_inv * x[i]), -nmax, nmax - 1));
  return best_scale;
}

float fit_with_min(int n, int nmax, const float* x, const float* w, unsigned char* levels, float* min_out) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  lo = std::min(lo, 0.0f);  // the format subtracts a non-negative min
  if (hi <= lo) {
    std::fill(levels, levels + n, 0);
    *min_out = -lo;
    return 0.0f;
  }
  float best_err = INFINITY, best_scale = (hi - lo) / nmax, best_min = lo;
  // The level-independent sums, once (same terms in the same order as per step: same bits).
  double sw = 0, sx = 0, sx2 = 0;
  for (int i = 0; i < n; ++i) {
    sw += w[i];
    sx += w[i] * x[i];
    sx2 += w[i] * x[i] * x[i];
  }
  // Levels for each step, then the weighted least-squares (scale, offset) for those levels. The
  // steps advance together element by element (see fit_symmetric: same bits, overlapping chains).
  constexpr int kSteps = 21;
  float invs[kSteps];
  double sums_l[kSteps] = {}, sums_l2[kSteps] = {}, sums_lx[kSteps] = {};
  for (int s = 0; s < kSteps; ++s)
    invs[s] = (static_cast<float>(nmax) + 0.05f * static_cast<float>(s - 10) * nmax / 5.0f) / (hi - lo);
  for (int i = 0; i < n; ++i) {
    const float wi = w[i], xi = x[i], shifted = x[i] - lo;
    for (int s = 0; s < kSteps; ++s) {
      const int l = clamp_select(nearest_int_select(invs[s] * shifted), 0, nmax);
      const float wl = wi * static_cast<float>(l);
      sums_l[s] += wl;
      sums_l2[s] += wl * static_cast<float>(l);
      sums_lx[s] += wl * xi;
    }
  }
  for (int s = 0; s < kSteps; ++s) {
    const double sl = sums_l[s], sl2 = sums_l2[s], slx = sums_lx[s];
    const double det = sw * sl2 - sl * sl;
    if (det <= 0) continue;
    double scale = (sw * slx - sl * sx) / det;
    double offset = (sl2 * sx - sl * slx) / det;
    if (offset > 0) {  // min must be <= 0: refit the scale alone with offset 0
      offset = 0;
      scale = sl2 > 0 ? slx / sl2 : 0;
    }
    if (scale <= 0) continue;
    // sum w (scale*l + offset - x)^2, expanded over the sums above.
    const double err =
        scale * scale * sl2 + 2 * scale * offset * sl - 2 * scale * slx + offset * offset * sw - 2 * offset * sx + sx2;
    if (err < best_err) {
      best_err = static_cast<float>(err);
      best_scale = static_cast<float>(scale);
      best_min = static_cast<float>(offset);
    }
  }
  const float inv = best_scale > 0 ? 1.0f / best_scale : 0.0f;
  for (int i = 0; i < n; ++i)
    levels[i] = static_cast<unsigned char>(std::clamp(nearest_int((x[i] - best_min) * inv), 0, nmax));
  *min_out = -best_min;
  return best_scale;
}

}  // namespace flame::quant
