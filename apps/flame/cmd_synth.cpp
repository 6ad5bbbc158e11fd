// `flame synth --shape llama3.2-1b --type f16 --seed 1 -o OUT.gguf`: a random-weight model in a real
// model's shape, tensor layout and metadata (including Llama 3 rope_freqs), for benchmarks and tests.
#include <chrono>
#include <memory>

#include <fmt/format.h>

#include "command.h"
#include "flame/core/error.h"
#include "flame/core/progress.h"
#include "flame/io/gguf.h"
#include "flame/model/synthetic.h"

namespace {

struct Options {
  std::string shape = "tiny", type = "f16", output;
  uint64_t seed = 1;
  int threads = 0;
};

int run_synth(const Options& o) {
  flame::cli::apply_threads(o.threads);
  const auto type = flame::dtype_from_name(o.type);
  if (!type || (*type != flame::DType::F32 && *type != flame::DType::F16 && *type != flame::DType::BF16))
    throw flame::ArgumentError("synth", fmt::format("--type must be f32, f16 or bf16, got \"{}\"", o.type));
  const flame::LlamaConfig config = flame::synthetic_config(o.shape);
  fmt::print(stderr, "synth: {} ({:.2f} B parameters) {}\n", o.shape, config.n_params() / 1e9, config.summary());
  const flame::LlamaWeights weights = flame::random_weights(config, *type, o.seed);
  flame::gguf::Writer writer;
  writer.set("general.type", flame::gguf::Value::string("model"));
  writer.set("general.name", flame::gguf::Value::string(fmt::format("flame synthetic {} seed {}", o.shape, o.seed)));
  weights.to_gguf(writer);
  if (config.vocab_size == 128256) {  // Llama 3 special ids, as the real files carry them
    writer.set("tokenizer.ggml.bos_token_id", flame::gguf::Value::u32(128000));
    writer.set("tokenizer.ggml.eos_token_id", flame::gguf::Value::u32(128009));
  }
  const auto t0 = std::chrono::steady_clock::now();
  fmt::print(stderr, "synth: writing {} ...\n", o.output);
  writer.write(o.output);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print(stderr, "synth: wrote {} in {:.1f} s\n", o.output, s);
  return 0;
}

flame::cli::Registration reg{
    "synth", "Write a random-weight model in a real model's shape and layout", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("--shape", o->shape, "llama3.2-1b, llama3.2-3b, llama3.1-8b, small, tiny")->capture_default_str();
      app.add_option("--type", o->type, "f32, f16 or bf16")->capture_default_str();
      app.add_option("--seed", o->seed, "Random seed")->capture_default_str();
      app.add_option("-o,--output", o->output, "Output GGUF path")->required();
      flame::cli::add_threads_option(app, o->threads);
      return [o] { return run_synth(*o); };
    }};

}  // namespace
