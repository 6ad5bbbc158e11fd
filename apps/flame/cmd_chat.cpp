// `flame chat -m MODEL [--system TEXT]`: interactive chat with a Llama 3.x instruct model. Keeps the
// conversation in the KV cache, reports context use after each reply and refuses a message that
// no longer fits. Ctrl-C stops the current reply (the turn is closed, the chat goes on); Ctrl-D or
// /quit ends; /reset starts a new conversation.
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <random>
#include <string>

#include <unistd.h>

#include <fmt/format.h>

#include "command.h"
#include "flame/core/error.h"
#include "flame/generate/chat_session.h"
#include "flame/generate/generate.h"
#include "flame/tokenizer/chat_template.h"
#include "model_options.h"

namespace {

std::atomic<bool> g_interrupted{false};
void on_sigint(int) {
  g_interrupted.store(true);
}

enum class ReadResult { Line, Interrupted, End };

// Reads one line from standard input with read(2), so that Ctrl-C at the prompt (EINTR, no
// SA_RESTART) is told apart from end of input; iostreams report both as a failed getline.
ReadResult read_line(std::string& line) {
  static std::string pending;
  line.clear();
  for (;;) {
    const auto newline = pending.find('\n');
    if (newline != std::string::npos) {
      line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      return ReadResult::Line;
    }
    char buf[4096];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n > 0) {
      pending.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      if (g_interrupted.load()) return ReadResult::Interrupted;
    } else {  // end of input (or an unreadable stdin): a last unterminated line still counts
      if (pending.empty()) return ReadResult::End;
      line.swap(pending);
      return ReadResult::Line;
    }
  }
}

struct Options {
  bool no_repack = false;
  std::string model, system, chat_template, date;
  bool has_system = false;
  int64_t max_tokens = 1024, context = 0, seed = -1;
  std::string kv_type = "f32";
  int threads = 0;
  flame::SamplerParams sampling;
};

int run_chat(Options o) {
  flame::cli::apply_threads(o.threads);
  auto model = flame::cli::load_model(o.model, !o.no_repack);
  const auto tok = flame::tokenizer::Tokenizer::from_gguf(model.reader);
  const auto kind = o.chat_template.empty() ? flame::tokenizer::detect_chat_template(tok.spec().chat_template)
                                            : flame::tokenizer::chat_template_from_name(o.chat_template);
  o.sampling.seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : std::random_device{}();
  flame::Sampler sampler(o.sampling);
  const auto stops = flame::stop_token_ids(model.reader);
  flame::InferenceSession session(std::move(model.weights), o.context, flame::cli::kv_dtype(o.kv_type));
  flame::ChatSession chat(session, tok, flame::tokenizer::ChatFormat(tok, kind, o.date), sampler,
                          o.has_system ? std::optional<std::string>(o.system) : std::nullopt, stops);

  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: Ctrl-C at the prompt interrupts the read
  sigaction(SIGINT, &sa, nullptr);

  fmt::print(stderr,
             "flame chat: template {}, context {} tokens, seed {}. Ctrl-C stops a reply; /reset, /quit or Ctrl-D.\n",
             flame::tokenizer::chat_template_name(kind), chat.context_size(), o.sampling.seed);
  std::string line;
  while (true) {
    fmt::print(stderr, "> ");
    std::fflush(stderr);
    g_interrupted.store(false);
    const ReadResult got = read_line(line);
    if (got == ReadResult::Interrupted) {  // Ctrl-C at the prompt: stay
      fmt::print(stderr, "\n(/quit or Ctrl-D to exit)\n");
      continue;
    }
    if (got == ReadResult::End) {
      fmt::print(stderr, "\n");
      return 0;
    }
    if (line == "/quit" || line == "/exit") return 0;
    if (line == "/reset") {
      chat.reset();
      fmt::print(stderr, "(new conversation)\n");
      continue;
    }
    if (line.empty()) continue;
    try {
      const auto r = chat.reply(
          line, o.max_tokens,
          [](std::string_view text) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
          },
          &g_interrupted);
      fmt::print("\n");
      std::fflush(stdout);
      const double tps = r.tokens.size() / std::max(r.decode_seconds, 1e-9);
      fmt::print(stderr, "[{} tokens, {:.1f} tok/s, stop: {}, context {}/{}]\n", r.tokens.size(), tps, r.stop_reason,
                 chat.context_used(), chat.context_size());
      if (r.stop_reason == "context") fmt::print(stderr, "The context is full: /reset to start a new conversation.\n");
    } catch (const flame::ArgumentError& e) {
      fmt::print(stderr, "{}\n", e.what());  // message too long for the remaining context
    }
  }
}

flame::cli::Registration reg{
    "chat", "Chat interactively with an instruct model", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "GGUF model with a tokenizer")->required();
      app.add_option("--system", o->system, "System message")->each([o](const std::string&) { o->has_system = true; });
      app.add_option("-n,--n-predict", o->max_tokens, "Maximum tokens per reply")->check(CLI::PositiveNumber);
      app.add_option("-c,--ctx", o->context, "Context size (default: min(model, 4096))");
      app.add_option("--chat-template", o->chat_template,
                     "Force llama3, llama3.1 or llama3.2 (default: from the model)");
      app.add_option("--date", o->date, "'Today Date' for the Llama 3.1/3.2 system preamble");
      app.add_option("--temp", o->sampling.temperature, "Temperature (0 = greedy)")->capture_default_str();
      app.add_option("--top-k", o->sampling.top_k, "Top-k (0 = off)")->capture_default_str();
      app.add_option("--top-p", o->sampling.top_p, "Top-p (1 = off)")->capture_default_str();
      app.add_option("--min-p", o->sampling.min_p, "Min-p (0 = off)")->capture_default_str();
      app.add_option("--seed", o->seed, "Sampling seed (default: random, printed)");
      flame::cli::add_kv_type_option(app, o->kv_type);
      flame::cli::add_threads_option(app, o->threads);
      flame::cli::add_repack_option(app, o->no_repack);
      return [o] { return run_chat(*o); };
    }};

}  // namespace
