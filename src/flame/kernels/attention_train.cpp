#include "flame/kernels/attention_train.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/kernels/matmul_train.h"
#include "flame/kernels/train_math.h"

namespace flame {
namespace {
// Query rows per block: a block attends to keys [0, block end), so the masked upper triangle is
// mostly skipped while each sgemm stays large enough to be efficient.
constexpr int64_t kBlock = 64;

bool use_avx2(int64_t hd) {
  return cpu().has_avx2_fma() && avx2::attention_supported(hd);
}
}  // namespace

void attention_forward(const float* q, const float* k, const float* v, float* out, float* probs, int64_t B, int64_t T,
                       int64_t H, int64_t KVH, int64_t hd, ThreadPool& pool) {
  if (use_avx2(hd)) return avx2::attention_forward(q, k, v, out, probs, B, T, H, KVH, hd, pool);
  sgemm_blocks::attention_forward(q, k, v, out, probs, B, T, H, KVH, hd, pool);
}

void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* probs,
                        float* dq, float* dk, float* dv, int64_t B, int64_t T, int64_t H, int64_t KVH, int64_t hd,
                        ThreadPool& pool) {
  if (use_avx2(hd)) return avx2::attention_backward(dout, q, k, v, nullptr, probs, dq, dk, dv, B, T, H, KVH, hd, pool);
  sgemm_blocks::attention_backward(dout, q, k, v, probs, dq, dk, dv, B, T, H, KVH, hd, pool);
}

void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* out,
                        const float* probs, float* dq, float* dk, float* dv, int64_t B, int64_t T, int64_t H,
                        int64_t KVH, int64_t hd, ThreadPool& pool) {
  if (use_avx2(hd)) return avx2::attention_backward(dout, q, k, v, out, probs, dq, dk, dv, B, T, H, KVH, hd, pool);
  sgemm_blocks::attention_backward(dout, q, k, v, probs, dq, dk, dv, B, T, H, KVH, hd, pool);
}

namespace sgemm_blocks {

void attention_forward(const float* q, const float* k, const float* v, float* out, float* probs, int64_t B, int64_t T,
                       int64_t H, int64_t KVH, int64_t hd, ThreadPool& pool) {
  use_single_threaded_blas();
  const int64_t group = H / KVH, qs = H * hd, ks = KVH * hd;
  const float scale = 1.0f / std::sqrt(float(hd));
  pool.parallel_for(B * H, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / H, h = bh % H, g = h / group;
      const float* qh = q + b * T * qs + h * hd;
      const float* kg = k + b * T * ks + g * hd;
      const float* vg = v + b * T * ks + g * hd;
      float* oh = out + b * T * qs + h * hd;
      float* P = probs + bh * T * T;
      for (int64_t r0 = 0; r0 < T; r0 += kBlock) {
        const int64_t r1 = std::min(T, r0 + kBlock);
        // S[r0:r1, 0:r1] = scale * Q[r0:r1] K[0:r1]^T
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(r1 - r0), int(r1), int(hd), scale, qh + r0 * qs,
                    int(qs), kg, int(ks), 0.0f, P + r0 * T, int(T));
        for (int64_t t = r0; t < r1; ++t) {
          float* row = P + t * T;
          const float mx = max_of(row, t + 1);
          scale_in_place(row, t + 1, 1.0f / exp_shifted_sum(row, row, t + 1, mx));
          for (int64_t j = t + 1; j < r1; ++j) row[j] = 0.0f;
        }
        // O[r0:r1] = P[r0:r1, 0:r1] V[0:r1]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(r1 - r0), int(hd), int(r1), 1.0f, P + r0 * T, int(T),
                    vg, int(ks), 0.0f, oh + r0 * qs, int(qs));
      }
    }
  });
}

void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* probs,
                        float* dq, float* dk, float* dv, int64_t B, int64_t T, int64_t H, int64_t KVH, int64_t hd,
                        ThreadPool& pool) {
  use_single_threaded_blas();
  const int64_t group = H / KVH, qs = H * hd, ks = KVH * hd;
  const float scale = 1.0f / std::sqrt(float(hd));
  pool.run([&](int t_id, int nt) {
    const auto [begin, end] = ThreadPool::split(B * KVH, t_id, nt);
    if (begin >= end) return;
    std::vector<float> dS(size_t(kBlock) * T);
    for (int64_t bg = begin; bg < end; ++bg) {
      const int64_t b = bg / KVH, g = bg % KVH;
      const float* kg = k + b * T * ks + g * hd;
      const float* vg = v + b * T * ks + g * hd;
      float* dkg = dk + b * T * ks + g * hd;
      float* dvg = dv + b * T * ks + g * hd;
      for (int64_t t = 0; t < T; ++t)
        for (int64_t d = 0; d < hd; ++d) dkg[t * ks + d] = dvg[t * ks + d] = 0.0f;
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        const float* qh = q + b * T * qs + h * hd;
        const float* doh = dout + b * T * qs + h * hd;
        float* dqh = dq + b * T * qs + h * hd;
        const float* P = probs + (b * H + h) * T * T;
        for (int64_t r0 = 0; r0 < T; r0 += kBlock) {
          const int64_t r1 = std::min(T, r0 + kBlock), rows = r1 - r0;
          const float* Pb = P + r0 * T;
          // dV[0:r1] += P[r0:r1, 0:r1]^T dO[r0:r1]
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(r1), int(hd), int(rows), 1.0f, Pb, int(T),
                      doh + r0 * qs, int(qs), 1.0f, dvg, int(ks));
          // dP[r0:r1, 0:r1] = dO[r0:r1] V[0:r1]^T
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(r1), int(hd), 1.0f, doh + r0 * qs,
                      int(qs), vg, int(ks), 0.0f, dS.data(), int(T));
          // dS = P * (dP - sum_j P dP), zero past the diagonal
          for (int64_t i = 0; i < rows; ++i) {
            const int64_t t = r0 + i;
            float* ds = dS.data() + i * T;
            softmax_grad_row(Pb + i * T, ds, t + 1);
            for (int64_t j = t + 1; j < r1; ++j) ds[j] = 0.0f;
          }
          // dQ[r0:r1] = scale * dS K[0:r1]
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(hd), int(r1), scale, dS.data(), int(T),
                      kg, int(ks), 0.0f, dqh + r0 * qs, int(qs));
          // dK[0:r1] += scale * dS^T Q[r0:r1]
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(r1), int(hd), int(rows), scale, dS.data(), int(T),
                      qh + r0 * qs, int(qs), 1.0f, dkg, int(ks));
        }
      }
    }
  });
}

}  // namespace sgemm_blocks
}  // namespace flame
