// `flame perplexity -f TEXT` against an independent computation: PyTorch float64
// (tests/reference/perplexity_reference.py) on the same F32 weights, read with the independent
// Python GGUF parser, and the same token ids (`flame tokenize`, itself checked against tiktoken in
// e2e.tokenizer_tiktoken), scoring the second half of each non-overlapping window after replacing
// its first token with BOS, as llama.cpp does.
//
// Tolerance, derived: flame computes in f32 and the reference in f64 on identical weights; the
// logits of this tiny model differ by ~1e-6 relative (LlamaLogitsReference measures <= 1e-6), so each
// token's log-probability moves by ~1e-5 nats at most and the perplexity, exp(mean), by ~1e-5
// relative. The bound is 2e-4 relative; a scoring bug (wrong half, no BOS, off-by-one target) moves
// it by far more, which the test checks against the reference's own no-BOS value.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace flame {
namespace {

// Pseudo-English from a fixed word list (deterministic), one sentence per line.
std::string sentences(uint32_t seed, int count) {
  static const char* const kWords[] = {"the",     "river",  "stone", "light",   "quiet",  "morning", "over", "under",
                                       "quickly", "garden", "paper", "window",  "green",  "city",    "ran",  "through",
                                       "small",   "house",  "was",   "and",     "a",      "of",      "to",   "in",
                                       "cold",    "bright", "wind",  "carried", "voices", "along"};
  std::mt19937 rng(seed);
  std::string out;
  for (int s = 0; s < count; ++s) {
    const int len = 5 + static_cast<int>(rng() % 8);
    for (int w = 0; w < len; ++w) {
      out += kWords[rng() % std::size(kWords)];
      out += w + 1 < len ? " " : ".\n";
    }
  }
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

class PerplexityText : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::scratch_dir("perplexity_text");
    write_file(dir_ + "/corpus.txt", sentences(1, 400));
    const auto q = [](const std::string& name) { return test::shell_quote(dir_ + "/" + name); };
    ASSERT_EQ(
        test::run_cli("tokenizer-train -f " + q("corpus.txt") + " --vocab 512 -o " + q("tok.gguf") + " -q").exit_code,
        0);
    ASSERT_EQ(test::run_cli("synth --shape tiny --type f32 -o " + q("tiny.gguf")).exit_code, 0);
    ASSERT_EQ(
        test::run_cli("tokenizer-embed " + q("tiny.gguf") + " " + q("tok.gguf") + " " + q("model.gguf")).exit_code, 0);
    model_ = dir_ + "/model.gguf";
  }
  static std::string dir_, model_;
};
std::string PerplexityText::dir_, PerplexityText::model_;

TEST_F(PerplexityText, MatchesPyTorchOnTheSameTokensIncludingInvalidUtf8) {
  // Held-out text with invalid UTF-8 in it (a lone 0xFF, a truncated 3-byte sequence, a stray
  // continuation byte): docs/tokenizer.md documents that each invalid byte becomes its byte token,
  // so the file is scored, not rejected.
  std::string text = sentences(2, 30);
  text.insert(100, "\xFF");
  text.insert(300, "\xE2\x82");
  text.insert(500, "\x80 ");
  const std::string text_path = dir_ + "/text.txt";
  write_file(text_path, text);

  const auto ids =
      test::run_cli("tokenize -m " + test::shell_quote(model_) + " -f " + test::shell_quote(text_path) + " --no-bos");
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  const auto tokens = nlohmann::json::parse(ids.out).get<std::vector<int32_t>>();
  const int64_t ctx = 64;
  ASSERT_GE(static_cast<int64_t>(tokens.size()), 3 * ctx) << "text too short for three windows";
  write_file(dir_ + "/ids.json", ids.out);
  const auto bos_out = test::run_cli("tokenize -m " + test::shell_quote(model_) + " ''");
  ASSERT_EQ(bos_out.exit_code, 0) << bos_out.err;
  const auto with_bos = nlohmann::json::parse(bos_out.out).get<std::vector<int32_t>>();
  ASSERT_EQ(with_bos.size(), 1u) << "the tokenizer should add BOS to an empty text";
  const int32_t bos = with_bos[0];

  const auto r = test::run_cli("perplexity -m " + test::shell_quote(model_) + " -f " + test::shell_quote(text_path) +
                               " --ctx 64 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = nlohmann::json::parse(r.out);

  const auto reference = [&](int32_t bos_id) {
    return nlohmann::json::parse(test::run_python(
        "tests/reference/perplexity_reference.py",
        test::shell_quote(model_) + " " + test::shell_quote(dir_ + "/ids.json") + " 64 " + std::to_string(bos_id)));
  };
  const auto want = reference(bos);
  EXPECT_EQ(got["chunks"], want["chunks"]);
  EXPECT_EQ(got["chunks"].get<int64_t>(), static_cast<int64_t>(tokens.size()) / ctx);
  EXPECT_EQ(got["tokens_scored"], want["tokens_scored"]);
  const double ppl = got["ppl"].get<double>(), want_ppl = want["ppl"].get<double>();
  EXPECT_NEAR(ppl, want_ppl, 2e-4 * want_ppl);
  std::printf("flame ppl %.6f, PyTorch ppl %.6f over %d tokens (relative difference %.2e)\n", ppl, want_ppl,
              want["tokens_scored"].get<int>(), std::abs(ppl - want_ppl) / want_ppl);
  // The test can tell scoring rules apart: without the BOS replacement the value moves well past
  // the tolerance.
  const double no_bos_ppl = reference(-1)["ppl"].get<double>();
  EXPECT_GT(std::abs(no_bos_ppl - want_ppl), 20 * 2e-4 * want_ppl);
}

TEST_F(PerplexityText, BadInputIsAClearError) {
  const std::string short_path = dir_ + "/short.txt";
  write_file(short_path, "the river ran.\n");
  const auto m = "perplexity -m " + test::shell_quote(model_) + " -f ";
  const auto too_short = test::run_cli(m + test::shell_quote(short_path) + " --ctx 64");
  EXPECT_EQ(too_short.exit_code, 1);
  EXPECT_NE(too_short.err.find("less than one window of 64"), std::string::npos) << too_short.err;

  const std::string long_path = dir_ + "/long.txt";
  write_file(long_path, sentences(3, 40));
  const auto too_long = test::run_cli(m + test::shell_quote(long_path) + " --ctx 4096");
  EXPECT_EQ(too_long.exit_code, 1);
  EXPECT_NE(too_long.err.find("--ctx 4096 exceeds the model's context length 2048"), std::string::npos) << too_long.err;

  const auto missing = test::run_cli(m + test::shell_quote(dir_ + "/no-such-file.txt") + " --ctx 64");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no-such-file.txt"), std::string::npos) << missing.err;

  const auto no_tokenizer =
      test::run_cli("perplexity -m " + test::shell_quote(dir_ + "/tiny.gguf") + " -f " + test::shell_quote(long_path));
  EXPECT_EQ(no_tokenizer.exit_code, 1);
  EXPECT_NE(no_tokenizer.err.find("tokenizer"), std::string::npos) << no_tokenizer.err;
}

}  // namespace
}  // namespace flame
