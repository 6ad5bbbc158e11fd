#pragma once
// Memory read bandwidth probe: the bound decode speed is measured against (bytes of weights read
// per token / read bandwidth). Streams a buffer much larger than the caches on every pool thread,
// as decode's matrix-vector products do.
//
//   double gbs = measure_read_bandwidth(1ull << 30, 5) / 1e9;   // best of 5 passes over 1 GiB
#include <cstddef>

#include "flame/core/thread_pool.h"

namespace flame {

// Bytes per second of the fastest of `passes` multi-threaded reads over a `bytes` buffer.
double measure_read_bandwidth(size_t bytes, int passes, ThreadPool& pool = ThreadPool::global());

// The same probe timed two ways: wall clock, and this process's CPU time divided by the thread
// count. On a machine shared with other jobs the CPU-time rate is what the threads achieve while
// they actually run; compare it with a decode rate timed the same way (process_cpu_seconds).
struct ReadBandwidth {
  double wall_bytes_per_s = 0;
  double cpu_bytes_per_s = 0;
};
ReadBandwidth measure_read_bandwidth_both(size_t bytes, int passes, ThreadPool& pool = ThreadPool::global());

// CPU seconds used by every thread of this process so far.
double process_cpu_seconds();

namespace detail {
// Sums floats (the result keeps the reads from being optimised away).
float stream_sum_scalar(const float* p, size_t n);
float stream_sum_avx2(const float* p, size_t n);
}  // namespace detail

}  // namespace flame
