// Quantized GEMM: activation quantization, the scalar reference twin and the run-time dispatch.
// The AVX2 kernels are in quant_gemm_avx2.cpp.
#include "flame/kernels/quant_gemm.h"

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/core/half.h"
#include "flame/kernels/quant_blocks.h"

namespace flame {
namespace quant_gemm_detail {
namespace {

using namespace quant;

// Per (weight row, activation row): the integer sum of each block, then
// acc = fma(float(isum), d_w * d_a, acc) block after block (Q4_K adds a second fma for the mins).
float row_q8_0(const BlockQ8_0* w, const Activations& a, int64_t j) {
  const auto* y = reinterpret_cast<const BlockQ8_0*>(a.blocks + j * a.row_bytes);
  const int64_t nb = a.k / kQK;
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t isum = 0;
    for (int e = 0; e < kQK; ++e) isum += w[b].qs[e] * y[b].qs[e];
    acc = std::fma(static_cast<float>(isum), f16_to_f32(w[b].d) * a.scales[j * nb + b], acc);
  }
  return acc;
}

float row_q4_0(const BlockQ4_0* w, const Activations& a, int64_t j) {
  const auto* y = reinterpret_cast<const BlockQ8_0*>(a.blocks + j * a.row_bytes);
  const int64_t nb = a.k / kQK;
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t isum = 0;
    for (int e = 0; e < kQK / 2; ++e) {
      isum += (w[b].qs[e] & 0xF) * y[b].qs[e];
      isum += (w[b].qs[e] >> 4) * y[b].qs[e + kQK / 2];
    }
    isum -= 8 * a.sums[j * nb + b];
    acc = std::fma(static_cast<float>(isum), f16_to_f32(w[b].d) * a.scales[j * nb + b], acc);
  }
  return acc;
}

// Q4_K and Q5_K: the same scales, mins and epilogue; only the level (4 or 5 bits) differs.
template <class Block, int (*level)(const Block&, int)>
float row_k4_like(const Block* w, const Activations& a, int64_t j) {
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a.blocks + j * a.row_bytes);
  float acc = 0.0f;
  for (int64_t b = 0; b < a.k / kQK_K; ++b) {
    int32_t isum = 0, msum = 0;
    for (int s = 0; s < 8; ++s) {
      uint8_t sc, mn;
      unpack_scale_min_k4(s, w[b].scales, sc, mn);
      int32_t sub = 0;
      for (int e = 32 * s; e < 32 * s + 32; ++e) sub += level(w[b], e) * y[b].qs[e];
      isum += sc * sub;
      msum += mn * (y[b].bsums[2 * s] + y[b].bsums[2 * s + 1]);
    }
    acc = std::fma(static_cast<float>(isum), f16_to_f32(w[b].d) * y[b].d, acc);
    acc = std::fma(-static_cast<float>(msum), f16_to_f32(w[b].dmin) * y[b].d, acc);
  }
  return acc;
}

float row_q6_k(const BlockQ6_K* w, const Activations& a, int64_t j) {
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a.blocks + j * a.row_bytes);
  float acc = 0.0f;
  for (int64_t b = 0; b < a.k / kQK_K; ++b) {
    int32_t isum = 0, offset = 0;
    for (int s = 0; s < 16; ++s) {
      int32_t sub = 0;
      for (int e = 16 * s; e < 16 * s + 16; ++e) sub += q6_k_level(w[b], e) * y[b].qs[e];
      isum += w[b].scales[s] * sub;
      offset += w[b].scales[s] * y[b].bsums[s];
    }
    isum -= 32 * offset;
    acc = std::fma(static_cast<float>(isum), f16_to_f32(w[b].d) * y[b].d, acc);
  }
  return acc;
}

}  // namespace

void gemm_rows_scalar(DType type, const uint8_t* w, size_t w_row_bytes, const Activations& act, float* y, int64_t n,
                      int64_t row_begin, int64_t row_end) {
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* wr = w + r * w_row_bytes;
    for (int64_t j = 0; j < act.m; ++j) {
      float v = 0.0f;
      switch (type) {
        case DType::Q8_0:
          v = row_q8_0(reinterpret_cast<const BlockQ8_0*>(wr), act, j);
          break;
        case DType::Q4_0:
          v = row_q4_0(reinterpret_cast<const BlockQ4_0*>(wr), act, j);
          break;
        case DType::Q4_K:
          v = row_k4_like<BlockQ4_K, q4_k_level>(reinterpret_cast<const BlockQ4_K*>(wr), act, j);
          break;
        case DType::Q5_K:
          v = row_k4_like<BlockQ5_K, q5_k_level>(reinterpret_cast<const BlockQ5_K*>(wr), act, j);
          break;
        case DType::Q6_K:
          v = row_q6_k(reinterpret_cast<const BlockQ6_K*>(wr), act, j);
          break;
        default:
          throw UnsupportedError(fmt::format("quant_gemm: no kernel for {}", dtype_name(type)));
      }
      y[j * n + r] = v;
    }
  }
}

}  // namespace quant_gemm_detail

