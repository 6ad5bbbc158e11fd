// y[m][n] = x[m][k] . W[n][k]^T for a block-quantized W, on the packed blocks directly.
// Activations are quantized once to the type's 8-bit activation blocks (Q8_0 or Q8_K); then
//  - decode (m == 1): weight rows are split evenly over the pool, each row streamed once;
//  - prompt (m > 1): each thread takes a contiguous range of weight rows and walks it in tiles
//    small enough to stay in L1/L2 while every activation row passes over the tile, so the
//    weights are read from memory once per call and the inner loop is the integer dot product.
#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_blocks.h"

namespace flame {
namespace {

// Grow-only scratch for the quantized activations, one per calling thread (no per-call allocation
// once warm).
std::vector<uint8_t>& activation_scratch() {
  thread_local std::vector<uint8_t> buffer;
  return buffer;
}

constexpr int64_t kRowGrain = 4;          // weight rows per split unit (keeps chunks cache-line friendly)
constexpr size_t kTileBytes = 32 * 1024;  // weight bytes per prompt tile (about L1)

}  // namespace

void matmul_quant(const Tensor& weight, const float* x, float* y, int64_t m, ThreadPool& pool) {
  const quant::Kernels& kern = quant::kernels(weight.dtype());
  if (!kern.dot_scalar)
    throw UnsupportedError(fmt::format("matmul: {} is an activation type, not a weight type", dtype_name(weight.dtype())));
  if (weight.ndim() != 2) throw ArgumentError("matmul", fmt::format("weight must be 2-D, got {}", shape_str(weight.shape())));
  const int64_t n = weight.dim(0), k = weight.dim(1);
  const int64_t act_block = dtype_info(kern.act_type).block_size;
  if (k % act_block != 0 || k % dtype_info(weight.dtype()).block_size != 0)
    throw ArgumentError("matmul", fmt::format("inner dimension {} is not a multiple of the {} block size", k,
                                              dtype_name(weight.dtype())));
  if (m <= 0 || n == 0) return;

  const size_t act_row_bytes = row_bytes(kern.act_type, k);
  auto& scratch = activation_scratch();
  if (scratch.size() < act_row_bytes * m) scratch.resize(act_row_bytes * m);
  uint8_t* act = scratch.data();
  const quant::Kernels& act_kern = quant::kernels(kern.act_type);
  pool.parallel_for(m, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) act_kern.quantize(x + i * k, act + i * act_row_bytes, k);
  });

  const quant::DotFn dot = kern.dot();
  const size_t w_row_bytes = weight.row_bytes();
  const auto* w = static_cast<const uint8_t*>(weight.data());

  if (m == 1) {
    pool.parallel_for(
        n,
        [&](int64_t begin, int64_t end) {
          for (int64_t r = begin; r < end; ++r) y[r] = dot(k, w + r * w_row_bytes, act);
        },
        kRowGrain);
    return;
  }
  const int64_t tile_rows = std::max<int64_t>(kRowGrain, static_cast<int64_t>(kTileBytes / w_row_bytes) / kRowGrain * kRowGrain);
  pool.parallel_for(
      n,
      [&](int64_t begin, int64_t end) {
        for (int64_t r0 = begin; r0 < end; r0 += tile_rows) {
          const int64_t r1 = std::min(end, r0 + tile_rows);
          for (int64_t i = 0; i < m; ++i) {
            const uint8_t* a = act + i * act_row_bytes;
            float* yi = y + i * n;
            for (int64_t r = r0; r < r1; ++r) yi[r] = dot(k, w + r * w_row_bytes, a);
          }
        }
      },
      kRowGrain);
}

}  // namespace flame
