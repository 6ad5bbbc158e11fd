#include "flame/core/thread_pool.h"

#include <memory>
#include <mutex>

#include "flame/core/cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define FLAME_PAUSE() _mm_pause()
#else
#define FLAME_PAUSE() ((void)0)
#endif

namespace flame {
namespace {
thread_local bool t_inside_pool = false;
constexpr int kSpinIterations = 1 << 14;

std::mutex g_global_mutex;  // guards creation and replacement, not the hot lookup
std::unique_ptr<ThreadPool> g_global;
std::atomic<ThreadPool*> g_global_ptr{nullptr};
}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {
  workers_.reserve(threads_ - 1);
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(2);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
}

std::pair<int64_t, int64_t> ThreadPool::split(int64_t n, int t, int nt, int64_t grain) {
  if (grain < 1) grain = 1;
  const int64_t units = (n + grain - 1) / grain;
  const int64_t base = units / nt, extra = units % nt;
  const int64_t ub = t * base + (t < extra ? t : extra);
  const int64_t ue = ub + base + (t < extra ? 1 : 0);
  const int64_t b = ub * grain, e = ue * grain;
  return {b < n ? b : n, e < n ? e : n};
}

namespace {
constexpr uint64_t kClaimOpen = uint64_t{1} << 31;
constexpr uint64_t kClaimCount = kClaimOpen - 1;
uint64_t claim_tag(uint64_t generation) {
  return (generation & 0xFFFFFFFFu) << 32;
}
}  // namespace

void ThreadPool::publish(Erased call, void* fn, bool claimed) {
  call_ = call;
  fn_ = fn;
  const uint64_t g = ((generation_.load(std::memory_order_relaxed) >> 1) + 1) * 2 + (claimed ? 1 : 0);
  if (claimed)
    claim_.store(claim_tag(g) | kClaimOpen, std::memory_order_relaxed);
  else
    pending_.store(threads_ - 1, std::memory_order_relaxed);
  generation_.store(g, std::memory_order_release);
  generation_.notify_all();
}

void ThreadPool::run_erased(Erased call, void* fn) {
  if (threads_ == 1 || t_inside_pool) {
    call(fn, 0, 1);
    return;
  }
  publish(call, fn, false);
  t_inside_pool = true;
  call(fn, 0, threads_);
  t_inside_pool = false;
  for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin < kSpinIterations) {
      FLAME_PAUSE();
    } else {
      int p = pending_.load(std::memory_order_acquire);
      if (p != 0) pending_.wait(p, std::memory_order_acquire);
    }
  }
}

void ThreadPool::run_claimed_erased(Erased call, void* fn) {
  if (threads_ == 1 || t_inside_pool) {
    call(fn, 0, 1);
    return;
  }
  publish(call, fn, true);
  t_inside_pool = true;
  call(fn, 0, threads_);
  t_inside_pool = false;
  // Close the call to late workers, then wait for those inside fn.
  uint64_t s = claim_.fetch_and(~kClaimOpen, std::memory_order_acq_rel) & ~kClaimOpen;
  for (int spin = 0; (s & kClaimCount) != 0; ++spin) {
    if (spin < kSpinIterations)
      FLAME_PAUSE();
    else
      claim_.wait(s, std::memory_order_acquire);
    s = claim_.load(std::memory_order_acquire);
  }
}

// Enters a run_claimed call if it is still the open one; false if the caller already closed it.
bool ThreadPool::try_join_claimed(uint64_t generation) {
  uint64_t s = claim_.load(std::memory_order_acquire);
  while ((s & ~kClaimCount) == (claim_tag(generation) | kClaimOpen))
    if (claim_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) return true;
  return false;
}

void ThreadPool::worker_loop(int index) {
  t_inside_pool = true;
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < kSpinIterations; ++spin) {
      FLAME_PAUSE();
      g = generation_.load(std::memory_order_acquire);
    }
    while (g == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_.load()) return;
    if (g & 1) {  // run_claimed: only if still open (call_/fn_ stay valid while we are counted)
      if (!try_join_claimed(g)) continue;
      call_(fn_, index, threads_);
      const uint64_t s = claim_.fetch_sub(1, std::memory_order_acq_rel) - 1;
      if ((s & (kClaimOpen | kClaimCount)) == 0) claim_.notify_all();
      continue;
    }
    // A plain run() cannot be skipped: the caller waits for every worker, so call_/fn_ are stable.
    call_(fn_, index, threads_);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

// Every kernel call asks for the pool (~100 times per decoded token), so the lookup is one load.
ThreadPool& ThreadPool::global() {
  if (ThreadPool* pool = g_global_ptr.load(std::memory_order_acquire)) return *pool;
  std::lock_guard lock(g_global_mutex);
  if (!g_global) {
    g_global = std::make_unique<ThreadPool>(physical_cores());
    g_global_ptr.store(g_global.get(), std::memory_order_release);
  }
  return *g_global;
}

void ThreadPool::set_global_threads(int threads) {
  std::lock_guard lock(g_global_mutex);
  if (threads <= 0) threads = physical_cores();
  if (g_global && g_global->size() == threads) return;
  g_global_ptr.store(nullptr, std::memory_order_release);
  g_global = std::make_unique<ThreadPool>(threads);
  g_global_ptr.store(g_global.get(), std::memory_order_release);
}

}  // namespace flame
