// Decode products streamed from memory, as a decode step reads them: many copies of one weight
// shape (384 MB in all, far beyond the caches) in one buffer on 2 MiB pages, packed the way model
// load packs them (x8 for the quantized types), each product run through matmul() on the global
// pool. Next to it, the bandwidth probe's plain read over as many bytes: the ratio of the two, taken
// in one run, is the share of the memory rate the decode products reach (the machine's rate drifts
// between runs, the ratio much less).
//
//   ./build/bin/flame_bench --benchmark_filter='DecodeStream|ReadStream' --benchmark_repetitions=5 \
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "bench_support.h"
#include "flame/core/memory.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/matmul.h"
#include "flame/kernels/membw.h"
#include "flame/kernels/quant_x8_tensor.h"

namespace flame {
namespace {

constexpr size_t kStreamBytes = size_t{384} << 20;

struct StreamedWeights {
  Tensor source;  // the rows every copy holds
  std::shared_ptr<AlignedBuffer> arena;
  std::vector<Tensor> copies;
};

StreamedWeights streamed_weights(DType type, int64_t n, int64_t k) {
  StreamedWeights s;
  s.source = bench::repeated_quantized_weight(type, n, k);
  const bool pack = can_pack_x8(s.source);
  const size_t bytes = pack ? x8_bytes(s.source) : s.source.nbytes();
  const size_t slot = (bytes + 4095) / 4096 * 4096;
  const size_t count = std::max<size_t>(2, kStreamBytes / slot);
  s.arena = AlignedBuffer::allocate(count * slot, PagePolicy::huge);
  for (size_t c = 0; c < count; ++c) {
    if (pack) {
      Tensor t = s.source;
      t.set_layout(pack_x8_into(s.source, ThreadPool::global(), s.arena, c * slot));
      s.copies.push_back(t);
    } else {
      std::memcpy(s.arena->data() + c * slot, s.source.data(), bytes);
      s.copies.push_back(Tensor::view(type, s.source.shape(), s.arena->data() + c * slot, s.arena));
    }
  }
  return s;
}

void BM_DecodeStream(benchmark::State& state) {
  const auto type = static_cast<DType>(state.range(0));
  const int64_t n = state.range(1), k = state.range(2);
  const StreamedWeights w = streamed_weights(type, n, k);
  const auto x = bench::gaussian(k, 2);
  std::vector<float> y(static_cast<size_t>(n));
  size_t next = 0;
  for (auto _ : state) {
    matmul(w.copies[next], x.data(), y.data(), 1);
    next = (next + 1) % w.copies.size();
    benchmark::DoNotOptimize(y.data());
  }
  const size_t bytes = x8_weight(w.copies[0]) ? x8_weight(w.copies[0])->nbytes() : w.source.nbytes();
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.SetLabel(std::string(dtype_name(type)) + " " + std::to_string(n) + "x" + std::to_string(k) + ", " +
                 std::to_string(ThreadPool::global().size()) + " threads");
}

// The bandwidth probe's read (flame bench's bound) over the same number of bytes; arg 1 on 2 MiB
// pages as the probe and the decode weights use, arg 0 on ordinary 4 KiB pages (what huge pages gain).
void BM_ReadStream(benchmark::State& state) {
  const bool huge = state.range(0) != 0;
  auto buffer = AlignedBuffer::allocate(kStreamBytes, huge ? PagePolicy::huge : PagePolicy::normal);
  const auto* data = reinterpret_cast<const float*>(buffer->data());
  const int64_t count = static_cast<int64_t>(kStreamBytes / sizeof(float));
  ThreadPool& pool = ThreadPool::global();
  std::vector<float> sinks(static_cast<size_t>(pool.size()));
  for (auto _ : state) {
    pool.run([&](int t, int nt) {
      const auto [b, e] = ThreadPool::split(count, t, nt, 64);
      if (b < e) sinks[t] += detail::stream_sum_avx2(data + b, static_cast<size_t>(e - b));
    });
    benchmark::DoNotOptimize(sinks.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kStreamBytes));
  state.SetLabel(std::to_string(pool.size()) + " threads, " + (huge ? "2 MiB pages" : "4 KiB pages"));
}

// The 1B shape's decode products: attention (2048 x 2048), FFN up (8192 x 2048), FFN down
// (2048 x 8192), and the output matrix's width (Q6_K in Q4_K_M files).
void decode_shapes(benchmark::internal::Benchmark* b) {
  for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::F16})
    for (auto [n, k] : {std::pair<int64_t, int64_t>{2048, 2048}, {8192, 2048}, {2048, 8192}})
      b->Args({static_cast<int64_t>(t), n, k});
}

BENCHMARK(BM_DecodeStream)->Apply(decode_shapes)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReadStream)->Arg(1)->Arg(0)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace flame
