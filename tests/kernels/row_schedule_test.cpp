// RowSchedule (kernels/row_schedule.h): every row of every segment is handed out exactly once,
// in runs of whole `align` rows that start long and shrink to the minimum, from one thread or many.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "flame/core/thread_pool.h"
#include "flame/kernels/row_schedule.h"

namespace flame {
namespace {

struct Segment {
  int64_t rows;
  size_t row_bytes;
};

std::vector<RowSchedule::Run> drain(RowSchedule& s) {
  std::vector<RowSchedule::Run> runs;
  for (RowSchedule::Run run; s.next(run);) runs.push_back(run);
  return runs;
}

TEST(RowSchedule, OneThreadGetsEveryRowOnceInOrderInShrinkingAlignedRuns) {
  const std::vector<Segment> segments = {{2048, 1152}, {512, 1152}, {8, 1152}, {4100, 4608}};
  const size_t min_bytes = 64 << 10;
  RowSchedule schedule(2, min_bytes, 8);
  double total_bytes = 0;
  for (const Segment& s : segments) {
    schedule.add(s.rows, s.row_bytes);
    total_bytes += static_cast<double>(s.rows) * s.row_bytes;
  }
  EXPECT_EQ(schedule.total_rows(), 2048 + 512 + 8 + 4100);
  const auto runs = drain(schedule);
  ASSERT_FALSE(runs.empty());
  // The first run would be a quarter of all bytes (1 / (2 x 2 threads)); it stops at its segment's end.
  EXPECT_LT(2048 * 1152.0, total_bytes / 4);
  EXPECT_EQ(runs[0].end, 2048);
  size_t seg = 0;
  int64_t row = 0;
  for (const auto& run : runs) {
    if (row == segments[seg].rows) {
      ++seg;
      row = 0;
    }
    ASSERT_EQ(run.segment, seg);
    ASSERT_EQ(run.begin, row) << "runs must follow each other without gaps or overlap";
    ASSERT_GT(run.end, run.begin);
    EXPECT_EQ(run.begin % 8, 0);
    const bool segment_end = run.end == segments[seg].rows;
    if (!segment_end) {
      EXPECT_EQ(run.end % 8, 0);
      EXPECT_GE(static_cast<size_t>(run.end - run.begin) * segments[seg].row_bytes, min_bytes);
    }
    row = run.end;
  }
  EXPECT_EQ(seg, segments.size() - 1);
  EXPECT_EQ(row, segments.back().rows);
  // Runs shrink: the last full-size run of the big final segment is far shorter than the first.
  EXPECT_LT(runs[runs.size() - 2].end - runs[runs.size() - 2].begin, (runs[0].end - runs[0].begin) / 4);
  RowSchedule::Run extra;
  EXPECT_FALSE(schedule.next(extra)) << "a drained schedule stays drained";
}

TEST(RowSchedule, FirstRunIsTheThreadsShareOfAllBytes) {
  for (int threads : {1, 2, 4}) {
    RowSchedule schedule(threads, 1024, 8);
    schedule.add(8192, 1152);
    RowSchedule::Run run;
    ASSERT_TRUE(schedule.next(run));
    // 1 / (2 x threads) of the rows, rounded up to whole groups of 8.
    EXPECT_NEAR(static_cast<double>(run.end), 8192.0 / (2 * threads), 8.0) << threads << " threads";
  }
}

TEST(RowSchedule, ThreadsTogetherClaimEveryRowExactlyOnce) {
  for (int threads : {2, 3}) {
    ThreadPool pool(threads);
    RowSchedule schedule(threads, 4096, 4);
    const std::vector<int64_t> rows = {1000, 3, 77, 5000};
    for (int64_t n : rows) schedule.add(n, 256);
    std::vector<std::vector<int>> seen(rows.size());
    for (size_t s = 0; s < rows.size(); ++s) seen[s].assign(static_cast<size_t>(rows[s]), 0);
    std::mutex mutex;
    pool.run_claimed([&](int, int) {
      for (RowSchedule::Run run; schedule.next(run);) {
        std::lock_guard lock(mutex);
        for (int64_t r = run.begin; r < run.end; ++r) ++seen[run.segment][static_cast<size_t>(r)];
      }
    });
    for (size_t s = 0; s < rows.size(); ++s)
      EXPECT_TRUE(std::all_of(seen[s].begin(), seen[s].end(), [](int c) { return c == 1; }))
          << "segment " << s << ", " << threads << " threads";
  }
}

TEST(RowSchedule, EmptySegmentsAndNoSegments) {
  RowSchedule none(2, 1024);
  RowSchedule::Run run;
  EXPECT_FALSE(none.next(run));
  RowSchedule some(2, 1024);
  some.add(0, 64);
  some.add(5, 64);
  ASSERT_TRUE(some.next(run));
  EXPECT_EQ(run.segment, 1u) << "an empty segment keeps its number and is skipped";
  EXPECT_EQ(run.begin, 0);
  EXPECT_EQ(run.end, 5);
  EXPECT_FALSE(some.next(run));
}

}  // namespace
}  // namespace flame
