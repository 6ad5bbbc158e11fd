// `flame logits -m MODEL --tokens 1,2,3 [--all]`: the last (or every) position's logits as JSON.
// Floats print in their shortest round-trip form, so the JSON holds the exact f32 values.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "command.h"
#include "flame/model/inference.h"
#include "model_options.h"

namespace {

struct Options {
  bool no_repack = false;
  std::string model, tokens, kv_type = "f32";
  bool all = false;
  int threads = 0;
};

void print_row(std::FILE* out, const float* row, int64_t n) {
  std::fputc('[', out);
  for (int64_t i = 0; i < n; ++i) fmt::print(out, "{}{}", i ? "," : "", row[i]);
  std::fputc(']', out);
}

int run_logits(const Options& o) {
  flame::cli::apply_threads(o.threads);
  auto model = flame::cli::load_model(o.model, !o.no_repack);
  const auto tokens = flame::cli::parse_token_list(o.tokens);
  flame::InferenceSession session(std::move(model.weights), 0, flame::cli::kv_dtype(o.kv_type));
  const flame::Tensor& logits = session.forward(tokens.data(), static_cast<int64_t>(tokens.size()), 0, o.all);
  const int64_t vocab = logits.dim(1);
  if (o.all) {
    std::fputc('[', stdout);
    for (int64_t r = 0; r < logits.dim(0); ++r) {
      if (r) std::fputs(",\n", stdout);
      print_row(stdout, logits.row<float>(r), vocab);
    }
    std::fputs("]\n", stdout);
  } else {
    print_row(stdout, logits.row<float>(0), vocab);
    std::fputc('\n', stdout);
  }
  return 0;
}

flame::cli::Registration reg{"logits", "Print the logits of the last (or every) position as JSON", [](CLI::App& app) {
                               auto o = std::make_shared<Options>();
                               app.add_option("-m,--model", o->model, "GGUF model")->required();
                               app.add_option("--tokens", o->tokens, "Comma-separated token ids")->required();
                               app.add_flag("--all", o->all, "Every position's logits (an array of arrays)");
                               flame::cli::add_kv_type_option(app, o->kv_type);
                               flame::cli::add_threads_option(app, o->threads);
                               flame::cli::add_repack_option(app, o->no_repack);
                               return [o] { return run_logits(*o); };
                             }};

}  // namespace
