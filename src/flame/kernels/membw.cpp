#include "flame/kernels/membw.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/core/memory.h"

namespace flame {
namespace detail {
float stream_sum_scalar(const float* p, size_t n) {
  float s = 0;
  for (size_t i = 0; i < n; ++i) s += p[i];
  return s;
}
}  // namespace detail

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double measure_read_bandwidth(size_t bytes, int passes, ThreadPool& pool) {
  return measure_read_bandwidth_both(bytes, passes, pool).wall_bytes_per_s;
}

ReadBandwidth measure_read_bandwidth_both(size_t bytes, int passes, ThreadPool& pool) {
  // Zeroed: every page is really backed. On huge pages like the decode weights (model/repack.h), so
  // the bound compares like with like. Each pass reads the whole buffer once.
  StreamReader reader(bytes, pool);
  const size_t moved = reader.buffer_bytes();
  ReadBandwidth best;
  for (int pass = 0; pass < std::max(passes, 1); ++pass) {
    const double c0 = process_cpu_seconds();
    const double s = reader.read(moved);
    const double cpu = (process_cpu_seconds() - c0) / pool.size();
    best.wall_bytes_per_s = std::max(best.wall_bytes_per_s, static_cast<double>(moved) / s);
    best.cpu_bytes_per_s = std::max(best.cpu_bytes_per_s, static_cast<double>(moved) / cpu);
  }
  return best;
}

StreamReader::StreamReader(size_t buffer_bytes, ThreadPool& pool)
    : buffer_(AlignedBuffer::allocate(std::max<size_t>(buffer_bytes, 4096) / 256 * 256, PagePolicy::huge)),
      pool_(pool),
      floats_(buffer_->size() / sizeof(float)),
      sinks_(static_cast<size_t>(pool.size())) {}

double StreamReader::read(size_t bytes) {
  const auto* data = reinterpret_cast<const float*>(buffer_->data());
  const bool fast = cpu().has_avx2_fma() && !force_scalar();
  const auto t0 = std::chrono::steady_clock::now();
  size_t left = bytes / sizeof(float) / 64 * 64;
  while (left > 0) {  // one pool call per stretch up to the buffer's end
    const size_t n = std::min(left, floats_ - next_);
    const float* base = data + next_;
    pool_.run([&](int t, int nt) {
      const auto [b, e] = ThreadPool::split(static_cast<int64_t>(n), t, nt, 64);
      if (b < e)
        sinks_[t] += fast ? detail::stream_sum_avx2(base + b, e - b) : detail::stream_sum_scalar(base + b, e - b);
    });
    left -= n;
    next_ = (next_ + n) % floats_;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  volatile float keep = sinks_[0];
  (void)keep;
  return s;
}

}  // namespace flame
