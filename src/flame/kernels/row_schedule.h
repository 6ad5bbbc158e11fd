#pragma once
// Hands the rows of one or more weight matrices to the threads of one pool call, for decode
// products (one activation row against every weight row: the work streams the weights from memory).
//
// Runs are contiguous and shrink as the work runs out (guided self-scheduling): a claim takes
// 1/(2 x threads) of the bytes still unclaimed, at least `min_run_bytes`. Early runs are long, so
// each thread streams long stretches of consecutive rows (the hardware prefetcher ramps up once per
// run; 64 KB runs throughout were 10-20% slower than 256 KB ones), and the last ones are short, so
// the threads finish within a few microseconds of each other (fixed 256-row runs left one thread
// idle for up to a run at the end of each product: ~10% of a 2048 x 2048 Q4_0 product). A thread
// that is descheduled on a busy machine holds back only its current run.
//
//   RowSchedule schedule(threads, 64 << 10, 8);    // runs of whole 8-row groups
//   schedule.add(wq.dim(0), wq.row_bytes());        // segment 0
//   schedule.add(wk.dim(0), wk.row_bytes());        // segment 1
//   pool.run_claimed([&](int, int) {
//     for (RowSchedule::Run run; schedule.next(run);) compute(run.segment, run.begin, run.end);
//   });
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace flame {

class RowSchedule {
 public:
  struct Run {
    size_t segment;      // index in add() order
    int64_t begin, end;  // rows of that segment
  };

  // Runs are multiples of `align` rows (except at a segment's end).
  RowSchedule(int threads, size_t min_run_bytes, int64_t align = 1);
  // Appends a segment of `rows` rows of `row_bytes` bytes each. Not thread-safe: before next().
  void add(int64_t rows, size_t row_bytes);
  // Claims the next run; false once every row is claimed. Thread-safe.
  bool next(Run& run);

  int64_t total_rows() const { return total_rows_; }

 private:
  struct Segment {
    int64_t first_row, rows;
    size_t row_bytes;
    double bytes_after;  // bytes of the segments after this one
  };
  int threads_;
  size_t min_run_bytes_;
  int64_t align_;
  std::vector<Segment> segments_;
  int64_t total_rows_ = 0;
  std::atomic<int64_t> next_row_{0};
};

}  // namespace flame
