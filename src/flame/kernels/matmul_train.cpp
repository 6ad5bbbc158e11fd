#include "flame/kernels/matmul_train.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>

#include "flame/core/error.h"

namespace flame {
namespace {
// Rows per chunk are multiples of the GEMM's register tile, so no thread gets a partial tile
// except at the end (the split never changes results: each element's summation order is fixed).
constexpr int64_t kRowGrain = sgemm::kTileRows;

// Panels [b, e) of thread t's share of `panels`.
std::pair<int64_t, int64_t> panel_share(int64_t panels, int t, int nt) {
  return ThreadPool::split(panels, t, nt);
}
}  // namespace

void PackedWeight::pack(const float* w, int64_t N, int64_t K, ThreadPool& pool) {
  pack_weights({{w, N, K, this}}, pool);
}

void pack_weights(const std::vector<WeightToPack>& weights, ThreadPool& pool) {
  struct Job {
    const WeightToPack* weight;
    bool transposed;
    int64_t p0, p1;  // panels
  };
  constexpr int64_t kPanelsPerJob = 32;
  std::vector<Job> jobs;
  for (const WeightToPack& item : weights) {
    PackedWeight& d = *item.dst;
    d.rows = item.rows, d.cols = item.cols;
    d.transposed.resize(item.cols, item.rows);
    d.plain.resize(item.rows, item.cols);
    for (bool transposed : {true, false}) {
      const int64_t panels = (transposed ? d.transposed : d.plain).panels();
      for (int64_t p0 = 0; p0 < panels; p0 += kPanelsPerJob)
        jobs.push_back({&item, transposed, p0, std::min(p0 + kPanelsPerJob, panels)});
    }
  }
  std::atomic<size_t> next{0};
  pool.run_claimed([&](int, int) {
    for (size_t j; (j = next.fetch_add(1, std::memory_order_relaxed)) < jobs.size();) {
      const Job& job = jobs[j];
      PackedWeight& d = *job.weight->dst;
      if (job.transposed) {
        d.transposed.pack_panels_transposed(job.weight->w, job.weight->cols, job.p0, job.p1);
      } else {
        d.plain.pack_panels(job.weight->w, job.weight->cols, job.p0, job.p1);
      }
    }
  });
}

void pack_activation(const float* x, int64_t M, int64_t K, sgemm::PackedB& out, ThreadPool& pool) {
  out.resize(M, K);
  pool.run([&](int t, int nt) {
    const auto [b, e] = panel_share(out.panels(), t, nt);
    out.pack_panels(x, K, b, e);
  });
}

void matmul_forward(const float* x, const PackedWeight& w, float* y, int64_t M, ThreadPool& pool, bool accumulate) {
  const int64_t K = w.cols, N = w.rows;
  pool.parallel_for(
      M,
      [&](int64_t b, int64_t e) {
        sgemm::gemm(sgemm::rows(x + b * K, K), w.transposed, y + b * N, N, e - b, accumulate);
      },
      kRowGrain);
}

void matmul_backward(const float* dy, const sgemm::PackedB* x_packed, const PackedWeight& w, float* dx, float* dw,
                     int64_t M, ThreadPool& pool, bool accumulate_dx) {
  const int64_t K = w.cols, N = w.rows;
  if (dw != nullptr && (x_packed == nullptr || x_packed->depth() != M || x_packed->width() != K))
    throw ArgumentError("matmul_backward",
                        fmt::format("dW needs x packed as [{}, {}] (pack_activation), got {}", M, K,
                                    x_packed ? fmt::format("[{}, {}]", x_packed->depth(), x_packed->width()) : "none"));
  pool.run([&](int t, int nt) {
    if (dx != nullptr) {
      // dx rows [b, e): dy[b:e, :] . W
      const auto [b, e] = ThreadPool::split(M, t, nt, kRowGrain);
      if (b < e) sgemm::gemm(sgemm::rows(dy + b * N, N), w.plain, dx + b * K, K, e - b, accumulate_dx);
    }
    if (dw != nullptr) {
      // dW rows [b, e): dy[:, b:e]^T . x; each thread owns whole rows of dW, summing over all M.
      const auto [b, e] = ThreadPool::split(N, t, nt, kRowGrain);
      if (b < e) sgemm::gemm(sgemm::transposed(dy + b, N), *x_packed, dw + b * K, K, e - b, true);
    }
  });
}

void matmul_forward(const float* x, const float* w, float* y, int64_t M, int64_t K, int64_t N, ThreadPool& pool,
                    bool accumulate) {
  // The caller's scratch (a lambda naming a thread_local would get each worker's own copy).
  thread_local PackedWeight scratch;
  PackedWeight& packed = scratch;
  packed.rows = N, packed.cols = K;
  packed.transposed.resize(K, N);
  pool.run([&](int t, int nt) {
    const auto [b, e] = panel_share(packed.transposed.panels(), t, nt);
    packed.transposed.pack_panels_transposed(w, K, b, e);
  });
  matmul_forward(x, packed, y, M, pool, accumulate);
}

void matmul_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, int64_t M, int64_t K,
                     int64_t N, ThreadPool& pool, bool accumulate_dx) {
  thread_local PackedWeight scratch;
  thread_local sgemm::PackedB x_scratch;
  PackedWeight& packed = scratch;
  sgemm::PackedB& x_packed = x_scratch;
  packed.rows = N, packed.cols = K;
  packed.plain.resize(N, K);
  pool.run([&](int t, int nt) {
    const auto [b, e] = panel_share(packed.plain.panels(), t, nt);
    packed.plain.pack_panels(w, K, b, e);
  });
  if (dw != nullptr) pack_activation(x, M, K, x_packed, pool);
  matmul_backward(dy, &x_packed, packed, dx, dw, M, pool, accumulate_dx);
}

}  // namespace flame
