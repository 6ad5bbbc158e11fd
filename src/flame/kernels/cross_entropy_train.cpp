#include "flame/kernels/cross_entropy_train.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "flame/kernels/matmul_train.h"
#include "flame/kernels/train_math.h"

namespace flame {

void cross_entropy_forward(const float* logits, const uint32_t* targets, float* losses, float* lse, int64_t N,
                           int64_t V, ThreadPool& pool) {
  pool.parallel_for(N, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      const float* row = logits + n * V;
      const float mx = max_of(row, V);
      lse[n] = mx + std::log(exp_shifted_sum(row, nullptr, V, mx));
      losses[n] = lse[n] - row[targets[n]];
    }
  });
}

void cross_entropy_backward(const float* logits, const float* lse, const uint32_t* targets, float* dlogits, float scale,
                            int64_t N, int64_t V, ThreadPool& pool) {
  pool.parallel_for(N, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      const float* row = logits + n * V;
      float* drow = dlogits + n * V;
      exp_shifted_scaled(row, drow, V, lse[n], scale);
      drow[targets[n]] -= scale;
    }
  });
}

void cross_entropy_forward_backward_inplace(float* logits, const uint32_t* targets, float* losses, float scale,
                                            int64_t N, int64_t V, ThreadPool& pool) {
  pool.parallel_for(N, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      float* row = logits + n * V;
      const float mx = max_of(row, V), target_logit = row[targets[n]];
      const float sum = exp_shifted_sum(row, row, V, mx);
      losses[n] = (mx + std::log(sum)) - target_logit;
      scale_in_place(row, V, scale / sum);
      row[targets[n]] -= scale;
    }
  });
}

int64_t classifier_chunk_rows(int64_t V, int64_t N) {
  const int64_t target = std::min<int64_t>((int64_t(1) << 22) / std::max<int64_t>(V, 1), 512);
  return std::clamp<int64_t>(target, 16, std::max<int64_t>(N, 1));
}

namespace {
double run_classifier(const float* x, const PackedWeight& w, const uint32_t* targets, int64_t N, float* chunk,
                      int64_t chunk_rows, float* dx, float* dw, float scale, ThreadPool& pool) {
  const int64_t C = w.cols, V = w.rows;
  std::vector<float> losses(chunk_rows), lse(chunk_rows);
  sgemm::PackedB x_packed;  // this chunk's rows of x, for dw
  double total = 0.0;
  for (int64_t r0 = 0; r0 < N; r0 += chunk_rows) {
    const int64_t rows = std::min(chunk_rows, N - r0);
    matmul_forward(x + r0 * C, w, chunk, rows, pool);
    if (dx == nullptr) {
      cross_entropy_forward(chunk, targets + r0, losses.data(), lse.data(), rows, V, pool);
    } else {
      cross_entropy_forward_backward_inplace(chunk, targets + r0, losses.data(), scale, rows, V, pool);
    }
    for (int64_t i = 0; i < rows; ++i) total += losses[i];
    if (dx != nullptr) {
      pack_activation(x + r0 * C, rows, C, x_packed, pool);
      matmul_backward(chunk, &x_packed, w, dx + r0 * C, dw, rows, pool);
    }
  }
  return total;
}

PackedWeight pack_output(const float* w, int64_t V, int64_t C, ThreadPool& pool) {
  PackedWeight packed;
  packed.pack(w, V, C, pool);
  return packed;
}
}  // namespace

double classifier_forward(const float* x, const float* w, const uint32_t* targets, int64_t N, int64_t C, int64_t V,
                          float* chunk, int64_t chunk_rows, ThreadPool& pool) {
  return run_classifier(x, pack_output(w, V, C, pool), targets, N, chunk, chunk_rows, nullptr, nullptr, 0.0f, pool);
}

double classifier_forward_backward(const float* x, const float* w, const uint32_t* targets, int64_t N, int64_t C,
                                   int64_t V, float* chunk, int64_t chunk_rows, float* dx, float* dw, float scale,
                                   ThreadPool& pool) {
  return run_classifier(x, pack_output(w, V, C, pool), targets, N, chunk, chunk_rows, dx, dw, scale, pool);
}

double classifier_forward(const float* x, const PackedWeight& w, const uint32_t* targets, int64_t N, float* chunk,
                          int64_t chunk_rows, ThreadPool& pool) {
  return run_classifier(x, w, targets, N, chunk, chunk_rows, nullptr, nullptr, 0.0f, pool);
}

double classifier_forward_backward(const float* x, const PackedWeight& w, const uint32_t* targets, int64_t N,
                                   float* chunk, int64_t chunk_rows, float* dx, float* dw, float scale,
                                   ThreadPool& pool) {
  return run_classifier(x, w, targets, N, chunk, chunk_rows, dx, dw, scale, pool);
}

}  // namespace flame
