// `flame run -m MODEL (-p TEXT [--chat [--system S]] [--special] | --tokens 1,2,3) -n N [sampling]`.
// With -p the prompt is text (raw, BOS per the model's metadata; --chat wraps it in the model's chat
// template as one user turn) and the reply streams to stdout as text, whole UTF-8 characters only,
// ending at <|eot_id|>/EOS. With --tokens the generated ids print as a JSON array. Speed on stderr.
// Ctrl-C stops generation and still prints the summary.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "command.h"
#include "flame/generate/generate.h"
#include "flame/tokenizer/chat_template.h"
#include "flame/tokenizer/stream_decoder.h"
#include "flame/tokenizer/tokenizer.h"
#include "model_options.h"

namespace {

std::atomic<bool> g_interrupted{false};
void on_sigint(int) {
  g_interrupted.store(true);
}

struct Options {
  bool no_repack = false;
  std::string model, tokens, prompt, system;
  bool chat = false, special = false, has_system = false;
  int64_t max_tokens = 128;
  int64_t context = 0;
  std::string kv_type = "f32";
  int threads = 0;
  flame::SamplerParams sampling;
  int64_t seed = -1;
  bool stream = false;
};

int run_run(Options o) {
  flame::cli::apply_threads(o.threads);
  if (o.tokens.empty() == o.prompt.empty())
    throw flame::ArgumentError("run", "give exactly one of -p TEXT or --tokens IDS");
  if (!o.prompt.empty() || o.chat) {
    if (o.prompt.empty()) throw flame::ArgumentError("run", "--chat needs -p TEXT");
  }
  auto model = flame::cli::load_model(o.model, !o.no_repack);
  std::optional<flame::tokenizer::Tokenizer> tok;
  std::vector<int32_t> prompt;
  if (!o.prompt.empty()) {
    tok.emplace(flame::tokenizer::Tokenizer::from_gguf(model.reader));
    if (o.chat) {
      const flame::tokenizer::ChatFormat format = flame::tokenizer::ChatFormat::from_tokenizer(*tok);
      std::vector<flame::tokenizer::ChatMessage> messages;
      if (o.has_system) messages.push_back({"system", o.system});
      messages.push_back({"user", o.prompt});
      prompt = format.encode(messages, true);
    } else {
      prompt = tok->encode(o.prompt, {.add_bos = true, .parse_special = o.special});
    }
  } else {
    prompt = flame::cli::parse_token_list(o.tokens);
  }
  const int64_t vocab = model.weights.config.vocab_size;
  for (int32_t id : prompt)
    if (id >= vocab)
      throw flame::ArgumentError("--tokens",
                                 fmt::format("token id {} is out of range: the vocabulary has {} tokens", id, vocab));
  o.sampling.seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : std::random_device{}();
  flame::Sampler sampler(o.sampling);
  flame::GenerateOptions gen;
  gen.max_tokens = o.max_tokens;
  gen.stop_ids = flame::stop_token_ids(model.reader);
  if (tok)
    for (int32_t id : {tok->eos_id(), tok->eot_id()})
      if (id >= 0) gen.stop_ids.push_back(id);
  std::optional<flame::tokenizer::StreamDecoder> text_out;
  if (tok) text_out.emplace(*tok);
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  flame::InferenceSession session(std::move(model.weights), o.context, flame::cli::kv_dtype(o.kv_type));
  auto on_token = [&](int32_t id) {
    if (text_out && id < tok->vocab_size()) {
      const std::string text = text_out->push(id);
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    }
    if (o.stream) {
      fmt::print(stderr, "{} ", id);
      std::fflush(stderr);
    }
    return !g_interrupted.load();
  };
  const auto result = flame::generate(session, prompt, sampler, gen, on_token);
  if (o.stream) fmt::print(stderr, "\n");
  if (text_out) {
    const std::string tail = text_out->finish();
    fmt::print("{}\n", tail);
  } else {
    fmt::print("[{}]\n", fmt::join(result.tokens, ", "));
  }
  fmt::print(stderr, "prompt: {} tokens, {:.2f} tok/s | generated: {} tokens, {:.2f} tok/s | stop: {} | seed {}\n",
             prompt.size(), prompt.size() / std::max(result.prompt_seconds, 1e-9), result.tokens.size(),
             result.tokens.size() / std::max(result.decode_seconds, 1e-9), result.stop_reason, o.sampling.seed);
  return 0;
}

flame::cli::Registration reg{
    "run", "Generate tokens from a prompt", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "GGUF model")->required();
      app.add_option("-p,--prompt", o->prompt, "Prompt text (needs a model with a tokenizer)");
      app.add_flag("--chat", o->chat, "Wrap -p in the model's chat template (one user turn)");
      app.add_option("--system", o->system, "With --chat: a system message")->each([o](const std::string&) {
        o->has_system = true;
      });
      app.add_flag("--special", o->special, "Parse special-token text such as <|eot_id|> in a raw -p prompt");
      app.add_option("--tokens", o->tokens, "Prompt as comma-separated token ids");
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
      flame::cli::add_kv_type_option(app, o->kv_type);
      flame::cli::add_threads_option(app, o->threads);
      flame::cli::add_repack_option(app, o->no_repack);
      return [o] { return run_run(*o); };
    }};

}  // namespace
