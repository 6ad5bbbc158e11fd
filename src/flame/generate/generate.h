#pragma once
// The generation loop: prompt -> one forward pass -> sample, then one decode step per token until
// an end-of-generation id or the token limit.
//
//   GenerateOptions opts;  opts.max_tokens = 64;  opts.stop_ids = stop_token_ids(reader);
//   GenerateResult r = generate(session, prompt, sampler, opts, [](int32_t id) { print(id); });
//
// on_token may return false to stop early (e.g. Ctrl-C). The stop token itself is reported in
// `stop_reason` but not included in `tokens`.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "flame/generate/sampler.h"
#include "flame/model/inference.h"

namespace flame {
namespace gguf {
class Reader;
}

struct GenerateOptions {
  int64_t max_tokens = 128;
  std::vector<int32_t> stop_ids;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (stop id excluded)
  std::string stop_reason;      // "eos", "length", "context" or "callback"
  double prompt_seconds = 0, decode_seconds = 0;
};

GenerateResult generate(InferenceSession& session, const std::vector<int32_t>& prompt, Sampler& sampler,
                        const GenerateOptions& options, const std::function<bool(int32_t)>& on_token = {});

// End-of-generation ids from GGUF metadata: tokenizer.ggml.eos_token_id, tokenizer.ggml.eot_token_id,
// and Llama 3's <|eot_id|> / <|eom_id|> when the vocabulary has them.
std::vector<int32_t> stop_token_ids(const gguf::Reader& reader);

}  // namespace flame
