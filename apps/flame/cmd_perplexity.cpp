// `flame perplexity -m MODEL (-f FILE | --tokens-file IDS) [--ctx 512] [--chunks N] [--kl-base MODEL]`:
// perplexity over non-overlapping windows scored like llama.cpp (second half of each window), and
// with --kl-base the KL divergence against a higher-precision model of the same vocabulary.
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "command.h"
#include "flame/core/error.h"
#include "flame/core/progress.h"
#include "flame/io/gguf.h"
#include "flame/model/perplexity.h"
#include "flame/tokenizer/tokenizer.h"
#include "model_options.h"

namespace {

struct Options {
  bool no_repack = false;
  std::string model, text_file, tokens_file, tokenizer, kl_base, kv_type = "f32";
  int64_t ctx = 512, chunks = 0;
  int32_t bos = -2;  // -2: the tokenizer's BOS (text input) / none (ids input); -1: none
  bool json = false;
  int threads = 0;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw flame::IoError(path, "cannot open for reading");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Whitespace- or comma-separated token ids (a JSON array also parses: brackets are separators).
std::vector<int32_t> read_token_ids(const std::string& path) {
  std::string text = read_file(path);
  for (char& c : text)
    if (c == ',' || c == '[' || c == ']' || c == '\n' || c == '\r' || c == '\t') c = ' ';
  std::vector<int32_t> ids;
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    const auto parsed = flame::cli::parse_token_list(item);
    ids.insert(ids.end(), parsed.begin(), parsed.end());
  }
  return ids;
}

int run_perplexity(const Options& o) {
  if (o.text_file.empty() == o.tokens_file.empty())
    throw flame::ArgumentError("perplexity", "give exactly one of -f FILE (text) or --tokens-file FILE (ids)");
  auto model = flame::cli::load_model(o.model, !o.no_repack);
  std::vector<int32_t> tokens;
  int32_t bos = o.bos == -2 ? -1 : o.bos;
  if (!o.text_file.empty()) {
    const auto tok = o.tokenizer.empty() ? flame::tokenizer::Tokenizer::from_gguf(model.reader)
                                         : flame::tokenizer::Tokenizer::load(o.tokenizer);
    tok.encode_ordinary(read_file(o.text_file), tokens);
    if (o.bos == -2) bos = tok.bos_id();
  } else {
    tokens = read_token_ids(o.tokens_file);
  }
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] >= model.weights.config.vocab_size)
      throw flame::ArgumentError("perplexity", fmt::format("token id {} at index {} is outside the vocabulary of {}",
                                                           tokens[i], i, model.weights.config.vocab_size));
  // Positions past the trained context are extrapolation the model never saw: a window that long
  // would measure something else, so it is refused rather than silently scored.
  const int64_t trained = model.weights.config.context_length;
  if (trained > 0 && o.ctx > trained)
    throw flame::ArgumentError("perplexity",
                               fmt::format("--ctx {} exceeds the model's context length {}", o.ctx, trained));
  const int64_t context = std::max<int64_t>(o.ctx, 1);
  flame::InferenceSession session(std::move(model.weights), context, flame::cli::kv_dtype(o.kv_type));
  std::unique_ptr<flame::InferenceSession> base;
  if (!o.kl_base.empty()) {
    auto b = flame::cli::load_model(o.kl_base, !o.no_repack);
    base = std::make_unique<flame::InferenceSession>(std::move(b.weights), context);
  }
  const int64_t windows = o.chunks > 0 ? std::min<int64_t>(o.chunks, tokens.size() / context) : tokens.size() / context;
  flame::Progress progress("perplexity", windows, "windows");
  flame::PerplexityOptions opts{.ctx = o.ctx, .bos = bos, .max_chunks = o.chunks};
  const auto r =
      flame::perplexity(session, tokens, opts, base.get(), [&](int64_t done, int64_t) { progress.update(done); });
  progress.finish();
  if (o.json) {
    nlohmann::json j{{"model", o.model}, {"ctx", o.ctx}, {"chunks", r.chunks},      {"tokens_scored", r.tokens_scored},
                     {"ppl", r.ppl},     {"nll", r.nll}, {"chunk_ppl", r.chunk_ppl}};
    if (r.has_base)
      j.update({{"base", o.kl_base},
                {"base_ppl", r.base_ppl},
                {"mean_kl", r.mean_kl},
                {"max_kl", r.max_kl},
                {"top1_agreement", r.top1_agreement}});
    fmt::print("{}\n", j.dump());
    return 0;
  }
  fmt::print("perplexity: {:.4f} over {} tokens ({} windows of {}, second halves scored)\n", r.ppl, r.tokens_scored,
             r.chunks, o.ctx);
  if (r.has_base)
    fmt::print("base perplexity: {:.4f}\nKL(base || model): mean {:.6f} nats, max {:.6f}\nsame top token: {:.2f}%\n",
               r.base_ppl, r.mean_kl, r.max_kl, 100.0 * r.top1_agreement);
  return 0;
}

flame::cli::Registration reg{
    "perplexity", "Perplexity over non-overlapping windows; KL divergence against a base model", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "GGUF model")->required();
      app.add_option("-f,--file", o->text_file,
                     "text file to score (invalid UTF-8 bytes become byte tokens, see docs/tokenizer.md)");
      app.add_option("--tokens-file", o->tokens_file, "token ids (whitespace/comma separated) instead of text");
      app.add_option("--tokenizer", o->tokenizer, "tokenizer (GGUF or tokenizer.json) if the model has none");
      app.add_option("--ctx", o->ctx, "window length")->capture_default_str();
      app.add_option("--chunks", o->chunks, "score at most this many windows (0 = all)");
      app.add_option("--bos", o->bos,
                     "token that starts each window (-1 = none; default: the tokenizer's BOS for text)");
      app.add_option("--kl-base", o->kl_base, "higher-precision model: report KL(base || model) and top-1 agreement");
      app.add_flag("--json", o->json, "JSON output");
      flame::cli::add_kv_type_option(app, o->kv_type);  // the --kl-base model keeps an F32 cache
      flame::cli::add_threads_option(app, o->threads);
      flame::cli::add_repack_option(app, o->no_repack);
      return [o] {
        flame::cli::apply_threads(o->threads);
        return run_perplexity(*o);
      };
    }};

}  // namespace
