// `flame train CONFIG.toml [--set key=value ...] [--resume DIR]`: train a Llama model.
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "command.h"
#include "flame/train/samples.h"
#include "flame/train/shards.h"
#include "flame/train/trainer.h"

namespace {

struct Options {
  std::string config;
  std::vector<std::string> overrides;
  std::string resume, dump_grads;
  std::vector<std::string> samples;
  int64_t sample_tokens = 48;
  double peak_gflops = 0.0;
  int threads = 0;
};

flame::cli::Registration reg{
    "train", "Train a Llama model from a TOML config (Ctrl-C saves a checkpoint; --resume continues)",
    [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("config", o->config, "Training config (TOML)")->required();
      app.add_option("--set", o->overrides, "Override a config key: section.key=value or key=value (repeatable)");
      app.add_option("--resume", o->resume, "Run folder (or checkpoint .gguf) to continue bit-exactly");
      app.add_option("--dump-grads", o->dump_grads,
                     "Write every parameter's gradient after the first step (safetensors, HF names) and stop");
      app.add_option("--peak-gflops", o->peak_gflops,
                     "fp32 GEMM peak used for MFU (default: run.peak_gflops, else measured at start)");
      app.add_option("--sample", o->samples, "Prompt to continue at every evaluation (repeatable)");
      app.add_option("--sample-tokens", o->sample_tokens, "Tokens per sample")->capture_default_str();
      flame::cli::add_threads_option(app, o->threads);
      return [o] {
        flame::cli::apply_threads(o->threads);
        flame::TrainOptions t;
        t.config = flame::TrainConfig::from_toml_file(o->config);
        for (const auto& s : o->overrides) t.config.apply_override(s);
        t.resume_dir = o->resume;
        t.dump_grads = o->dump_grads;
        t.peak_gflops = o->peak_gflops;
        std::shared_ptr<flame::SampleWriter> samples;
        if (!o->samples.empty()) {
          std::string tokenizer = t.config.tokenizer;
          if (tokenizer.empty()) tokenizer = flame::Manifest::load(t.config.data_dir).tokenizer_path;
          samples = std::make_shared<flame::SampleWriter>(tokenizer, o->samples, o->sample_tokens);
          const bool tty = isatty(fileno(stderr));
          t.on_eval = [samples, tty](int64_t step, double, const flame::LlamaWeights& params) {
            for (const auto& text : samples->generate(params)) {
              std::string one_line = text;
              for (char& c : one_line)
                if (c == '\n') c = ' ';
              flame::print_above_progress(tty ? fmt::format("  sample @{}: \x1b[3m{}\x1b[0m", step, one_line)
                                              : fmt::format("  sample @{}: {}", step, one_line));
            }
          };
        }
        const flame::TrainResult r = flame::run_training(t);
        if (r.interrupted) return 130;
        return 0;
      };
    }};

}  // namespace
