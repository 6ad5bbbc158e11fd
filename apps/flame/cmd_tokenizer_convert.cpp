// `flame tokenizer-convert IN OUT`: tokenizer.json <-> tokenizer-only GGUF (by OUT's extension).
#include <fmt/format.h>

#include "command.h"
#include "flame/tokenizer/tokenizer.h"

namespace {
flame::cli::Registration reg{
    "tokenizer-convert", "Convert a tokenizer between GGUF and tokenizer.json", [](CLI::App& app) {
      auto in = std::make_shared<std::string>();
      auto out = std::make_shared<std::string>();
      app.add_option("input", *in, "GGUF model/tokenizer or tokenizer.json")->required();
      app.add_option("output", *out, "Output: *.json for tokenizer.json, otherwise GGUF")->required();
      return [in, out] {
        const auto tok = flame::tokenizer::Tokenizer::load(*in);
        tok.save(*out);
        fmt::print(stderr, "wrote {} ({} tokens, {} merges)\n", *out, tok.vocab_size(), tok.spec().merges.size());
        return 0;
      };
    }};
}
