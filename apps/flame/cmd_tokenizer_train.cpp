// `flame tokenizer-train -f CORPUS --vocab N -o FILE`: train a byte-level BPE tokenizer (Llama 3
// pre-tokenizer, reserved chat special tokens). FILE: *.json -> tokenizer.json, otherwise a
// tokenizer-only GGUF (usable by `flame tokenize --tokenizer`, `flame data`, and embedded on export).
#include <fmt/format.h>

#include "command.h"
#include "flame/core/memory.h"
#include "flame/tokenizer/trainer.h"

namespace {

struct Options {
  std::string corpus, output, pre = "llama-bpe";
  int32_t vocab = 8192;
  int threads = 0;
  bool quiet = false;
};

int run(const Options& o) {
  flame::cli::apply_threads(o.threads);
  const auto file = flame::MappedFile::open(o.corpus);
  const std::string_view text(reinterpret_cast<const char*>(file->data()), file->size());
  flame::tokenizer::TrainerOptions opt;
  opt.vocab_size = o.vocab;
  opt.pre = flame::tokenizer::pre_tokenizer_from_name(o.pre);
  opt.show_progress = !o.quiet;
  flame::tokenizer::TrainerStats stats;
  const auto tok = flame::tokenizer::train_bpe(text, opt, &stats);
  tok.save(o.output);
  fmt::print(stderr,
             "tokenizer-train: {} bytes, {} pre-tokens ({} distinct) counted in {:.2f} s; {} merges in {:.2f} s; "
             "vocabulary {} -> {}\n",
             stats.corpus_bytes, stats.pre_tokens, stats.unique_pre_tokens, stats.count_seconds, stats.merges,
             stats.merge_seconds, tok.vocab_size(), o.output);
  if (tok.vocab_size() < o.vocab)
    fmt::print(stderr, "tokenizer-train: note: the corpus ran out of pairs; vocabulary is {} < {}\n", tok.vocab_size(),
               o.vocab);
  return 0;
}

flame::cli::Registration reg{
    "tokenizer-train", "Train a byte-level BPE tokenizer on a text corpus", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-f,--file", o->corpus, "Training text (UTF-8)")->required();
      app.add_option("--vocab", o->vocab, "Vocabulary size including special tokens")->check(CLI::Range(261, 1 << 20));
      app.add_option("-o,--output", o->output, "Output: *.json (tokenizer.json) or GGUF")->required();
      app.add_option("--pre", o->pre, "Pre-tokenizer: llama-bpe (default) or gpt2");
      app.add_flag("-q,--quiet", o->quiet, "No progress display");
      flame::cli::add_threads_option(app, o->threads);
      return [o] { return run(*o); };
    }};

}  // namespace
