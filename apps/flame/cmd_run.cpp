// `flame run -m MODEL --tokens 1,2,3 -n N [sampling flags]`: generates token ids.
// Prints the generated ids as a JSON array on stdout (text once a tokenizer is wired in) and the
// speed on stderr.
#include <cstdio>
#include <memory>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "command.h"
#include "flame/generate/generate.h"
#include "model_options.h"

namespace {

struct Options {
  std::string model, tokens;
  int64_t max_tokens = 128;
  int64_t context = 0;
  int threads = 0;
  flame::SamplerParams sampling;
  int64_t seed = -1;
  bool stream = false;
};

int run_run(Options o) {
  flame::cli::apply_threads(o.threads);
  auto model = flame::cli::load_model(o.model);
  const auto prompt = flame::cli::parse_token_list(o.tokens);
  o.sampling.seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : std::random_device{}();
  flame::Sampler sampler(o.sampling);
  flame::GenerateOptions gen;
  gen.max_tokens = o.max_tokens;
  gen.stop_ids = flame::stop_token_ids(model.reader);
  flame::InferenceSession session(std::move(model.weights), o.context);
  auto on_token = [&](int32_t id) {
    if (o.stream) {
      fmt::print(stderr, "{} ", id);
      std::fflush(stderr);
    }
    return true;
  };
  const auto result = flame::generate(session, prompt, sampler, gen, on_token);
  if (o.stream) fmt::print(stderr, "\n");
  fmt::print("[{}]\n", fmt::join(result.tokens, ", "));
  fmt::print(stderr, "prompt: {} tokens, {:.2f} tok/s | generated: {} tokens, {:.2f} tok/s | stop: {} | seed {}\n",
             prompt.size(), prompt.size() / std::max(result.prompt_seconds, 1e-9), result.tokens.size(),
             result.tokens.size() / std::max(result.decode_seconds, 1e-9), result.stop_reason, o.sampling.seed);
  return 0;
}

flame::cli::Registration reg{
    "run", "Generate tokens from a prompt", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "GGUF model")->required();
      app.add_option("--tokens", o->tokens, "Prompt as comma-separated token ids")->required();
      app.add_option("-n,--n-predict", o->max_tokens, "Maximum tokens to generate")->check(CLI::NonNegativeNumber);
      app.add_option("-c,--ctx", o->context, "Context size (default: min(model, 4096))");
      app.add_option("--temp", o->sampling.temperature, "Temperature (0 = greedy)")->capture_default_str();
      app.add_option("--top-k", o->sampling.top_k, "Top-k (0 = off)")->capture_default_str();
      app.add_option("--top-p", o->sampling.top_p, "Top-p (1 = off)")->capture_default_str();
      app.add_option("--min-p", o->sampling.min_p, "Min-p (0 = off)")->capture_default_str();
      app.add_option("--repeat-penalty", o->sampling.repeat_penalty, "Repetition penalty (1 = off)")
          ->capture_default_str();
      app.add_option("--repeat-last-n", o->sampling.repeat_last_n, "Tokens the penalty looks back over")
          ->capture_default_str();
      app.add_option("--seed", o->seed, "Sampling seed (default: random, printed)");
      app.add_flag("--stream", o->stream, "Print ids to stderr as they are generated");
      flame::cli::add_threads_option(app, o->threads);
      return [o] { return run_run(*o); };
    }};

}  // namespace
