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

#include "flame/io/gguf.h"
#include "flame/model/inference.h"
#include "support/test_support.h"

namespace flame {
namespace {

struct Model {
  std::string name, gguf;
  int64_t vocab;
  std::vector<int32_t> tokens;
  std::vector<float> logits;
};

const std::vector<Model>& f32_models() {
  static const std::vector<Model> models = [] {
    const std::string dir = test::scratch_dir("quant_reference");
    test::run_python("tests/reference/llama_reference.py", test::shell_quote(dir));
    std::ifstream manifest_file(dir + "/manifest.json");
    const auto manifest = nlohmann::json::parse(manifest_file);
    std::vector<Model> out;
    for (const auto& m : manifest) {
      if (m["dtype"] != "f32") continue;
      Model c;
      c.name = m["name"];
      c.gguf = dir + "/" + m["gguf"].get<std::string>();
      c.vocab = m["vocab"];
      c.tokens = m["tokens"].get<std::vector<int32_t>>();
      c.logits.resize(c.tokens.size() * c.vocab);
      std::ifstream f(dir + "/" + m["logits"].get<std::string>(), std::ios::binary);
      f.read(reinterpret_cast<char*>(c.logits.data()), static_cast<std::streamsize>(c.logits.size() * 4));
      if (!f) throw std::runtime_error("short logits file for " + c.name);
      out.push_back(std::move(c));
    }
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
