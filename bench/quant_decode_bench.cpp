// Decode-side quantized kernels: the 4-row dot (one activation row against 4 in-cache weight rows,
// bytes/s of weights; compare with BM_QuantDot's one-row kernel) and the activation quantizers
// (scalar vs AVX2, bytes/s of float input).
//
//   ./build/bin/flame_bench --benchmark_filter='QuantDot4|QuantizeActivation' --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "flame/core/dtype.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_blocks.h"

namespace flame {
namespace {

void BM_QuantDot4(benchmark::State& state) {
  const auto type = static_cast<DType>(state.range(0));
  const auto& k = quant::kernels(type);
  const quant::Dot4Fn dot4 = quant::dot4_kernel(type);
  if (!dot4) {
    state.SkipWithError("no 4-row kernel for this type");
    return;
  }
  const int64_t n = 4096;
  const size_t rb = row_bytes(type, n);
  std::vector<uint8_t> w(4 * rb), a(row_bytes(k.act_type, n));
  const auto wf = bench::gaussian(4 * n, 1), af = bench::gaussian(n, 2);
  for (int r = 0; r < 4; ++r) quantize_row(type, wf.data() + r * n, w.data() + r * rb, n);
  quantize_row(k.act_type, af.data(), a.data(), n);
  float out[4];
  for (auto _ : state) {
    dot4(n, w.data(), rb, a.data(), out);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.size()));
  state.SetLabel(std::string(dtype_name(type)) + " 4 rows");
}

void BM_QuantizeActivation(benchmark::State& state) {
  const auto type = static_cast<DType>(state.range(0));
  const bool avx2 = state.range(1) != 0;
  const quant::QuantizeFn quantize = type == DType::Q8_0 ? (avx2 ? quant::quantize_q8_0_avx2 : quant::quantize_q8_0)
                                                         : (avx2 ? quant::quantize_q8_k_avx2 : quant::quantize_q8_k);
  const int64_t n = 8192;  // the FFN width of the 1B shape
  const auto x = bench::gaussian(n, 3);
  std::vector<uint8_t> out(row_bytes(type, n));
  for (auto _ : state) {
    quantize(x.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * n * static_cast<int64_t>(sizeof(float)));
  state.SetLabel(std::string(dtype_name(type)) + (avx2 ? " avx2" : " scalar"));
}

BENCHMARK(BM_QuantDot4)->Arg(static_cast<int>(DType::Q4_0));
BENCHMARK(BM_QuantizeActivation)
    ->Args({static_cast<int>(DType::Q8_0), 0})
    ->Args({static_cast<int>(DType::Q8_0), 1})
    ->Args({static_cast<int>(DType::Q8_K), 0})
    ->Args({static_cast<int>(DType::Q8_K), 1});

}  // namespace
}  // namespace flame
