// Scalar reference dot products of packed weight blocks with 8-bit activation blocks: the oracle
// for the AVX2 twins (quant_dot_avx2.cpp) and the fallback on CPUs without AVX2.
#include "flame/core/half.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_k4.h"

namespace flame::quant {

float k_block_value(float act_d, float d, float dmin, int32_t isum, int32_t msum) {
  const float p = (act_d * d) * static_cast<float>(isum);
  const float q = (act_d * dmin) * static_cast<float>(msum);
  return p - q;
}

float dot_q4_0_scalar(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int32_t isum = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      isum += ((x[b].qs[j] & 0xF) - 8) * y[b].qs[j];
      isum += ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + kQK / 2];
    }
    sum += f16_to_f32(x[b].d) * f16_to_f32(y[b].d) * static_cast<float>(isum);
  }
  return sum;
}

namespace {
inline uint32_t load_qh(const uint8_t* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline int q5_level(const uint8_t* qs, uint32_t qh, int j) {
  const int nib = j < kQK / 2 ? qs[j] & 0xF : qs[j - kQK / 2] >> 4;
  return nib | (((qh >> j) & 1) << 4);
}

// Q4_1/Q5_0/Q5_1 sum their per-block values in 8 interleaved partial sums (block b into lane b % 8)
// reduced as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)): the order of an 8-lane AVX2 accumulator and its
// horizontal sum, so the AVX2 twin can match bit for bit without one serial float add per block.
class LaneSum {
 public:
  void add(int64_t block, float value) { lane_[block % 8] += value; }
  float total() const {
    return ((lane_[0] + lane_[4]) + (lane_[2] + lane_[6])) + ((lane_[1] + lane_[5]) + (lane_[3] + lane_[7]));
  }

 private:
  float lane_[8] = {};
};
}  // namespace

float dot_q4_1_scalar(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_1*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  LaneSum sum;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int32_t isum = 0, asum = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      isum += (x[b].qs[j] & 0xF) * y[b].qs[j] + (x[b].qs[j] >> 4) * y[b].qs[j + kQK / 2];
      asum += y[b].qs[j] + y[b].qs[j + kQK / 2];
    }
    const float da = f16_to_f32(y[b].d);
    sum.add(b, f16_to_f32(x[b].d) * da * static_cast<float>(isum) + f16_to_f32(x[b].m) * da * static_cast<float>(asum));
  }
  return sum.total();
}

float dot_q5_0_scalar(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  LaneSum sum;
  for (int64_t b = 0; b < n / kQK; ++b) {
    const uint32_t qh = load_qh(x[b].qh);
    int32_t isum = 0;
    for (int j = 0; j < kQK; ++j) isum += (q5_level(x[b].qs, qh, j) - 16) * y[b].qs[j];
    sum.add(b, f16_to_f32(x[b].d) * f16_to_f32(y[b].d) * static_cast<float>(isum));
  }
  return sum.total();
}

float dot_q5_1_scalar(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_1*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  LaneSum sum;
  for (int64_t b = 0; b < n / kQK; ++b) {
    const uint32_t qh = load_qh(x[b].qh);
    int32_t isum = 0, asum = 0;
    for (int j = 0; j < kQK; ++j) {
      isum += q5_level(x[b].qs, qh, j) * y[b].qs[j];
      asum += y[b].qs[j];
    }
    const float da = f16_to_f32(y[b].d);
    sum.add(b, f16_to_f32(x[b].d) * da * static_cast<float>(isum) + f16_to_f32(x[b].m) * da * static_cast<float>(asum));
  }
  return sum.total();
}

float dot_q8_0_scalar(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int32_t isum = 0;
    for (int j = 0; j < kQK; ++j) isum += x[b].qs[j] * y[b].qs[j];
    sum += f16_to_f32(x[b].d) * f16_to_f32(y[b].d) * static_cast<float>(isum);
  }
  return sum;
}

float dot_q2_k_scalar(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ2_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    int32_t isum = 0, msum = 0;
    for (int j = 0; j < 16; ++j) {
      const int h = j / 8, run = (j % 8) / 2, half = j % 2;
      int32_t sub = 0;
      for (int l = 0; l < 16; ++l) sub += ((x[b].qs[32 * h + 16 * half + l] >> (2 * run)) & 3) * y[b].qs[16 * j + l];
      isum += (x[b].scales[j] & 0xF) * sub;
      msum += (x[b].scales[j] >> 4) * y[b].bsums[j];
    }
    sum += k_block_value(y[b].d, f16_to_f32(x[b].d), f16_to_f32(x[b].dmin), isum, msum);
  }
  return sum;
}

float dot_q3_k_scalar(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ3_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float sum = 0;
  int8_t scales[16];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    unpack_scales_q3_k(x[b].scales, scales);
    int32_t isum = 0;
    for (int j = 0; j < 16; ++j) {
      int32_t sub = 0;
      for (int l = 0; l < 16; ++l) {
        const int i = 16 * j + l, h = i / 128, run = (i % 128) / 32, p = i % 32;
        const int low = (x[b].qs[32 * h + p] >> (2 * run)) & 3;
        const int high = (x[b].hmask[p] >> (i / 32)) & 1;
        sub += (low - (high ? 0 : 4)) * y[b].qs[i];
      }
      isum += scales[j] * sub;
    }
    sum += k_block_value(y[b].d, f16_to_f32(x[b].d), 0.0f, isum, 0);
  }
  return sum;
}

namespace {
// Q4_K and Q5_K differ only in how a level is read (k4_level); the sums and epilogue are shared.
template <class Block>
float dot_k4_scalar(int64_t n, const Block* x, const BlockQ8_K* y) {
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    int32_t isum = 0, msum = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      unpack_scale_min_k4(j, x[b].scales, sc, m);
      int32_t sub = 0;
      for (int l = 0; l < 32; ++l) sub += k4_level(x[b], j, l) * y[b].qs[32 * j + l];
      isum += sc * sub;
      msum += m * (y[b].bsums[2 * j] + y[b].bsums[2 * j + 1]);
    }
    sum += k_block_value(y[b].d, f16_to_f32(x[b].d), f16_to_f32(x[b].dmin), isum, msum);
  }
  return sum;
}
}  // namespace

float dot_q4_k_scalar(int64_t n, const void* w, const void* a) {
  return dot_k4_scalar(n, static_cast<const BlockQ4_K*>(w), static_cast<const BlockQ8_K*>(a));
}

float dot_q5_k_scalar(int64_t n, const void* w, const void* a) {
  return dot_k4_scalar(n, static_cast<const BlockQ5_K*>(w), static_cast<const BlockQ8_K*>(a));
}

float dot_q6_k_scalar(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    int32_t isum = 0;
    for (int j = 0; j < 16; ++j) {
      int32_t sub = 0;
      for (int l = 0; l < 16; ++l) {
        const int i = 16 * j + l, h = i / 128, run = (i % 128) / 32, p = i % 32;
        const uint8_t ql = x[b].ql[64 * h + p + 32 * (run & 1)];
        const int low = run < 2 ? ql & 0xF : ql >> 4;
        const int high = (x[b].qh[32 * h + p] >> (2 * run)) & 3;
        sub += ((low | (high << 4)) - 32) * y[b].qs[i];
      }
      isum += x[b].scales[j] * sub;
    }
    sum += k_block_value(y[b].d, f16_to_f32(x[b].d), 0.0f, isum, 0);
  }
  return sum;
}

}  // namespace flame::quant
