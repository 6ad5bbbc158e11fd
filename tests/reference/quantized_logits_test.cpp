// A model quantized by `flame quantize` against the PyTorch float64 logits of its F32 original
// (tests/reference/llama_reference.py): the quantization error must stay within what each type's
// weight error implies, and must grow in the expected order Q8_0 < Q6_K < Q5_K_M < Q4_K_M.
//
// Expected error per type, derived: the round-trip tests measure each format's relative RMS weight
// error on Gaussian weights (Q8_0 0.5%, Q6_K 1.8%, Q5_K 3.6%, Q4_K 7.2%, Q4_0 8.6%); decode also
// quantizes activations to 8 bits (~0.5%). Random-weight layers mix errors from ~7 independent
// matrices per layer, each perturbing its output by about its relative weight error, so the
// logits' relative RMS error is of the order of the weight error, amplified by the few random
// layers and RMSNorms of these tiny models (measured 1.5-2.8x). Bounds: about 3x (4.5x for Q8_0,
// whose activation rounding is of the same size as its weight error) the weight error: Q8_0 2.5%,
// Q6_K 5.5%, Q5_K_M 11%, Q4_K_M 22%, Q4_0 26%. A layout bug (a wrong nibble order, a swapped
// scale) gives O(100%). The dim-96 model exercises the fallbacks (K types -> Q5_0/Q5_1/Q8_0).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "flame/core/error.h"
#include "flame/io/gguf.h"
#include "flame/model/inference.h"
#include "flame/model/perplexity.h"
#include "support/llama_reference_models.h"
#include "support/test_support.h"

namespace flame {
namespace {

using Model = test::ReferenceModel;

// The F32 reference models (the F16/BF16 copies hold the same weights rounded).
const std::vector<Model>& f32_models() {
  static const std::vector<Model> models = [] {
    std::vector<Model> out;
    for (const auto& m : test::llama_reference_models("quant_reference"))
      if (m.dtype == "f32") out.push_back(m);
    return out;
  }();
  return models;
}

// Relative RMS error of flame's logits over the first 32 positions: 24 as one prompt (the
// dequantize+sgemm path) and 8 single-token decode steps (the integer dot-product path).
double logits_error(const std::string& path, const Model& ref) {
  InferenceSession session(LlamaWeights::from_gguf(gguf::Reader::open(path)));
  const int64_t prompt = 24, steps = 8;
  std::vector<float> got;
  const Tensor& first = session.forward(ref.tokens.data(), prompt, 0, true);
  got.assign(first.data<float>(), first.data<float>() + prompt * ref.vocab);
  for (int64_t i = prompt; i < prompt + steps; ++i) {
    const Tensor& l = session.forward(&ref.tokens[i], 1, i);
    got.insert(got.end(), l.data<float>(), l.data<float>() + ref.vocab);
  }
  double err2 = 0, ref2 = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    err2 += (got[i] - ref.logits[i]) * (got[i] - ref.logits[i]);
    ref2 += static_cast<double>(ref.logits[i]) * ref.logits[i];
  }
  return std::sqrt(err2 / ref2);
}

TEST(QuantizedLogits, WithinPerTypeBoundAndOrdered) {
  const std::map<std::string, double> bounds = {
      {"Q8_0", 0.025}, {"Q6_K", 0.055}, {"Q5_K_M", 0.11}, {"Q4_K_M", 0.22}, {"Q4_0", 0.26}};
  const std::string dir = test::scratch_dir("quant_reference");
  for (const auto& model : f32_models()) {
    std::map<std::string, double> errors;
    for (const auto& [type, bound] : bounds) {
      const std::string out = dir + "/" + model.name + "." + type + ".gguf";
      const auto r =
          test::run_cli("quantize -t 2 " + test::shell_quote(model.gguf) + " " + test::shell_quote(out) + " " + type);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      errors[type] = logits_error(out, model);
      EXPECT_LT(errors[type], bound) << model.name << " " << type;
      std::printf("%-28s %-7s relative RMS logit error %.4f (bound %.2f)\n", model.name.c_str(), type.c_str(),
                  errors[type], bound);
    }
    EXPECT_LE(errors["Q8_0"], errors["Q6_K"]) << model.name;  // equal where Q6_K falls back to Q8_0
    EXPECT_LT(errors["Q6_K"], errors["Q4_K_M"]) << model.name;
  }
}

}  // namespace
}  // namespace flame

