#include "flame/train/samples.h"

#include <fmt/format.h>

#include "flame/generate/generate.h"
#include "flame/generate/sampler.h"
#include "flame/model/inference.h"
#include "flame/tokenizer/tokenizer.h"

namespace flame {

struct SampleWriter::Impl {
  tokenizer::Tokenizer tok;
  std::vector<std::string> prompts;
  int64_t max_tokens;
  uint64_t seed;
};

SampleWriter::SampleWriter(const std::string& tokenizer_path, std::vector<std::string> prompts, int64_t max_tokens,
                           uint64_t seed)
    : impl_(new Impl{tokenizer::Tokenizer::load(tokenizer_path), std::move(prompts), max_tokens, seed}) {}

SampleWriter::~SampleWriter() = default;

std::vector<std::string> SampleWriter::generate(const LlamaWeights& params) const {
  std::vector<std::string> out;
  const auto& tok = impl_->tok;
  for (const auto& prompt : impl_->prompts) {
    std::vector<int32_t> ids = tok.encode(prompt, {.add_bos = true, .parse_special = false});
    const int64_t room = params.config.context_length - static_cast<int64_t>(ids.size());
    if (ids.empty() || room <= 0) continue;
    // Tensors are shared, not copied: the session only reads them, and training is paused.
    InferenceSession session(params, params.config.context_length);
    SamplerParams sp;
    sp.temperature = 0.8f;
    sp.top_k = 40;
    sp.top_p = 0.95f;
    sp.min_p = 0.05f;
    sp.repeat_penalty = 1.1f;
    sp.seed = impl_->seed;
    Sampler sampler(sp);
    GenerateOptions g;
    g.max_tokens = std::min(impl_->max_tokens, room);
    if (tok.eos_id() >= 0) g.stop_ids.push_back(tok.eos_id());
    const GenerateResult r = flame::generate(session, ids, sampler, g);
    out.push_back(prompt + tok.decode(r.tokens, /*skip_special=*/true));
  }
  return out;
}

}  // namespace flame
