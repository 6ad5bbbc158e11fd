// flame's fp32 GEMM (kernels/sgemm.h) against OpenBLAS cblas_sgemm on the matrix products of one
// thread's share of a config B training step (batch-parallel: 4 sequences x 256 = 1,024 positions),
// single-threaded. GFLOP/s counters use the benchmark thread's CPU time (robust to load).
//
//   build/bin/flame_bench --benchmark_filter='SgemmB'         # every product, 3 implementations
//   build/bin/flame_bench --benchmark_filter='SgemmBMix'      # the step's weighted mix
//
// Implementations: "flame_prepacked" (weight packed outside the timed loop, as in training where it
// is packed once per step), "flame" (every operand packed inside the call), "openblas".
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <string>
#include <vector>

#include "bench_support.h"
#include "flame/kernels/matmul.h"
#include "flame/kernels/sgemm.h"

namespace flame {
namespace {

enum class Product { Forward, BackwardData, BackwardWeight };
enum class Impl { FlamePrepacked, Flame, OpenBlas, Hybrid };

// y = x W^T [M, N]; dx = dy W [M, K]; dW += dy^T x [N, K]. x [M, K], W [N, K], dy [M, N].
struct Shape {
  const char* name;
  int64_t M, K, N;
  int per_step;  // how many times one B step runs it per thread (6 layers; classifier: 2 chunks)
};

// Config B: dim 256, 8/4 heads of 32 (q 256, k/v 128), ffn 768, vocab 8192, classifier chunk 512.
const Shape kShapes[] = {
    {"q_wo", 1024, 256, 256, 12}, {"kv", 1024, 256, 128, 12},        {"gate_up", 1024, 256, 768, 12},
    {"down", 1024, 768, 256, 6},  {"classifier", 512, 256, 8192, 2},
};

struct Operands {
  std::vector<float> x, w, dy, out;
  sgemm::PackedB packed;
  Operands(const Shape& s, Product p)
      : x(bench::gaussian(s.M * s.K, 1)), w(bench::gaussian(s.N * s.K, 2)), dy(bench::gaussian(s.M * s.N, 3)) {
    out.resize(p == Product::Forward ? s.M * s.N : (p == Product::BackwardData ? s.M * s.K : s.N * s.K));
    if (p == Product::Forward) packed.pack_transposed(w.data(), s.N, s.K, s.K);
    if (p == Product::BackwardData) packed.pack(w.data(), s.N, s.K, s.K);
    if (p == Product::BackwardWeight) packed.pack(x.data(), s.M, s.K, s.K);
  }
};

void run_product(const Shape& s, Product p, Impl impl, Operands& o, bool pack_x_always = false) {
  const int M = int(s.M), K = int(s.K), N = int(s.N);
  if (impl == Impl::Hybrid) impl = p == Product::BackwardWeight ? Impl::OpenBlas : Impl::FlamePrepacked;
  if (impl == Impl::OpenBlas) {
    switch (p) {
      case Product::Forward:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, o.x.data(), K, o.w.data(), K, 0.0f,
                    o.out.data(), N);
        break;
      case Product::BackwardData:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, N, 1.0f, o.dy.data(), N, o.w.data(), K, 0.0f,
                    o.out.data(), K);
        break;
      case Product::BackwardWeight:
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, M, 1.0f, o.dy.data(), N, o.x.data(), K, 1.0f,
                    o.out.data(), K);
        break;
    }
    return;
  }
  switch (p) {
    case Product::Forward:
      if (impl == Impl::Flame) o.packed.pack_transposed(o.w.data(), s.N, s.K, s.K);
      sgemm::gemm(sgemm::rows(o.x.data(), s.K), o.packed, o.out.data(), s.N, s.M, false);
      break;
    case Product::BackwardData:
      if (impl == Impl::Flame) o.packed.pack(o.w.data(), s.N, s.K, s.K);
      sgemm::gemm(sgemm::rows(o.dy.data(), s.N), o.packed, o.out.data(), s.K, s.M, false);
      break;
    case Product::BackwardWeight:
      // x is an activation, packed once per step for all the products that share it (q/k/v share
      // one x, gate/up another): "flame_prepacked" leaves it out, "flame" packs it every call.
      if (impl == Impl::Flame || pack_x_always) o.packed.pack(o.x.data(), s.M, s.K, s.K);
      sgemm::gemm(sgemm::transposed(o.dy.data(), s.N), o.packed, o.out.data(), s.K, s.N, true);
      break;
  }
}

