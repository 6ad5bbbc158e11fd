#include "flame/generate/generate.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/io/gguf.h"

namespace flame {
namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

GenerateResult generate(InferenceSession& session, const std::vector<int32_t>& prompt, Sampler& sampler,
                        const GenerateOptions& options, const std::function<bool(int32_t)>& on_token) {
  if (prompt.empty()) throw ArgumentError("generate", "the prompt is empty");
  if (static_cast<int64_t>(prompt.size()) > session.context())
    throw ArgumentError(
        "generate", fmt::format("the prompt has {} tokens but the context holds {}", prompt.size(), session.context()));
  GenerateResult result;
  std::vector<int32_t> history = prompt;
  const int64_t vocab = session.config().vocab_size;

  auto t0 = std::chrono::steady_clock::now();
  session.reset();
  const Tensor* logits = &session.forward(prompt.data(), static_cast<int64_t>(prompt.size()), 0);
  result.prompt_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  result.stop_reason = "length";
  for (int64_t i = 0; i < options.max_tokens; ++i) {
    const int32_t next = sampler.sample(logits->data<float>(), vocab, history);
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), next) != options.stop_ids.end()) {
      result.stop_reason = "eos";
      break;
    }
    result.tokens.push_back(next);
    history.push_back(next);
    if (on_token && !on_token(next)) {
      result.stop_reason = "callback";
      break;
    }
    if (i + 1 == options.max_tokens) break;
    if (session.position() >= session.context()) {
      result.stop_reason = "context";
      break;
    }
    logits = &session.forward(&next, 1, session.position());
  }
  result.decode_seconds = seconds_since(t0);
  return result;
}

std::vector<int32_t> stop_token_ids(const gguf::Reader& reader) {
  std::vector<int32_t> ids;
  auto add = [&](int64_t id) {
    if (id >= 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(static_cast<int32_t>(id));
  };
  if (auto id = reader.get_int("tokenizer.ggml.eos_token_id")) add(*id);
  if (auto id = reader.get_int("tokenizer.ggml.eot_token_id")) add(*id);
  if (const gguf::Value* tokens = reader.find("tokenizer.ggml.tokens")) {
    // Llama 3 chat turns end with <|eot_id|> (128009) and tool calls with <|eom_id|> (128008).
    const auto& items = tokens->items();
    for (int64_t id : {128008, 128009}) {
      if (id < static_cast<int64_t>(items.size()) && items[id].type() == gguf::ValueType::STRING) {
        const std::string& text = items[id].as_string();
        if (text == "<|eot_id|>" || text == "<|eom_id|>") add(id);
      }
    }
  }
  return ids;
}

}  // namespace flame