namespace {

using quant_gemm_detail::Activations;

// Grow-only buffers owned by the calling thread (no allocation once warm).
struct ActivationBuffers {
  std::vector<uint8_t> blocks;
  std::vector<float> scales;
  std::vector<int32_t> sums;
};

Activations quantize_activations(DType act_type, const float* x, int64_t m, int64_t k, ThreadPool& pool, bool avx2) {
  thread_local ActivationBuffers buf;
  quant::QuantizeFn quantize = quant::kernels(act_type).quantize;
  if (avx2) quantize = act_type == DType::Q8_0 ? quant::quantize_q8_0_avx2 : quant::quantize_q8_k_avx2;
  Activations a{act_type, m, k};
  a.row_bytes = row_bytes(act_type, k);
  if (buf.blocks.size() < a.row_bytes * m) buf.blocks.resize(a.row_bytes * m);
  const bool legacy = act_type == DType::Q8_0;
  const int64_t nb = k / quant::kQK;
  if (legacy && buf.scales.size() < static_cast<size_t>(m * nb)) {
    buf.scales.resize(m * nb);
    buf.sums.resize(m * nb);
  }
  uint8_t* blocks = buf.blocks.data();
  float* scales = buf.scales.data();
  int32_t* sums = buf.sums.data();
  pool.parallel_for(m, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      quantize(x + i * k, blocks + i * a.row_bytes, k);
      if (!legacy) continue;
      const auto* row = reinterpret_cast<const quant::BlockQ8_0*>(blocks + i * a.row_bytes);
      for (int64_t b = 0; b < nb; ++b) {
        scales[i * nb + b] = f16_to_f32(row[b].d);
        int32_t s = 0;
        for (int e = 0; e < quant::kQK; ++e) s += row[b].qs[e];
        sums[i * nb + b] = s;
      }
    }
  });
  a.blocks = blocks;
  a.scales = scales;
  a.sums = sums;
  return a;
}

void run_gemm(const Tensor& weight, const float* x, float* y, int64_t m, ThreadPool& pool, bool avx2) {
  const DType type = weight.dtype();
  if (!quant_gemm_supported(type))
    throw UnsupportedError(fmt::format("quant_gemm: no integer GEMM for {}", dtype_name(type)));
  if (weight.ndim() != 2)
    throw ArgumentError("quant_gemm", fmt::format("weight must be 2-D, got {}", shape_str(weight.shape())));
  const int64_t n = weight.dim(0), k = weight.dim(1);
  const DType act_type = quant::kernels(type).act_type;
  if (k % dtype_info(type).block_size != 0 || k % dtype_info(act_type).block_size != 0)
    throw ArgumentError("quant_gemm",
                        fmt::format("inner dimension {} is not a multiple of the {} block size", k, dtype_name(type)));
  if (m <= 0 || n == 0) return;
  const Activations act = quantize_activations(act_type, x, m, k, pool, avx2);
  const auto* w = static_cast<const uint8_t*>(weight.data());
  const size_t w_row_bytes = weight.row_bytes();
  const int64_t panel = quant_gemm_detail::kPanelRows;
  const quant_gemm_detail::GemmRowsFn fn =
      avx2 ? quant_gemm_detail::gemm_rows_avx2 : quant_gemm_detail::gemm_rows_scalar;
  pool.parallel_for(
      n, [&](int64_t begin, int64_t end) { fn(type, w, w_row_bytes, act, y, n, begin, end); }, panel);
}

}  // namespace

bool quant_gemm_supported(DType type) {
  return type == DType::Q8_0 || type == DType::Q4_0 || type == DType::Q4_K || type == DType::Q5_K ||
         type == DType::Q6_K;
}

void quant_gemm(const Tensor& weight, const float* x, float* y, int64_t m, ThreadPool& pool) {
  run_gemm(weight, x, y, m, pool, cpu().has_avx2_fma() && !force_scalar());
}

void quant_gemm_scalar(const Tensor& weight, const float* x, float* y, int64_t m, ThreadPool& pool) {
  run_gemm(weight, x, y, m, pool, false);
}

}  // namespace flame