double flops(const Shape& s) {
  return 2.0 * double(s.M) * double(s.K) * double(s.N);
}

void BM_SgemmB(benchmark::State& state, Shape s, Product p, Impl impl) {
  use_single_threaded_blas();
  Operands o(s, p);
  for (auto _ : state) {
    run_product(s, p, impl, o);
    benchmark::DoNotOptimize(o.out.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(flops(s) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Every product of one thread's B step (fwd, dx, dW of each shape, times per_step), in one loop.
// Conservative for flame: x is packed in every dW product (the step shares one pack among q/k/v
// and one among gate/up).
void BM_SgemmBMix(benchmark::State& state, Impl impl) {
  use_single_threaded_blas();
  std::vector<std::unique_ptr<Operands>> ops;
  double total = 0;
  for (const Shape& s : kShapes)
    for (Product p : {Product::Forward, Product::BackwardData, Product::BackwardWeight}) {
      ops.push_back(std::make_unique<Operands>(s, p));
      total += flops(s) * s.per_step;
    }
  for (auto _ : state) {
    size_t i = 0;
    for (const Shape& s : kShapes)
      for (Product p : {Product::Forward, Product::BackwardData, Product::BackwardWeight}) {
        Operands& o = *ops[i++];
        for (int r = 0; r < s.per_step; ++r) run_product(s, p, impl, o, /*pack_x_always=*/true);
      }
  }
  state.counters["GFLOPs"] = benchmark::Counter(total * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  const std::pair<Impl, const char*> impls[] = {
      {Impl::FlamePrepacked, "flame_prepacked"}, {Impl::Flame, "flame"}, {Impl::OpenBlas, "openblas"}};
  const std::pair<Product, const char*> products[] = {
      {Product::Forward, "fwd"}, {Product::BackwardData, "dx"}, {Product::BackwardWeight, "dW"}};
  for (const Shape& s : kShapes)
    for (auto [p, pn] : products)
      for (auto [impl, in] : impls) {
        benchmark::RegisterBenchmark((std::string("SgemmB/") + s.name + "/" + pn + "/" + in).c_str(), BM_SgemmB, s, p,
                                     impl)
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.3);
      }
  const std::pair<Impl, const char*> mix_impls[] = {{Impl::FlamePrepacked, "flame_prepacked"},
                                                    {Impl::Hybrid, "flame_prepacked_fwd_dx+openblas_dW"},
                                                    {Impl::Flame, "flame"},
                                                    {Impl::OpenBlas, "openblas"}};
  for (auto [impl, in] : mix_impls)
    benchmark::RegisterBenchmark((std::string("SgemmBMix/") + in).c_str(), BM_SgemmBMix, impl)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(2.0)
        ->Repetitions(3);
}

const bool registered = (register_all(), true);

}  // namespace
}  // namespace flame

namespace flame {
namespace {
// The tile kernel alone on L1-resident operands: the ceiling of the blocked driver.
void BM_SgemmTileL1(benchmark::State& state) {
  const int64_t kc = 256;
  auto a = bench::gaussian(kc * sgemm::kTileRows, 1);
  sgemm::PackedB b;
  const auto bsrc = bench::gaussian(kc * sgemm::kPanelWidth, 2);
  b.pack(bsrc.data(), kc, sgemm::kPanelWidth, sgemm::kPanelWidth);
  std::vector<float> c(sgemm::kTileRows * sgemm::kPanelWidth);
  for (auto _ : state) {
    for (int r = 0; r < 100; ++r) sgemm::avx2::tile_packed(kc, a.data(), b.at(0, 0), c.data(), 16, r > 0);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOPs"] =
      benchmark::Counter(100 * 2.0 * kc * 6 * 16 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SgemmTileL1);
}  // namespace
}  // namespace flame
