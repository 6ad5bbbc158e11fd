#pragma once
// The interleaved 8-row ("x8") layout of block-quantized weights, for decode. A weight matrix of n
// rows is stored as n / 8 groups; a group holds the same 8 consecutive rows, block by block, so one
// pass of a decode kernel reads each activation block once for 8 rows, keeps the 8 row sums in the
// 8 lanes of one register, and loads the 8 rows' block scales as one contiguous vector. The
// per-row layout of GGUF makes a decode kernel pay a horizontal sum, a scalar scale conversion and
// an activation reload per row and block; those costs, not memory, limited Q4_0/Q4_K decode.
// Each type's group format is documented in the file that implements it (quant_x8_<type>*.cpp).
//
//   std::vector<uint8_t> group(x8::group_bytes(DType::Q4_K, k));
//   x8::pack_group(DType::Q4_K, k, w.row<uint8_t>(8 * g), w.row_bytes(), group.data());
//   float out[8];
//   x8::group_dot(DType::Q4_K)(k, group.data(), act_q8_k_row, out);   // out[r] = row 8g + r . x
//
// Activations are one row of the type's activation blocks (quant::kernels(type).act_type: Q8_0 for
// Q4_0/Q8_0, Q8_K for Q4_K/Q6_K), exactly as the per-row dot products take them.
#include <cstddef>
#include <cstdint>

#include "flame/core/dtype.h"

namespace flame::quant::x8 {

constexpr int64_t kRows = 8;

// Types with an x8 layout and kernels.
bool supported(DType type);

// Bytes of one group of 8 rows of k elements (k a multiple of the type's block size).
size_t group_bytes(DType type, int64_t k);

// 8 rows of the GGUF layout, `row_bytes` apart, -> one group. Bit-exact: unpack_group inverts it.
void pack_group(DType type, int64_t k, const uint8_t* rows, size_t row_bytes, uint8_t* group);
void unpack_group(DType type, int64_t k, const uint8_t* group, uint8_t* rows, size_t row_bytes);

// out[r] (r < 8) = dot of the group's row r with one activation row. The scalar twin and the AVX2
// kernel give bit-identical results (same integer sums, same float operations in the same order).
using GroupDotFn = void (*)(int64_t k, const uint8_t* group, const uint8_t* act, float* out);
// The AVX2 kernel when the CPU has it and force_scalar() is off, else the scalar twin.
GroupDotFn group_dot(DType type);
GroupDotFn group_dot_scalar(DType type);

// The decode loop over a run of rows: for the `count` consecutive groups starting at `groups`
// (group_bytes(type, k) apart), out[8 * i + r] = dot of group i's row r with the activation row.
// Bit-identical to calling group_dot once per group; a kernel may prepare the activation once per
// call instead of once per group (Q4_0 sums each activation block once for all groups), so one
// call over many groups is the faster form.
using GroupsDotFn = void (*)(int64_t k, const uint8_t* groups, int64_t count, const uint8_t* act, float* out);
GroupsDotFn groups_dot(DType type);

}  // namespace flame::quant::x8
