// `flame export CHECKPOINT --gguf OUT | --safetensors DIR`: publish a trained model.
#include <fmt/format.h>

#include "command.h"
#include "flame/core/error.h"
#include "flame/train/export.h"

namespace {

struct Options {
  std::string checkpoint, gguf, safetensors, tokenizer;
};

flame::cli::Registration reg{
    "export", "Export a training checkpoint to GGUF (tokenizer embedded) or a Hugging Face folder", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("checkpoint", o->checkpoint, "Run folder or checkpoint .gguf")->required();
      auto* g = app.add_option("--gguf", o->gguf, "Output GGUF file");
      auto* s = app.add_option("--safetensors", o->safetensors,
                               "Output folder (model.safetensors, config.json, tokenizer.json and its HF companions)");
      app.add_option("--tokenizer", o->tokenizer, "Tokenizer to embed (default: the run's)");
      g->excludes(s);
      s->excludes(g);
      return [o] {
        if (o->gguf.empty() && o->safetensors.empty())
          throw flame::ArgumentError("export", "give --gguf OUT or --safetensors DIR");
        if (!o->gguf.empty()) {
          flame::export_gguf(o->checkpoint, o->gguf, o->tokenizer);
          fmt::print("wrote {}\n", o->gguf);
        } else {
          flame::export_hf(o->checkpoint, o->safetensors, o->tokenizer);
          fmt::print(
              "wrote {}/model.safetensors, config.json, tokenizer.json, tokenizer_config.json, "
              "special_tokens_map.json, generation_config.json\n",
              o->safetensors);
        }
        return 0;
      };
    }};

}  // namespace
