#pragma once
// Inputs shared by the kernel benchmarks.
//
//   const auto x = bench::gaussian(4096, 3);                       // N(0, 1), seeded
//   const Tensor w = bench::repeated_quantized_weight(DType::Q4_K, 8192, 2048);
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "flame/core/tensor.h"
#include "flame/kernels/quant.h"

namespace flame::bench {

inline std::vector<float> gaussian(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// A {rows, cols} weight: 64 distinct quantized rows repeated (quantizing tens of millions of
// elements with the k-quant search would dominate the benchmark's setup time).
inline Tensor repeated_quantized_weight(DType type, int64_t rows, int64_t cols) {
  Tensor w = Tensor::empty(type, {rows, cols});
  const int64_t distinct = 64;
  const auto src = gaussian(distinct * cols, 1);
  for (int64_t r = 0; r < distinct && r < rows; ++r) quantize_row(type, src.data() + r * cols, w.row<void>(r), cols);
  for (int64_t r = distinct; r < rows; ++r) std::memcpy(w.row<void>(r), w.row<void>(r % distinct), w.row_bytes());
  return w;
}

}  // namespace flame::bench
