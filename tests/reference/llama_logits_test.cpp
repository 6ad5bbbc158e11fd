// flame's Llama forward against an independent PyTorch implementation (llama_reference.py).
//
// The script writes random-weight models as GGUF in llama.cpp's converter layout (F32, F16, BF16) and
// the float64 logits of every position of an 80-token sequence, computed on exactly the stored
// (rounded) weights. We compare max|flame - ref| / max|ref| over the compared rows.
//
// Tolerance, derived: because the reference uses the very weights the file stores, F16 and BF16
// files differ from F32 ones only in which weights they hold, not in how flame computes: every
// weight is widened exactly to f32 and all arithmetic is f32. The error is flame's f32 rounding and
// accumulation order. A length-k dot product in f32 has relative error about sqrt(k) * u for random
// signs (u = 2^-24 ~ 6e-8), so ~1e-6 for k <= 768; through a handful of residual layers, RMSNorms and
// softmaxes it grows by a small factor and the logits (a final dot product of length dim) stay near
// 1e-5 relative. So the same bound, 1e-4, is a 10x margin for every dtype. A real bug (a wrong RoPE
// pair, a missed scaling factor, a wrong KV head) moves the logits by O(1e-1) or more.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/io/gguf.h"
#include "flame/model/inference.h"
#include "support/llama_reference_models.h"
#include "support/test_support.h"

