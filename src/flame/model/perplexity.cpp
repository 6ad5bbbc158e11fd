// Windowed perplexity and KL divergence; see perplexity.h.
#include "flame/model/perplexity.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "flame/core/error.h"

namespace flame {
namespace {

// log-softmax of one row in double (vocabularies of 128k make float sums lose digits).
void log_softmax(const float* logits, int64_t n, std::vector<double>& out) {
  out.resize(static_cast<size_t>(n));
  double max = logits[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, static_cast<double>(logits[i]));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(logits[i] - max);
  const double log_z = max + std::log(sum);
  for (int64_t i = 0; i < n; ++i) out[i] = logits[i] - log_z;
}

int64_t argmax(const float* x, int64_t n) {
  return std::max_element(x, x + n) - x;
}

}  // namespace

PerplexityResult perplexity(InferenceSession& model, const std::vector<int32_t>& tokens,
                            const PerplexityOptions& options, InferenceSession* base,
                            const std::function<void(int64_t, int64_t)>& on_chunk) {
  const int64_t ctx = options.ctx;
  if (ctx < 4) throw ArgumentError("perplexity", fmt::format("context {} is too small (need at least 4)", ctx));
  if (ctx > model.context() || (base && ctx > base->context()))
    throw ArgumentError("perplexity", fmt::format("context {} exceeds the model's context {}", ctx, model.context()));
  if (static_cast<int64_t>(tokens.size()) < ctx)
    throw ArgumentError("perplexity", fmt::format("{} tokens is less than one window of {}", tokens.size(), ctx));
  const int64_t vocab = model.config().vocab_size;
  if (base && base->config().vocab_size != vocab)
    throw ArgumentError("perplexity", fmt::format("base model vocabulary {} differs from the model's {}",
                                                  base->config().vocab_size, vocab));
  int64_t chunks = static_cast<int64_t>(tokens.size()) / ctx;
  if (options.max_chunks > 0) chunks = std::min(chunks, options.max_chunks);

  PerplexityResult r;
  r.has_base = base != nullptr;
  double nll_sum = 0, base_nll_sum = 0, kl_sum = 0;
  int64_t agree = 0;
  std::vector<int32_t> window(static_cast<size_t>(ctx));
  std::vector<double> lp, base_lp;
  std::vector<float> base_logits;
  const int64_t first = ctx / 2;
  for (int64_t c = 0; c < chunks; ++c) {
    std::copy(tokens.begin() + c * ctx, tokens.begin() + (c + 1) * ctx, window.begin());
    if (options.bos >= 0) window[0] = options.bos;
    if (base) {
      const Tensor& bl = base->forward(window.data(), ctx, 0, true);
      base_logits.assign(bl.data<float>(), bl.data<float>() + ctx * vocab);
    }
    const Tensor& logits = model.forward(window.data(), ctx, 0, true);
    for (int64_t j = first; j < ctx - 1; ++j) {
      const float* row = logits.data<float>() + j * vocab;
      log_softmax(row, vocab, lp);
      const int32_t next = window[j + 1];
      nll_sum -= lp[next];
      if (base) {
        const float* brow = base_logits.data() + j * vocab;
        log_softmax(brow, vocab, base_lp);
        base_nll_sum -= base_lp[next];
        double kl = 0;
        for (int64_t v = 0; v < vocab; ++v) kl += std::exp(base_lp[v]) * (base_lp[v] - lp[v]);
        kl_sum += kl;
        r.max_kl = std::max(r.max_kl, kl);
        agree += argmax(row, vocab) == argmax(brow, vocab);
      }
      ++r.tokens_scored;
    }
    r.chunks = c + 1;
    r.chunk_ppl.push_back(std::exp(nll_sum / r.tokens_scored));
    if (on_chunk) on_chunk(c + 1, chunks);
  }
  r.nll = nll_sum / r.tokens_scored;
  r.ppl = std::exp(r.nll);
  if (base) {
    r.base_ppl = std::exp(base_nll_sum / r.tokens_scored);
    r.mean_kl = kl_sum / r.tokens_scored;
    r.top1_agreement = static_cast<double>(agree) / r.tokens_scored;
  }
  return r;
}

}  // namespace flame
