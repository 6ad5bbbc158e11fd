// `flame membw [-t N] [--mib 1024]`: multi-threaded streaming read bandwidth (the decode bound).
#include <memory>

#include <fmt/format.h>

#include "command.h"
#include "flame/core/progress.h"
#include "flame/core/thread_pool.h"
#include "flame/kernels/membw.h"

namespace {
struct Options {
  int threads = 0;
  int64_t mib = 1024;
  int passes = 5;
};

flame::cli::Registration reg{
    "membw", "Measure memory read bandwidth (the decode speed bound)", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("--mib", o->mib, "Buffer size in MiB")->capture_default_str();
      app.add_option("--passes", o->passes, "Passes (best is reported)")->capture_default_str();
      flame::cli::add_threads_option(app, o->threads);
      return [o] {
        flame::cli::apply_threads(o->threads);
        const double bw = flame::measure_read_bandwidth(static_cast<size_t>(o->mib) << 20, o->passes);
        fmt::print("read bandwidth: {}/s ({} threads, {} MiB buffer, best of {})\n", flame::human_bytes(bw),
                   flame::ThreadPool::global().size(), o->mib, o->passes);
        return 0;
      };
    }};
}  // namespace