namespace flame {
namespace {

constexpr double kTolerance = 1e-4;

using ReferenceCase = test::ReferenceModel;

const std::vector<ReferenceCase>& reference_cases() {
  return test::llama_reference_models("llama_reference");
}

// max|got - want| / max|want| over rows [first, first + rows) of the reference.
double relative_error(const ReferenceCase& c, const float* got, int64_t first, int64_t rows,
                      const std::vector<float>* reference = nullptr) {
  const std::vector<float>& ref = reference ? *reference : c.logits;
  double max_diff = 0, max_ref = 0;
  for (int64_t i = 0; i < rows * c.vocab; ++i) {
    const double want = ref[first * c.vocab + i];
    max_diff = std::max(max_diff, std::abs(got[i] - want));
    max_ref = std::max(max_ref, std::abs(want));
  }
  return max_diff / max_ref;
}

InferenceSession open_session(const ReferenceCase& c) {
  return InferenceSession(LlamaWeights::from_gguf(gguf::Reader::open(c.gguf)), 128);
}

TEST(LlamaLogitsReference, PromptsOf1And7And64TokensMatchPyTorch) {
  ASSERT_EQ(reference_cases().size(), 12u);  // 4 shapes x 3 dtypes
  for (const auto& c : reference_cases()) {
    SCOPED_TRACE(c.name);
    for (int64_t n : {1, 7, 64}) {
      InferenceSession session = open_session(c);
      const Tensor& last = session.forward(c.tokens.data(), n, 0);
      const double err_last = relative_error(c, last.data<float>(), n - 1, 1);
      EXPECT_LT(err_last, kTolerance) << "prompt of " << n << ", last position";
      session.reset();
      const Tensor& all = session.forward(c.tokens.data(), n, 0, /*all_logits=*/true);
      ASSERT_EQ(all.dim(0), n);
      const double err_all = relative_error(c, all.data<float>(), 0, n);
      EXPECT_LT(err_all, kTolerance) << "prompt of " << n << ", every position";
      std::printf("  %-32s prompt %2ld: rel err last %.2e all %.2e\n", c.name.c_str(), static_cast<long>(n), err_last,
                  err_all);
    }
  }
}

TEST(LlamaLogitsReference, SixteenCachedDecodeStepsMatchPyTorch) {
  for (const auto& c : reference_cases()) {
    SCOPED_TRACE(c.name);
    InferenceSession session = open_session(c);
    session.forward(c.tokens.data(), 7, 0);
    double worst = 0;
    for (int64_t step = 0; step < 16; ++step) {
      const int64_t pos = 7 + step;
      const Tensor& logits = session.forward(&c.tokens[pos], 1, pos);
      const double err = relative_error(c, logits.data<float>(), pos, 1);
      EXPECT_LT(err, kTolerance) << "decode step " << step << " (position " << pos << ")";
      worst = std::max(worst, err);
    }
    std::printf("  %-32s 16 decode steps: worst rel err %.2e\n", c.name.c_str(), worst);
  }
}

TEST(LlamaLogitsReference, ScalarKernelsMatchPyTorchToo) {
  // The fast paths are tested against their scalar twins elsewhere; this pins the scalar twins
  // themselves to the reference on one GQA + llama3-scaled F16 model.
  const auto& cases = reference_cases();
  const auto it =
      std::find_if(cases.begin(), cases.end(), [](auto& c) { return c.name == "gqa4_hd64_tied_llama3_f16"; });
  ASSERT_NE(it, cases.end());
  set_force_scalar(true);
  InferenceSession session = open_session(*it);
  const Tensor& all = session.forward(it->tokens.data(), 64, 0, true);
  set_force_scalar(false);
  EXPECT_LT(relative_error(*it, all.data<float>(), 0, 64), kTolerance);
}

TEST(LlamaLogitsReference, PromptLongerThanContextIsAClearError) {
  InferenceSession session =
      InferenceSession(LlamaWeights::from_gguf(gguf::Reader::open(reference_cases()[0].gguf)), 16);
  std::vector<int32_t> tokens(17, 1);
  try {
    session.forward(tokens.data(), 17, 0);
    FAIL() << "expected ArgumentError";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("exceed the context of 16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flame

namespace flame {
namespace {

std::string token_arg(const std::vector<int32_t>& tokens, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(tokens[i]);
  return s;
}

TEST(LlamaLogitsCli, LogitsJsonMatchesPyTorchForLastAndAllPositions) {
  for (const auto& c : reference_cases()) {
    if (c.name != "odd_dim96_ffn352_bf16" && c.name != "mha_hd128_untied_f32") continue;
    SCOPED_TRACE(c.name);
    const auto last = test::run_cli("logits -m " + test::shell_quote(c.gguf) + " --tokens " + token_arg(c.tokens, 7));
    ASSERT_EQ(last.exit_code, 0) << last.err;
    const auto row = nlohmann::json::parse(last.out).get<std::vector<float>>();
    ASSERT_EQ(static_cast<int64_t>(row.size()), c.vocab);
    EXPECT_LT(relative_error(c, row.data(), 6, 1), kTolerance);

    const auto all =
        test::run_cli("logits -t 1 --all -m " + test::shell_quote(c.gguf) + " --tokens " + token_arg(c.tokens, 5));
    ASSERT_EQ(all.exit_code, 0) << all.err;
    const auto rows = nlohmann::json::parse(all.out).get<std::vector<std::vector<float>>>();
    ASSERT_EQ(rows.size(), 5u);
    std::vector<float> flat;
    for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
    EXPECT_LT(relative_error(c, flat.data(), 0, 5), kTolerance);
  }
}

TEST(LlamaLogitsCli, RunIsDeterministicPerSeedAndErrorsAreClean) {
  const auto& c = reference_cases()[0];
  const std::string model = "-m " + test::shell_quote(c.gguf);
  const std::string args = "run " + model + " --tokens 1,2,3 -n 12 --temp 0.9 --top-k 20 --seed 7";
  const auto a = test::run_cli(args), b = test::run_cli(args + " -t 1");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(nlohmann::json::parse(a.out).size(), 12u);
  const auto greedy = test::run_cli("run " + model + " --tokens 1,2,3 -n 4 --temp 0");
  ASSERT_EQ(greedy.exit_code, 0) << greedy.err;
  const auto greedy_ids = nlohmann::json::parse(greedy.out).get<std::vector<int32_t>>();
  ASSERT_EQ(greedy_ids.size(), 4u);
  // Greedy's first id is the argmax of flame's own logits for the same prompt.
  const auto logits = test::run_cli("logits " + model + " --tokens 1,2,3");
  const auto row = nlohmann::json::parse(logits.out).get<std::vector<float>>();
  EXPECT_EQ(greedy_ids[0], std::max_element(row.begin(), row.end()) - row.begin());

  const auto missing = test::run_cli("run -m /nonexistent.gguf --tokens 1 -n 1");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/nonexistent.gguf"), std::string::npos) << missing.err;
  const auto bad_token = test::run_cli("logits " + model + " --tokens 1,x");
  EXPECT_EQ(bad_token.exit_code, 1);
  EXPECT_NE(bad_token.err.find("\"x\" is not a token id"), std::string::npos) << bad_token.err;
  const auto out_of_vocab = test::run_cli("logits " + model + " --tokens 100000");
  EXPECT_EQ(out_of_vocab.exit_code, 1);
  EXPECT_NE(out_of_vocab.err.find("outside the vocabulary"), std::string::npos) << out_of_vocab.err;
  const auto too_long = test::run_cli("run " + model + " -c 4 --tokens 1,2,3,4,5 -n 1");
  EXPECT_EQ(too_long.exit_code, 1);
  EXPECT_NE(too_long.err.find("context"), std::string::npos) << too_long.err;
}

TEST(LlamaLogitsCli, SynthWritesALoadableLlama3LayoutModel) {
  const std::string path = test::scratch_dir("llama_cli") + "/tiny_bf16.gguf";
  const auto synth = test::run_cli("synth --shape tiny --type bf16 --seed 5 -o " + test::shell_quote(path));
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  const auto reader = gguf::Reader::open(path);
  const LlamaWeights w = LlamaWeights::from_gguf(reader);
  EXPECT_EQ(w.token_embd.dtype(), DType::BF16);
  EXPECT_EQ(w.layers[0].attn_norm.dtype(), DType::F32);
  EXPECT_TRUE(w.rope_freqs.defined());
  const auto bench = test::run_cli("bench -m " + test::shell_quote(path) + " -p 8 -n 4 -r 2 --membw-mib 16 --json");
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  const auto j = nlohmann::json::parse(bench.out);
  EXPECT_GT(j["tg"]["tok_s_mean"].get<double>(), 0);
  EXPECT_GT(j["read_bandwidth_bytes_s"].get<double>(), 0);
  // Each tg repetition is bracketed by two probes, and its share is its own rate over their mean.
  const auto probes = j["read_bandwidth_probes_bytes_s"].get<std::vector<double>>();
  const auto runs = j["tg"]["runs"].get<std::vector<double>>();
  const auto shares = j["tg_share_of_adjacent_probes"]["runs"].get<std::vector<double>>();
  ASSERT_EQ(runs.size(), 2u);
  ASSERT_EQ(probes.size(), 4u);
  ASSERT_EQ(shares.size(), 2u);
  const double bytes = j["weight_bytes_per_token"].get<double>() + j["kv_bytes_per_token_at_depth"].get<double>();
  for (size_t r = 0; r < 2; ++r)
    EXPECT_NEAR(shares[r], runs[r] * bytes / (0.5 * (probes[2 * r] + probes[2 * r + 1])), 1e-9 * shares[r]) << r;
  // The interleaved share: one pass of n decode steps alternating with reads per repetition.
  const auto& inter = j["tg_share_interleaved"];
  EXPECT_EQ(inter["runs"].size(), 2u);
  EXPECT_EQ(inter["steps"].get<double>(), 8.0);
  EXPECT_GT(inter["decode_seconds"].get<double>(), 0);
  EXPECT_GT(inter["read_seconds"].get<double>(), 0);
  for (const auto& share : inter["runs"]) EXPECT_GT(share.get<double>(), 0);
}

}  // namespace
}  // namespace flame

namespace flame {
namespace {

// F16 KV cache. Against the reference that rounds its keys (after RoPE) and values to fp16 as the
// cache does, the only differences left are flame's f32 arithmetic (as above) plus rare keys whose
// f32 and f64 values round to neighbouring fp16 numbers (a 2^-11 relative step on a fraction
// ~f32-error/fp16-step ~ 1e-4 of the elements), so the same 1e-4 bound holds. Against the plain
// reference, the fp16 rounding itself (2^-12 relative per element on average) shows: that bound is
// 5e-3, and the test also checks that the fp16-aware reference is the closer one.
constexpr double kKvF16VsF32Bound = 5e-3;

InferenceSession open_session(const ReferenceCase& c, DType kv_type) {
  return InferenceSession(LlamaWeights::from_gguf(gguf::Reader::open(c.gguf)), 128, kv_type);
}

TEST(LlamaLogitsKvF16, PromptAndDecodeMatchPyTorchWithFp16KeysAndValues) {
  for (const auto& c : reference_cases()) {
    SCOPED_TRACE(c.name);
    InferenceSession session = open_session(c, DType::F16);
    const Tensor& all = session.forward(c.tokens.data(), 64, 0, /*all_logits=*/true);
    const double err = relative_error(c, all.data<float>(), 0, 64, &c.logits_kv_f16);
    const double err_plain = relative_error(c, all.data<float>(), 0, 64);
    EXPECT_LT(err, kTolerance) << "prompt of 64";
    EXPECT_LT(err_plain, kKvF16VsF32Bound);
    EXPECT_LT(err, err_plain) << "the fp16-rounding reference should be the closer one";
    session.reset();
    session.forward(c.tokens.data(), 7, 0);
    double worst = 0;
    for (int64_t pos = 7; pos < 23; ++pos) {
      const Tensor& logits = session.forward(&c.tokens[pos], 1, pos);
      worst = std::max(worst, relative_error(c, logits.data<float>(), pos, 1, &c.logits_kv_f16));
    }
    EXPECT_LT(worst, kTolerance) << "16 decode steps";
    std::printf("  %-32s kv f16: prompt rel err %.2e (vs plain reference %.2e), decode worst %.2e\n", c.name.c_str(),
                err, err_plain, worst);
  }
}

TEST(LlamaLogitsKvF16, StaysWithinBoundOfF32CacheAndHalvesTheCache) {
  for (const auto& c : reference_cases()) {
    if (c.dtype != "f32") continue;
    SCOPED_TRACE(c.name);
    InferenceSession f32 = open_session(c, DType::F32), f16 = open_session(c, DType::F16);
    const int64_t n = static_cast<int64_t>(c.tokens.size());
    const Tensor& a = f32.forward(c.tokens.data(), n, 0, true);
    const Tensor& b = f16.forward(c.tokens.data(), n, 0, true);
    double max_diff = 0, max_ref = 0;
    for (int64_t i = 0; i < n * c.vocab; ++i) {
      max_diff = std::max<double>(max_diff, std::abs(a.data<float>()[i] - b.data<float>()[i]));
      max_ref = std::max<double>(max_ref, std::abs(a.data<float>()[i]));
    }
    EXPECT_LT(max_diff / max_ref, kKvF16VsF32Bound);
    EXPECT_GT(max_diff, 0.0) << "an F16 cache that changes nothing is not storing fp16";
    const LlamaConfig& cfg = f32.config();
    const size_t elements = 2 * static_cast<size_t>(cfg.n_layers * 128 * cfg.n_kv_heads * cfg.head_dim);
    EXPECT_EQ(f32.kv_cache_bytes(), elements * 4);
    EXPECT_EQ(f16.kv_cache_bytes(), elements * 2);
    EXPECT_EQ(f16.kv_type(), DType::F16);
  }
  EXPECT_THROW(open_session(reference_cases()[0], DType::BF16), ArgumentError);
}

TEST(LlamaLogitsKvF16, CliKvTypeOption) {
  const auto& c = reference_cases()[0];
  const auto out = test::run_cli("logits --kv-type f16 --all -m " + test::shell_quote(c.gguf) + " --tokens " +
                                 token_arg(c.tokens, 9));
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto rows = nlohmann::json::parse(out.out).get<std::vector<std::vector<float>>>();
  ASSERT_EQ(rows.size(), 9u);
  std::vector<float> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  EXPECT_LT(relative_error(c, flat.data(), 0, 9, &c.logits_kv_f16), kTolerance);
  // run: greedy ids with an F16 cache (the first one is the argmax of the F16-cache logits above).
  const auto run = test::run_cli("run --kv-type f16 --temp 0 -n 3 -m " + test::shell_quote(c.gguf) + " --tokens " +
                                 token_arg(c.tokens, 9));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto ids = nlohmann::json::parse(run.out).get<std::vector<int32_t>>();
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], std::max_element(rows[8].begin(), rows[8].end()) - rows[8].begin());
  for (const std::string cmd : {"chat", "perplexity", "bench"}) {
    const auto help = test::run_cli(cmd + " --help");
    EXPECT_NE(help.out.find("--kv-type"), std::string::npos) << cmd;
  }
  const auto bad = test::run_cli("logits --kv-type q8 -m " + test::shell_quote(c.gguf) + " --tokens 1");
  EXPECT_NE(bad.exit_code, 0) << bad.err;  // a CLI11 usage error
  EXPECT_NE(bad.err.find("--kv-type"), std::string::npos) << bad.err;
  const auto bench = test::run_cli("bench -m " + test::shell_quote(c.gguf) +
                                   " -p 8 -n 4 -r 1 -d 40 --kv-type f16 --membw-mib 16 --json");
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  const auto j = nlohmann::json::parse(bench.out);
  EXPECT_EQ(j["depth"].get<int64_t>(), 40);
  EXPECT_EQ(j["kv_type"].get<std::string>(), "f16");
  EXPECT_GT(j["tg"]["tok_s_mean"].get<double>(), 0);
}

}  // namespace
}  // namespace flame
