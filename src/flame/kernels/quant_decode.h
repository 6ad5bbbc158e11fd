#pragma once
// Decode-shaped (m < 8 input rows) products with block-quantized weights: the activations are
// quantized once per activation type (Q8_0 / Q8_K), then every weight row of every product is
// dotted on its packed blocks. All products share ONE pool call, so a layer's Q/K/V (or gate/up)
// pay one wake-up instead of three (or two).
//
//   QuantProduct products[] = {{&wq, q}, {&wk, k}, {&wv, v}};
//   matmul_quant_decode(products, 3, x, 1, ThreadPool::global());
//
// Every output element is computed by the same kernel whichever thread takes its row, so the
// result does not depend on the thread count or on which thread ran which chunk.
#include <cstddef>
#include <cstdint>

#include "flame/core/tensor.h"
#include "flame/core/thread_pool.h"

namespace flame::detail {

struct QuantProduct {
  const Tensor* weight;  // 2-D {n, k}, a block-quantized weight type
  float* y;              // y[i * n + r] for input row i < m
};

// Checks every weight (type, shape, equal k) before any work; throws like matmul_quant.
void matmul_quant_decode(const QuantProduct* products, size_t count, const float* x, int64_t m, ThreadPool& pool);

}  // namespace flame::detail
