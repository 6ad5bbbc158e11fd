// Training attention alone (kernels/attention_train.h), forward and backward, on config B's head
// shape (8 heads of head_dim 32, 4 KV heads) and config C's (head_dim 64), seq 256, on a private
// 1-thread pool (what each thread does in batch-parallel training), so CPU time is the whole cost
// even on a shared machine. First arg: 0 = the portable sgemm-block path, 1 = the AVX2 tile path
// (backward given the forward output, as in training), 2 = AVX2 backward without it;
// second: sequences per call (1: everything stays in cache; 8: the saved probabilities, 16 MiB,
// come from memory as in a training step). GFLOPs counts the causal work actually needed
// (T (T + 1) / 2 query-key pairs, 2 products forward, 4 backward).
//
//   build/bin/flame_bench --benchmark_filter=AttentionTrain
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/attention_train.h"

namespace flame {
namespace {

struct AttentionCase {
  int64_t B, T = 256, H = 8, KVH = 4, hd;
  std::vector<float> q, k, v, out, probs, dout, dq, dk, dv;
  AttentionCase(int64_t batch, int64_t head_dim) : B(batch), hd(head_dim) {
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0.0f, 1.0f);
    auto fill = [&](std::vector<float>& x, int64_t n) {
      x.resize(n);
      for (auto& e : x) e = d(rng);
    };
    fill(q, B * T * H * hd), fill(k, B * T * KVH * hd), fill(v, B * T * KVH * hd), fill(dout, B * T * H * hd);
    out.resize(q.size()), dq.resize(q.size()), dk.resize(k.size()), dv.resize(v.size());
    probs.resize(B * H * T * T);
  }
  // FLOPs of one causal product over all sequences and heads.
  double product_flops() const { return 2.0 * double(T * (T + 1) / 2) * double(hd) * double(H * B); }
};

ThreadPool& one_thread() {
  static ThreadPool pool(1);
  return pool;
}

void set_counters(benchmark::State& state, double flops_per_iter) {
  state.counters["GFLOPs"] =
      benchmark::Counter(flops_per_iter * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

void BM_AttentionTrainForward(benchmark::State& state, int64_t hd) {
  const bool tiled = state.range(0) == 1;
  if (tiled && !cpu().has_avx2_fma()) return state.SkipWithError("no AVX2/FMA");
  AttentionCase c(state.range(1), hd);
  auto fwd = tiled ? avx2::attention_forward : sgemm_blocks::attention_forward;
  for (auto _ : state)
    fwd(c.q.data(), c.k.data(), c.v.data(), c.out.data(), c.probs.data(), c.B, c.T, c.H, c.KVH, c.hd, one_thread());
  set_counters(state, 2 * c.product_flops());
  state.SetLabel(tiled ? "avx2 tiles" : "sgemm blocks");
}

void BM_AttentionTrainBackward(benchmark::State& state, int64_t hd) {
  const bool tiled = state.range(0) >= 1, given_out = state.range(0) == 1;
  if (tiled && !cpu().has_avx2_fma()) return state.SkipWithError("no AVX2/FMA");
  AttentionCase c(state.range(1), hd);
  auto fwd = tiled ? avx2::attention_forward : sgemm_blocks::attention_forward;
  for (auto _ : state) {
    if (tiled)
      avx2::attention_backward(c.dout.data(), c.q.data(), c.k.data(), c.v.data(), given_out ? c.out.data() : nullptr,
                               c.probs.data(), c.dq.data(), c.dk.data(), c.dv.data(), c.B, c.T, c.H, c.KVH, c.hd,
                               one_thread());
    else
      sgemm_blocks::attention_backward(c.dout.data(), c.q.data(), c.k.data(), c.v.data(), c.probs.data(), c.dq.data(),
                                       c.dk.data(), c.dv.data(), c.B, c.T, c.H, c.KVH, c.hd, one_thread());
  }
  set_counters(state, 4 * c.product_flops());
  state.SetLabel(!tiled ? "sgemm blocks" : given_out ? "avx2 tiles" : "avx2 tiles, no forward output");
}

BENCHMARK_CAPTURE(BM_AttentionTrainForward, B_hd32, 32)->ArgsProduct({{0, 1}, {1, 8}})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_AttentionTrainBackward, B_hd32, 32)
    ->ArgsProduct({{0, 1, 2}, {1, 8}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_AttentionTrainForward, C_hd64, 64)->ArgsProduct({{0, 1}, {1, 8}})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_AttentionTrainBackward, C_hd64, 64)
    ->ArgsProduct({{0, 1, 2}, {1, 8}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace flame
