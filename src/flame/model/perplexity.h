#pragma once
// Perplexity over non-overlapping windows, scored like llama.cpp's `llama-perplexity`: each window
// of `ctx` tokens runs from position 0 (its first token replaced by BOS when bos >= 0), and only
// the second half is scored: for j in [ctx/2, ctx-1), -log p(token[j+1] | tokens[..j]).
// With a base (higher-precision) session it also reports the KL divergence KL(base || model) per
// scored token and how often both pick the same top token, to measure what a quant costs.
//
//   InferenceSession model(LlamaWeights::from_gguf(reader));
//   PerplexityResult r = perplexity(model, tokens, {.ctx = 512, .bos = tok.bos_id()});
//   fmt::print("ppl {:.4f} over {} tokens\n", r.ppl, r.tokens_scored);
#include <cstdint>
#include <functional>
#include <vector>

#include "flame/model/inference.h"

namespace flame {

struct PerplexityOptions {
  int64_t ctx = 512;
  int32_t bos = -1;        // replaces each window's first token when >= 0
  int64_t max_chunks = 0;  // 0 = every full window
};

struct PerplexityResult {
  double ppl = 0, nll = 0;  // nll: mean negative log-likelihood (nats) per scored token
  int64_t tokens_scored = 0, chunks = 0;
  std::vector<double> chunk_ppl;  // running perplexity after each window
  // With a base session only:
  bool has_base = false;
  double base_ppl = 0;
  double mean_kl = 0, max_kl = 0;  // nats
  double top1_agreement = 0;       // fraction of scored tokens where both argmaxes agree
};

// Throws ArgumentError when ctx < 4, ctx exceeds the session's context, or there are fewer than
// ctx tokens. `on_chunk(done, total)` is called after each window (progress).
PerplexityResult perplexity(InferenceSession& model, const std::vector<int32_t>& tokens,
                            const PerplexityOptions& options, InferenceSession* base = nullptr,
                            const std::function<void(int64_t, int64_t)>& on_chunk = {});

}  // namespace flame
