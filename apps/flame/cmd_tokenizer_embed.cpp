// `flame tokenizer-embed MODEL.gguf TOKENIZER OUT.gguf`: a copy of MODEL with TOKENIZER's metadata
// (tokenizer.* keys) replacing its own, e.g. to give a trained or synthetic model its tokenizer.
#include <fmt/format.h>

#include "command.h"
#include "flame/core/error.h"
#include "flame/io/gguf.h"
#include "flame/tokenizer/tokenizer.h"

namespace {

int run(const std::string& model_path, const std::string& tokenizer_path, const std::string& out) {
  const auto model = flame::gguf::Reader::open(model_path);
  const auto tok = flame::tokenizer::Tokenizer::load(tokenizer_path);
  if (const auto vocab = model.get_int("llama.vocab_size"); vocab && *vocab < tok.vocab_size())
    throw flame::ArgumentError(
        "tokenizer-embed",
        fmt::format("the tokenizer has {} tokens but the model's vocabulary only {}", tok.vocab_size(), *vocab));
  flame::gguf::Writer w(static_cast<uint32_t>(model.alignment()));
  for (const auto& [key, value] : model.metadata())
    if (key.rfind("tokenizer.", 0) != 0) w.set(key, value);
  tok.add_to_gguf(w);
  for (const auto& info : model.tensors()) w.add_tensor(info.name, model.tensor(info.name));
  w.write(out);
  fmt::print(stderr, "wrote {} ({} tensors, tokenizer with {} tokens)\n", out, model.tensors().size(),
             tok.vocab_size());
  return 0;
}

flame::cli::Registration reg{"tokenizer-embed", "Copy a model with a tokenizer's metadata put into it",
                             [](CLI::App& app) {
                               auto args = std::make_shared<std::array<std::string, 3>>();
                               app.add_option("model", (*args)[0], "GGUF model")->required();
                               app.add_option("tokenizer", (*args)[1], "Tokenizer: GGUF or tokenizer.json")->required();
                               app.add_option("output", (*args)[2], "Output GGUF")->required();
                               return [args] { return run((*args)[0], (*args)[1], (*args)[2]); };
                             }};

}  // namespace