namespace flame {
namespace {

// perplexity() against the value computed here from the PyTorch logits: one window of 32 tokens
// without BOS replacement is exactly the reference's first 32 positions; llama.cpp's rule scores
// predictions from positions 16..30. KL of a model against itself is 0 with full agreement.
TEST(Perplexity, MatchesReferenceLogitsAndSelfKlIsZero) {
  const Model& ref = f32_models().front();
  const int64_t ctx = 32;
  double nll = 0;
  int64_t count = 0;
  for (int64_t j = ctx / 2; j < ctx - 1; ++j) {
    const float* row = ref.logits.data() + j * ref.vocab;
    double max = row[0], sum = 0;
    for (int64_t v = 0; v < ref.vocab; ++v) max = std::max(max, static_cast<double>(row[v]));
    for (int64_t v = 0; v < ref.vocab; ++v) sum += std::exp(row[v] - max);
    nll -= row[ref.tokens[j + 1]] - max - std::log(sum);
    ++count;
  }
  const double want = std::exp(nll / count);
  InferenceSession model(LlamaWeights::from_gguf(gguf::Reader::open(ref.gguf)));
  InferenceSession same(LlamaWeights::from_gguf(gguf::Reader::open(ref.gguf)));
  const auto r = perplexity(model, ref.tokens, {.ctx = ctx, .bos = -1, .max_chunks = 1}, &same);
  EXPECT_EQ(r.tokens_scored, 15);
  EXPECT_NEAR(r.ppl, want, 1e-4 * want);
  EXPECT_NEAR(r.mean_kl, 0.0, 1e-9);
  EXPECT_EQ(r.top1_agreement, 1.0);
  EXPECT_THROW(perplexity(model, ref.tokens, {.ctx = 200}), ArgumentError);  // more than the 80 tokens
}

// The CLI end to end on a `flame synth` model (the PyTorch reference models have logits so peaked
// that every softmax is one-hot): Q4_0 against its F32 base has a positive, small KL divergence,
// the JSON carries both perplexities, and a window longer than the text is a clear error.
TEST(Perplexity, CliKlAgainstBase) {
  const std::string dir = test::scratch_dir("quant_perplexity");
  const std::string base = dir + "/tiny_f32.gguf", q = dir + "/tiny_q4_0.gguf", ids = dir + "/tokens.txt";
  ASSERT_EQ(test::run_cli("synth --shape tiny --type f32 -o " + test::shell_quote(base)).exit_code, 0);
  ASSERT_EQ(test::run_cli("quantize " + test::shell_quote(base) + " " + test::shell_quote(q) + " Q4_0").exit_code, 0);
  {
    std::ofstream f(ids);
    for (int i = 0; i < 200; ++i) f << (i * 37 + 11) % 256 << (i % 10 == 9 ? "\n" : ", ");
  }
  const auto r = test::run_cli("perplexity -m " + test::shell_quote(q) + " --tokens-file " + test::shell_quote(ids) +
                               " --ctx 64 --kl-base " + test::shell_quote(base) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["chunks"], 3);
  EXPECT_EQ(j["tokens_scored"], 93);  // 3 windows x (63 - 32) predictions
  EXPECT_GT(j["mean_kl"].get<double>(), 1e-4);
  EXPECT_LT(j["mean_kl"].get<double>(), 0.5);
  EXPECT_GT(j["top1_agreement"].get<double>(), 0.3);
  EXPECT_GT(j["ppl"].get<double>(), 1.0);
  EXPECT_GT(j["base_ppl"].get<double>(), 1.0);
  const auto bad = test::run_cli("perplexity -m " + test::shell_quote(q) + " --tokens-file " + test::shell_quote(ids) +
                                 " --ctx 1024");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("window"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace flame
