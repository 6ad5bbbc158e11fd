// The interleaved 8-row (x8) decode kernels against the per-row and 4-row kernels on the same
// weights: one core, a 64 x 4096 weight (147 KB Q4_0, 278 KB Q8_0) that stays in the L2 cache, so
// the rate is the kernel's compute speed in weight bytes per second (memory cannot hide it).
//
//   ./build/bin/flame_bench --benchmark_filter='QuantX8Dot' --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench_support.h"
#include "flame/core/dtype.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_x8.h"

namespace flame {
namespace {

enum Kernel : int64_t { kPerRow = 0, kFourRow = 1, kX8 = 2, kX8Run = 3 };

void BM_QuantX8Dot(benchmark::State& state) {
  const auto type = static_cast<DType>(state.range(0));
  const auto kernel = static_cast<Kernel>(state.range(1));
  const int64_t rows = 64, k = 4096;
  const auto& kern = quant::kernels(type);
  const Tensor w = bench::repeated_quantized_weight(type, rows, k);
  std::vector<uint8_t> act(row_bytes(kern.act_type, k));
  const auto x = bench::gaussian(k, 2);
  quantize_row(kern.act_type, x.data(), act.data(), k);
  const size_t gb = quant::x8::group_bytes(type, k);
  std::vector<uint8_t> packed(gb * rows / 8);
  for (int64_t g = 0; g < rows / 8; ++g)
    quant::x8::pack_group(type, k, w.row<uint8_t>(8 * g), w.row_bytes(), packed.data() + g * gb);
  std::vector<float> y(rows);
  const quant::DotFn dot = kern.dot();
  const quant::Dot4Fn dot4 = quant::dot4_kernel(type);
  const quant::x8::GroupDotFn group_dot = quant::x8::group_dot(type);
  const quant::x8::GroupsDotFn groups_dot = quant::x8::groups_dot(type);
  if (kernel == kFourRow && !dot4) {
    state.SkipWithError("no 4-row kernel for this type");
    return;
  }
  for (auto _ : state) {
    switch (kernel) {
      case kPerRow:
        for (int64_t r = 0; r < rows; ++r) y[r] = dot(k, w.row<uint8_t>(r), act.data());
        break;
      case kFourRow:
        for (int64_t r = 0; r < rows; r += 4) dot4(k, w.row<uint8_t>(r), w.row_bytes(), act.data(), y.data() + r);
        break;
      case kX8:
        for (int64_t g = 0; g < rows / 8; ++g) group_dot(k, packed.data() + g * gb, act.data(), y.data() + 8 * g);
        break;
      case kX8Run:  // all groups in one call, as decode runs them
        groups_dot(k, packed.data(), rows / 8, act.data(), y.data());
        break;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.nbytes()));
  static const char* const kNames[] = {"per-row", "4-row", "x8", "x8 run"};
  state.SetLabel(std::string(dtype_name(type)) + " " + kNames[kernel]);
}

BENCHMARK(BM_QuantX8Dot)->Apply([](benchmark::internal::Benchmark* b) {
  for (DType t : {DType::Q4_0, DType::Q8_0})
    for (int64_t kernel : {kPerRow, kFourRow, kX8, kX8Run})
      if (kernel != kFourRow || t == DType::Q4_0) b->Args({static_cast<int64_t>(t), kernel});
});

}  // namespace
}  // namespace flame
