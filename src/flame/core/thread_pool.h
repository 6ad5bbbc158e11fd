#pragma once
// A persistent pool of worker threads shared by every kernel. The calling thread takes part as
// thread 0, so a pool of N runs work on N threads with N-1 workers. Work is split statically and
// deterministically (same thread count => same split => bitwise-identical results).
//
//   ThreadPool& pool = ThreadPool::global();          // sized by set_global_threads(), default
//                                                     // physical cores
//   pool.parallel_for(rows, [&](int64_t begin, int64_t end) { ... });
//   pool.run([&](int thread, int threads) { ... });   // every thread once
//
// Workers spin briefly before sleeping (C++20 atomic wait), so back-to-back kernels in a decode
// step do not pay a futex wake each. A call from inside a pool task runs inline on that thread.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace flame {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }

  template <class Fn>
  void run(Fn&& fn) {
    run_erased(&invoke_run<std::remove_reference_t<Fn>>, &fn);
  }

  // Calls fn(begin, end) on contiguous chunks covering [0, n); chunk boundaries are multiples of
  // `grain` (except the last). At most one chunk per thread.
  template <class Fn>
  void parallel_for(int64_t n, Fn&& fn, int64_t grain = 1) {
    if (n <= 0) return;
    run([&](int t, int nt) {
      const auto [b, e] = split(n, t, nt, grain);
      if (b < e) fn(b, e);
    });
  }

  // Like run(), for work that threads CLAIM (chunks taken through an atomic counter): returns once
  // the caller's fn(0, threads) has returned and every worker that started fn has finished. A
  // worker that wakes later skips the call, so a descheduled worker (busy machine) never stalls the
  // caller. fn must therefore complete all the work whichever threads run it, and its results
  // must not depend on which thread did what (then they are deterministic too).
  template <class Fn>
  void run_claimed(Fn&& fn) {
    run_claimed_erased(&invoke_run<std::remove_reference_t<Fn>>, &fn);
  }

  // The [begin, end) share of thread t of nt over n items, aligned to grain.
  static std::pair<int64_t, int64_t> split(int64_t n, int t, int nt, int64_t grain = 1);

  static ThreadPool& global();
  // Resizes the global pool (0 = physical cores). Not thread-safe with concurrent kernels.
  static void set_global_threads(int threads);

 private:
  using Erased = void (*)(void* fn, int thread, int threads);
  template <class Fn>
  static void invoke_run(void* fn, int t, int nt) {
    (*static_cast<Fn*>(fn))(t, nt);
  }
  void run_erased(Erased call, void* fn);
  void run_claimed_erased(Erased call, void* fn);
  void publish(Erased call, void* fn, bool claimed);
  bool try_join_claimed(uint64_t generation);
  void worker_loop(int index);

  int threads_;
  std::vector<std::thread> workers_;
  // Bumped by 2 per call; bit 0 set for run_claimed calls (a worker must join those first).
  std::atomic<uint64_t> generation_{0};
  // run_claimed: (low 32 bits of generation) << 32 | open << 31 | workers inside fn.
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  Erased call_ = nullptr;
  void* fn_ = nullptr;
};

}  // namespace flame
