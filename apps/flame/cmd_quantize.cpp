// `flame quantize IN OUT TYPE [-t N] [--dry-run]`: quantize an F32/F16/BF16 Llama GGUF to a preset
// mix (Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0) or a single type; see flame/model/quantize_model.h.
#include <fmt/format.h>

#include <map>

#include "command.h"
#include "flame/core/thread_pool.h"
#include "flame/io/gguf.h"
#include "flame/model/quantize_model.h"

namespace {

struct Options {
  std::string in, out, type;
  int threads = 0;
  bool dry_run = false;
};

int run_quantize(const Options& o) {
  const flame::QuantTarget target = flame::parse_quant_target(o.type);
  if (o.dry_run) {
    const auto reader = flame::gguf::Reader::open(o.in);
    for (const auto& p : flame::plan_quantization(reader, target))
      fmt::print("{:<32} {:>5} -> {:<5} {}\n", p.name, flame::dtype_name(p.from), flame::dtype_name(p.to), p.why);
    return 0;
  }
  const auto stats = flame::quantize_model(o.in, o.out, target, flame::ThreadPool::global());
  fmt::print(stderr, "quantize: {} -> {} ({}): {:.1f} MB -> {:.1f} MB in {:.1f} s\n", o.in, o.out, target.name,
             stats.bytes_in / 1e6, stats.bytes_out / 1e6, stats.seconds);
  return 0;
}

flame::cli::Registration reg{
    "quantize", "Quantize an F32/F16/BF16 GGUF (Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0, ...)", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("IN", o->in, "input GGUF (F32/F16/BF16 weights)")->required();
      app.add_option("OUT", o->out, "output GGUF")->required();
      app.add_option("TYPE", o->type, "Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0 or a single type")->required();
      app.add_flag("--dry-run", o->dry_run, "print the per-tensor plan, write nothing");
      flame::cli::add_threads_option(app, o->threads);
      return [o] {
        flame::cli::apply_threads(o->threads);
        return run_quantize(*o);
      };
    }};

}  // namespace
