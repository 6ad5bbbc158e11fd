#pragma once
// Memory read bandwidth probe: the bound decode speed is measured against (bytes of weights read
// per token / read bandwidth). Streams a buffer much larger than the caches on every pool thread,
// as decode's matrix-vector products do.
//
//   double gbs = measure_read_bandwidth(1ull << 30, 5) / 1e9;   // best of 5 passes over 1 GiB
#include <cstddef>
#include <memory>
#include <vector>

#include "flame/core/memory.h"

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

// Reads of a given number of bytes on demand, for timing memory next to other work: `flame bench`
// alternates decode steps with reads of the same bytes, so both see the same state of a machine
// whose memory rate drifts. Reads continue through a `buffer_bytes` buffer (on huge pages, zeroed),
// wrapping at its end, split over the pool's threads like the probe.
//
//   StreamReader reader(1 << 30);
//   double seconds = reader.read(bytes_per_token);
class StreamReader {
 public:
  explicit StreamReader(size_t buffer_bytes, ThreadPool& pool = ThreadPool::global());
  // Reads `bytes` (rounded down to whole 256-byte lines of work) and returns the wall seconds taken.
  double read(size_t bytes);
  size_t buffer_bytes() const { return buffer_->size(); }

 private:
  std::shared_ptr<AlignedBuffer> buffer_;
  ThreadPool& pool_;
  size_t floats_ = 0, next_ = 0;
  std::vector<float> sinks_;
};

// CPU seconds used by every thread of this process so far.
double process_cpu_seconds();

namespace detail {
// Sums floats (the result keeps the reads from being optimised away).
float stream_sum_scalar(const float* p, size_t n);
float stream_sum_avx2(const float* p, size_t n);
}  // namespace detail

}  // namespace flame
