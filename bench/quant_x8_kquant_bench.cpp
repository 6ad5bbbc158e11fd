// The x8 (interleaved 8-row) decode kernels of Q4_K and Q6_K against the per-row AVX2 dot products
// on the same weights: 64 rows of 4096 (147 KB of Q4_K, 215 KB of Q6_K: in L2, not L1), one core,
// reported as GGUF weight bytes per CPU-second, so the ratio of two rows is the kernel speedup.
//
//   ./build/bin/flame_bench --benchmark_filter=BM_QuantX8KDot --benchmark_repetitions=5 \
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "bench_support.h"
#include "flame/core/cpu.h"
#include "flame/core/dtype.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_x8.h"

namespace flame {
namespace {

enum Variant { kPerRowAvx2 = 0, kGroupAvx2 = 1, kGroupScalar = 2 };

void BM_QuantX8KDot(benchmark::State& state) {
  const auto type = static_cast<DType>(state.range(0));
  const auto variant = static_cast<Variant>(state.range(1));
  if (!cpu().has_avx2_fma() && variant != kGroupScalar) {
    state.SkipWithError("no AVX2/FMA");
    return;
  }
  const auto& kern = quant::kernels(type);
  // 64 rows (in L2), or 16384 (55-67 MB, from memory: 64 quantized rows repeated).
  const int64_t rows = state.range(2), k = 4096, distinct = 64;
  const size_t rb = row_bytes(type, k);
  std::vector<uint8_t> w(rows * rb), a(row_bytes(kern.act_type, k));
  const auto wf = bench::gaussian(distinct * k, 1), af = bench::gaussian(k, 2);
  for (int64_t r = 0; r < distinct; ++r) quantize_row(type, wf.data() + r * k, w.data() + r * rb, k);
  for (int64_t r = distinct; r < rows; ++r) std::memcpy(w.data() + r * rb, w.data() + (r % distinct) * rb, rb);
  quantize_row(kern.act_type, af.data(), a.data(), k);
  const size_t gb = quant::x8::group_bytes(type, k);
  std::vector<uint8_t> groups(rows / 8 * gb);
  for (int64_t g = 0; g < rows / 8; ++g)
    quant::x8::pack_group(type, k, w.data() + 8 * g * rb, rb, groups.data() + g * gb);
  std::vector<float> out(rows);
  const quant::x8::GroupDotFn group_dot =
      variant == kGroupScalar ? quant::x8::group_dot_scalar(type) : quant::x8::group_dot(type);
  for (auto _ : state) {
    if (variant == kPerRowAvx2) {
      for (int64_t r = 0; r < rows; ++r) out[r] = kern.dot_avx2(k, w.data() + r * rb, a.data());
    } else {
      for (int64_t g = 0; g < rows / 8; ++g) group_dot(k, groups.data() + g * gb, a.data(), out.data() + 8 * g);
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.size()));
  static const char* const names[] = {"per-row avx2", "x8 avx2", "x8 scalar"};
  state.SetLabel(std::string(dtype_name(type)) + " " + names[variant] + (rows > distinct ? " from memory" : ""));
}

// Load-time packing and the prompt path's unpacking (x8-legacy unpacks groups to GGUF rows for the
// GEMM): GGUF bytes per second, 64 rows x 4096, one core.
void BM_QuantX8KRepack(benchmark::State& state) {
  const auto type = static_cast<DType>(state.range(0));
  const bool unpack = state.range(1) != 0;
  const int64_t rows = 64, k = 4096;
  const size_t rb = row_bytes(type, k), gb = quant::x8::group_bytes(type, k);
  std::vector<uint8_t> w(rows * rb), groups(rows / 8 * gb);
  const auto wf = bench::gaussian(rows * k, 1);
  for (int64_t r = 0; r < rows; ++r) quantize_row(type, wf.data() + r * k, w.data() + r * rb, k);
  for (int64_t g = 0; g < rows / 8; ++g)
    quant::x8::pack_group(type, k, w.data() + 8 * g * rb, rb, groups.data() + g * gb);
  for (auto _ : state) {
    for (int64_t g = 0; g < rows / 8; ++g) {
      if (unpack)
        quant::x8::unpack_group(type, k, groups.data() + g * gb, w.data() + 8 * g * rb, rb);
      else
        quant::x8::pack_group(type, k, w.data() + 8 * g * rb, rb, groups.data() + g * gb);
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.size()));
  state.SetLabel(std::string(dtype_name(type)) + (unpack ? " unpack" : " pack"));
}

void x8k_args(benchmark::internal::Benchmark* b) {
  for (DType t : {DType::Q4_K, DType::Q6_K})
    for (int v : {kPerRowAvx2, kGroupAvx2, kGroupScalar}) b->Args({static_cast<int64_t>(t), v, 64});
  for (DType t : {DType::Q4_K, DType::Q6_K})
    for (int v : {kPerRowAvx2, kGroupAvx2}) b->Args({static_cast<int64_t>(t), v, 16384});
}

BENCHMARK(BM_QuantX8KDot)->Apply(x8k_args);
BENCHMARK(BM_QuantX8KRepack)
    ->ArgsProduct({{static_cast<int64_t>(DType::Q4_K), static_cast<int64_t>(DType::Q6_K)}, {0, 1}});

}  // namespace
}  // namespace flame
