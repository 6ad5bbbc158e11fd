#include "flame/kernels/row_schedule.h"

#include <algorithm>

namespace flame {

RowSchedule::RowSchedule(int threads, size_t min_run_bytes, int64_t align)
    : threads_(std::max(threads, 1)),
      min_run_bytes_(std::max<size_t>(min_run_bytes, 1)),
      align_(std::max<int64_t>(align, 1)) {}

void RowSchedule::add(int64_t rows, size_t row_bytes) {
  rows = std::max<int64_t>(rows, 0);  // an empty segment keeps its index and is skipped by next()
  const double bytes = static_cast<double>(rows) * static_cast<double>(row_bytes);
  for (Segment& s : segments_) s.bytes_after += bytes;
  segments_.push_back({total_rows_, rows, std::max<size_t>(row_bytes, 1), 0.0});
  total_rows_ += rows;
}

bool RowSchedule::next(Run& run) {
  int64_t row = next_row_.load(std::memory_order_relaxed);
  size_t seg = 0;
  for (;;) {
    if (row >= total_rows_) return false;
    while (row >= segments_[seg].first_row + segments_[seg].rows) ++seg;
    const Segment& s = segments_[seg];
    const int64_t local = row - s.first_row;
    const double unclaimed = static_cast<double>(s.rows - local) * static_cast<double>(s.row_bytes) + s.bytes_after;
    const double target = std::max(static_cast<double>(min_run_bytes_), unclaimed / (2.0 * threads_));
    int64_t rows = static_cast<int64_t>(target / static_cast<double>(s.row_bytes)) + 1;
    rows = (rows + align_ - 1) / align_ * align_;
    const int64_t end = std::min(s.rows, local + rows);
    // On failure `row` is reloaded (it only grows, so `seg` stays a valid start) and the claim redone.
    if (next_row_.compare_exchange_weak(row, s.first_row + end, std::memory_order_relaxed)) {
      run = {seg, local, end};
      return true;
    }
  }
}

}  // namespace flame
