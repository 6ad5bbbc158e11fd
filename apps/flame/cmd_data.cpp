// `flame data -f CORPUS --tokenizer T -o DIR`: tokenize a text corpus into training shards.
#include <fmt/format.h>

#include "command.h"
#include "flame/core/progress.h"
#include "flame/train/prepare_data.h"

namespace {

struct Options {
  flame::PrepareDataOptions data;
  int threads = 0;
};

flame::cli::Registration reg{
    "data", "Tokenize a text corpus into uint32 shards with a validation split and manifest.json", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-f,--file", o->data.corpus, "UTF-8 text corpus")->required();
      app.add_option("--tokenizer", o->data.tokenizer, "Tokenizer (GGUF or tokenizer.json)")->required();
      app.add_option("-o,--out", o->data.out_dir, "Output folder for shards and manifest.json")->required();
      app.add_option("--block-tokens", o->data.block_tokens, "Tokens per train/validation block")
          ->capture_default_str();
      app.add_option("--val-every", o->data.val_every, "Every N-th block is validation")->capture_default_str();
      flame::cli::add_threads_option(app, o->threads);
      return [o] {
        flame::cli::apply_threads(o->threads);
        const flame::Manifest m = flame::prepare_data(o->data);
        fmt::print("{}: {} training tokens in {} shard(s), {} validation tokens, vocabulary {}, tokenizer {}\n", m.dir,
                   m.train_tokens, m.train.size(), m.val_tokens, m.vocab_size, m.tokenizer_hash);
        return 0;
      };
    }};

}  // namespace
