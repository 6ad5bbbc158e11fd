#pragma once
// GGML block layouts, byte for byte as GGUF stores them (ggml-common.h is the public definition),
// and the per-type kernel table the quantized matmul dispatches through.
//
//   const auto& k = quant::kernels(DType::Q4_K);      // act_type Q8_K, dot_scalar, dot_avx2, ...
//   k.quantize(x, blocks, n);  k.dequantize(blocks, x, n);
//   float s = k.dot(n, weight_row, activation_row);   // activation_row quantized to k.act_type
#include <cstddef>
#include <cstdint>

#include "flame/core/dtype.h"

namespace flame::quant {

constexpr int kQK = 32;     // elements per block of the 32-element types (Q4_0 ... Q8_0)
constexpr int kQK_K = 256;  // elements per super-block of the k-quants

// x = d * (q - 8); element j in the low nibble of qs[j], element j+16 in its high nibble.
struct BlockQ4_0 {
  uint16_t d;  // fp16
  uint8_t qs[kQK / 2];
};
// x = d * q + m
struct BlockQ4_1 {
  uint16_t d, m;  // fp16
  uint8_t qs[kQK / 2];
};
// x = d * (q - 16), q = nibble | (bit j of qh) << 4 (little-endian 32-bit qh).
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
// 16 sub-blocks of 16: x = d * (scales[j] & 15) * q - dmin * (scales[j] >> 4), q 2 bits.
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  uint16_t d, dmin;
};
// 16 sub-blocks of 16: x = d * (s6 - 32) * (q2 | hbit << 2) - 4 ... (see dequantize_q3_k).
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[12];
  uint16_t d;
};
// 8 sub-blocks of 32 with 6-bit scale and min each: x = d * sc * q - dmin * m.
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
// 16 sub-blocks of 16 with int8 scales: x = d * scales[j] * (q - 32), q 6 bits.
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
// Activation blocks for the k-quant dot products: float scale and per-16 sums.
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);

// Q4_K/Q5_K: the 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes.
inline void unpack_scale_min_k4(int j, const uint8_t* q, uint8_t& scale, uint8_t& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}
// Q3_K: the 16 signed 6-bit scales (already minus 32) from the 12 packed bytes.
void unpack_scales_q3_k(const uint8_t* packed, int8_t* scales16);

using QuantizeFn = void (*)(const float* src, void* dst, int64_t n);
using DequantizeFn = void (*)(const void* src, float* dst, int64_t n);
// Dot product of one weight row (n elements, packed blocks) with one activation row quantized
// to the type's act_type.
using DotFn = float (*)(int64_t n, const void* weight, const void* act);

struct Kernels {
  DType type;
  DType act_type;  // Q8_0 or Q8_K
  QuantizeFn quantize;
  DequantizeFn dequantize;
  DotFn dot_scalar;
  DotFn dot_avx2;  // null when there is no AVX2 path; dot() falls back to scalar
  DotFn dot() const;
};

// Kernels for a block-quantized type (Q4_0..Q6_K, Q8_K as activation only); null otherwise.
const Kernels* find_kernels(DType type);
// Throws UnsupportedError naming the type when there are no kernels for it.
const Kernels& kernels(DType type);

// Per-type functions (scalar reference), defined in quant_legacy.cpp / quant_k*.cpp / quant_dot.cpp.
void quantize_q4_0(const float*, void*, int64_t);
void quantize_q4_1(const float*, void*, int64_t);
void quantize_q5_0(const float*, void*, int64_t);
void quantize_q5_1(const float*, void*, int64_t);
void quantize_q8_0(const float*, void*, int64_t);
void quantize_q2_k(const float*, void*, int64_t);
void quantize_q3_k(const float*, void*, int64_t);
void quantize_q4_k(const float*, void*, int64_t);
void quantize_q5_k(const float*, void*, int64_t);
void quantize_q6_k(const float*, void*, int64_t);
void quantize_q8_k(const float*, void*, int64_t);
void dequantize_q4_0(const void*, float*, int64_t);
void dequantize_q4_1(const void*, float*, int64_t);
void dequantize_q5_0(const void*, float*, int64_t);
void dequantize_q5_1(const void*, float*, int64_t);
void dequantize_q8_0(const void*, float*, int64_t);
void dequantize_q2_k(const void*, float*, int64_t);
void dequantize_q3_k(const void*, float*, int64_t);
void dequantize_q4_k(const void*, float*, int64_t);
void dequantize_q5_k(const void*, float*, int64_t);
void dequantize_q6_k(const void*, float*, int64_t);
void dequantize_q8_k(const void*, float*, int64_t);

float dot_q4_0_scalar(int64_t, const void*, const void*);
float dot_q4_1_scalar(int64_t, const void*, const void*);
float dot_q5_0_scalar(int64_t, const void*, const void*);
float dot_q5_1_scalar(int64_t, const void*, const void*);
float dot_q8_0_scalar(int64_t, const void*, const void*);
float dot_q2_k_scalar(int64_t, const void*, const void*);
float dot_q3_k_scalar(int64_t, const void*, const void*);
float dot_q4_k_scalar(int64_t, const void*, const void*);
float dot_q5_k_scalar(int64_t, const void*, const void*);
float dot_q6_k_scalar(int64_t, const void*, const void*);

// Four weight rows (row_bytes apart) against one activation row: out[r] = dot of row r. Reads each
// activation block once for the four rows (decode). Float order differs from the one-row kernels.
using Dot4Fn = void (*)(int64_t n, const void* weight, size_t row_bytes, const void* act, float* out);
void dot4_q4_0_avx2(int64_t, const void*, size_t, const void*, float*);
// Bit-identical AVX2 twins of quantize_q8_0 / quantize_q8_k (activation quantizers of decode).
void quantize_q8_0_avx2(const float*, void*, int64_t);
void quantize_q8_k_avx2(const float*, void*, int64_t);
// The AVX2 4-row kernel of a weight type when the CPU has AVX2 and force_scalar() is off; else null.
Dot4Fn dot4_kernel(DType type);

float dot_q4_0_avx2(int64_t, const void*, const void*);
float dot_q4_1_avx2(int64_t, const void*, const void*);  // quant_dot_legacy_avx2.cpp
float dot_q5_0_avx2(int64_t, const void*, const void*);
float dot_q5_1_avx2(int64_t, const void*, const void*);
float dot_q8_0_avx2(int64_t, const void*, const void*);
float dot_q2_k_avx2(int64_t, const void*, const void*);  // quant_dot_kq_avx2.cpp
float dot_q3_k_avx2(int64_t, const void*, const void*);
float dot_q4_k_avx2(int64_t, const void*, const void*);
float dot_q5_k_avx2(int64_t, const void*, const void*);
float dot_q6_k_avx2(int64_t, const void*, const void*);

}  // namespace flame::quant

namespace flame::quant {
// The float epilogue of one k-quant super-block: act_d*d*isum - act_d*dmin*msum. Shared by the
// scalar and AVX2 dot products so both give bit-identical results from the same integer sums; it
// lives out of line in a file built without -mfma so the compiler cannot contract it differently.
float k_block_value(float act_d, float d, float dmin, int32_t isum, int32_t msum);
}  // namespace flame::quant
