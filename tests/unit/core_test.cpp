#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/core/dtype.h"
#include "flame/core/error.h"
#include "flame/core/half.h"
#include "flame/core/memory.h"
#include "flame/core/tensor.h"
#include "flame/core/thread_pool.h"

namespace flame {
// F16C instruction twins, compiled with -mf16c in half_hw_avx2.cpp.
float hw_f16_to_f32(uint16_t h);
uint16_t hw_f32_to_f16(float f);
namespace {

TEST(DType, BlockSizesMatchGgml) {
  EXPECT_EQ(dtype_info(DType::Q4_0).type_size, 18);
  EXPECT_EQ(dtype_info(DType::Q8_0).type_size, 34);
  EXPECT_EQ(dtype_info(DType::Q4_K).type_size, 144);
  EXPECT_EQ(dtype_info(DType::Q6_K).type_size, 210);
  EXPECT_EQ(row_bytes(DType::Q4_K, 2048), 8u * 144u);
  EXPECT_THROW(row_bytes(DType::Q4_K, 100), ArgumentError);
  EXPECT_FALSE(dtype_from_id(4).has_value());  // removed Q4_2
  EXPECT_EQ(dtype_from_name("Q4_k"), DType::Q4_K);
  EXPECT_FALSE(checked_bytes(DType::F32, UINT64_MAX / 2).has_value());
}

// Every one of the 65536 half values must convert exactly as the F16C instruction does.
TEST(Half, F16MatchesHardwareOnAllValues) {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "no F16C";
  for (uint32_t h = 0; h < 65536; ++h) {
    const float ref = hw_f16_to_f32(static_cast<uint16_t>(h));
    const float got = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(ref)) {
      ASSERT_TRUE(std::isnan(got)) << h;
    } else {
      ASSERT_EQ(float_to_bits(ref), float_to_bits(got)) << h;
    }
  }
#else
  GTEST_SKIP();
#endif
}

TEST(Half, F32ToF16RoundsLikeHardware) {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "no F16C";
  uint32_t state = 12345;
  for (int i = 0; i < 2000000; ++i) {
    state = state * 1664525u + 1013904223u;
    const float f = bits_to_float(state);
    const uint16_t ref = hw_f32_to_f16(f);
    const uint16_t got = f32_to_f16(f);
    if (std::isnan(f)) {
      ASSERT_EQ(got & 0x7c00, 0x7c00);
      ASSERT_NE(got & 0x3ff, 0);
    } else {
      ASSERT_EQ(ref, got) << std::hexfloat << f;
    }
  }
#else
  GTEST_SKIP();
#endif
}

TEST(Half, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(bits_to_float(0x3f808000)), 0x3f80);  // tie -> even
  EXPECT_EQ(f32_to_bf16(bits_to_float(0x3f818000)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(f32_to_bf16(bits_to_float(0x3f808001)), 0x3f81);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

TEST(Tensor, ShapesRowsAndViews) {
  Tensor t = Tensor::empty(DType::F32, {3, 4});
  EXPECT_EQ(t.rows(), 3);
  EXPECT_EQ(t.cols(), 4);
  EXPECT_EQ(t.nbytes(), 48u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  for (int i = 0; i < 12; ++i) t.data<float>()[i] = static_cast<float>(i);
  Tensor s = t.slice_rows(1, 3);
  EXPECT_EQ(s.row<float>(0)[0], 4.0f);
  EXPECT_THROW(t.reshape({5, 2}), ArgumentError);
  EXPECT_THROW(Tensor::empty(DType::Q8_0, {2, 33}), ArgumentError);
  EXPECT_EQ(Tensor::empty(DType::Q8_0, {2, 64}).nbytes(), 2u * 2u * 34u);
}

TEST(ThreadPool, SplitCoversRangeExactlyOnce) {
  for (int nt = 1; nt <= 5; ++nt)
    for (int64_t n : {0, 1, 7, 64, 1000})
      for (int64_t grain : {1, 4, 32}) {
        int64_t expect = 0;
        for (int t = 0; t < nt; ++t) {
          auto [b, e] = ThreadPool::split(n, t, nt, grain);
          EXPECT_EQ(b, std::min(expect, n));
          if (b < n && e < n) EXPECT_EQ(b % grain, 0);
          expect = std::max(expect, e);
        }
        EXPECT_EQ(std::min(expect, n), n);
      }
}

TEST(ThreadPool, RunsEveryIndexAndIsReusable) {
  ThreadPool pool(3);
  for (int rep = 0; rep < 200; ++rep) {
    std::vector<int> hits(1000, 0);
    pool.parallel_for(1000, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[i]++;
    });
    ASSERT_EQ(std::accumulate(hits.begin(), hits.end(), 0), 1000);
    ASSERT_EQ(*std::min_element(hits.begin(), hits.end()), 1);
  }
  std::atomic<int> seen{0};
  pool.run([&](int t, int nt) {
    EXPECT_EQ(nt, 3);
    seen.fetch_add(1 << t);
  });
  EXPECT_EQ(seen.load(), 7);
}

// PagePolicy::huge: 2 MiB alignment (so transparent huge pages can back it) for buffers of 2 MiB
// and more, ordinary alignment below; zeroed either way.
TEST(AlignedBuffer, HugePagePolicyAlignsLargeBuffersTo2MiB) {
  for (size_t bytes : {size_t{3} << 20, size_t{2} << 20, size_t{5000}}) {
    auto b = AlignedBuffer::allocate(bytes, PagePolicy::huge);
    EXPECT_EQ(b->size(), bytes);
    const auto address = reinterpret_cast<uintptr_t>(b->data());
    EXPECT_EQ(address % (bytes >= kHugePageBytes ? kHugePageBytes : kAlignment), 0u) << bytes;
    EXPECT_TRUE(std::all_of(b->data(), b->data() + bytes, [](uint8_t v) { return v == 0; })) << bytes;
  }
}

TEST(Cpu, PhysicalCoresPositive) {
  EXPECT_GE(physical_cores(), 1);
}

}  // namespace
}  // namespace flame
