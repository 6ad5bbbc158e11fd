// Load-time repacking (model/repack.h) on small quantized models: which matrices get the x8 layout,
// and that logits with repacking equal those without (prompt: the same integer GEMM, bit for bit;
// decode: the x8 kernels' float order, within a stated tolerance), in memory and through the CLI
// (--no-repack, FLAME_REPACK=0, the bench header line).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/core/thread_pool.h"
#include "flame/io/gguf.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_x8_tensor.h"
#include "flame/model/inference.h"
#include "flame/model/repack.h"
#include "flame/model/synthetic.h"
#include "support/test_support.h"

namespace flame {
namespace {

Tensor quantized(const Tensor& f32, DType type) {
  Tensor q = Tensor::empty(type, f32.shape());
  for (int64_t r = 0; r < f32.rows(); ++r) quantize_row(type, f32.row<float>(r), q.row<void>(r), f32.cols());
  return q;
}

// The "tiny" shape with attention in Q8_0 and the FFN in Q4_0. Untied: a 516-token vocabulary,
// so the Q8_0 output matrix has rows that are not whole groups of 8 (it must stay as stored).
// Tied: 512 tokens, token_embd (Q8_0) is the packed output matrix and still serves embedding rows.
LlamaWeights tiny_quantized_model(bool tied) {
  LlamaConfig c = synthetic_config("tiny");
  c.tied_embeddings = tied;
  c.vocab_size = tied ? 512 : 516;
  LlamaWeights w = random_weights(c, DType::F32, 11);
  for (LayerWeights& l : w.layers) {
    for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo}) *t = quantized(*t, DType::Q8_0);
    for (Tensor* t : {&l.w_gate, &l.w_up, &l.w_down}) *t = quantized(*t, DType::Q4_0);
  }
  w.token_embd = quantized(w.token_embd, DType::Q8_0);
  if (!tied) w.output = quantized(w.output, DType::Q8_0);
  return w;
}

std::vector<float> logits_of(LlamaWeights w, const std::vector<int32_t>& tokens, bool decode) {
  InferenceSession session(std::move(w), 64);
  if (!decode) {
    const Tensor& l = session.forward(tokens.data(), static_cast<int64_t>(tokens.size()), 0, true);
    return {l.data<float>(), l.data<float>() + l.numel()};
  }
  std::vector<float> all;
  for (size_t i = 0; i < tokens.size(); ++i) {  // one token at a time: every product is a decode product
    const Tensor& l = session.forward(&tokens[i], 1, static_cast<int64_t>(i));
    all.insert(all.end(), l.data<float>(), l.data<float>() + l.numel());
  }
  return all;
}

TEST(Repack, PacksMatricesWithWholeGroupsOnly) {
  ThreadPool pool(2);
  for (bool tied : {false, true}) {
    LlamaWeights w = tiny_quantized_model(tied);
    const RepackSummary s = repack_for_inference(w, nullptr, pool);
    EXPECT_EQ(s.matrices, 7 * w.config.n_layers + (tied ? 1 : 0)) << "tied " << tied;
    for (const LayerWeights& l : w.layers)
      for (const Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
        EXPECT_NE(x8_weight(*t), nullptr);
    if (tied)
      EXPECT_NE(x8_weight(w.token_embd), nullptr);
    else
      EXPECT_EQ(x8_weight(w.output), nullptr) << "516 rows are not whole groups";
    EXPECT_NE(s.describe().find("x8 interleaved"), std::string::npos);
    // Idempotent: nothing left to pack.
    EXPECT_EQ(repack_for_inference(w, nullptr, pool).matrices, 0);
  }
}

// Decode tolerance: each product's x8 sum differs from the per-row sum by float rounding
// (~1e-6 relative to sum |terms|); through two layers and the output matrix that stays far below
// 1e-4 of the largest logit. Prompt (12 tokens, m >= 8): the same integer GEMM, exactly equal.
TEST(Repack, LogitsMatchWithoutRepack) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "the x8 layout is only used with AVX2";
  ThreadPool& pool = ThreadPool::global();
  const std::vector<int32_t> tokens = {1, 7, 99, 300, 5, 42, 511, 8, 17, 250, 3, 64};
  for (bool tied : {false, true}) {
    LlamaWeights packed = tiny_quantized_model(tied);
    ASSERT_GT(repack_for_inference(packed, nullptr, pool).matrices, 0);
    EXPECT_EQ(logits_of(tiny_quantized_model(tied), tokens, false), logits_of(packed, tokens, false))
        << "prompt, tied " << tied;
    const auto a = logits_of(tiny_quantized_model(tied), tokens, true);
    const auto b = logits_of(packed, tokens, true);
    ASSERT_EQ(a.size(), b.size());
    float scale = 0, diff = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      scale = std::max(scale, std::fabs(a[i]));
      diff = std::max(diff, std::fabs(a[i] - b[i]));
    }
    EXPECT_GT(scale, 0.0f);
    EXPECT_LE(diff, 1e-4f * scale) << "decode, tied " << tied;
    // Tied: the last product (token_embd, packed) runs the x8 kernels, whose float order differs.
    // Untied, the logits can be bit-identical: every earlier product's output is re-quantized to
    // 8 bits before the next product, which absorbs last-bit differences.
    if (tied) EXPECT_NE(a, b) << "decode should have taken the x8 kernels (a different float order)";
  }
}

// Matrices without x8 kernels (here F16) move from the file mapping into the shared buffer on huge
// pages, as stored: the Tensor then points outside the mapping and the logits are bit-identical
// (the same kernels read the same values). Without transparent huge pages nothing is copied.
TEST(Repack, CopiesOtherMatricesOutOfTheFileOntoHugePages) {
  LlamaConfig c = synthetic_config("tiny");
  const std::string path = test::scratch_dir("repack") + "/tiny-f16.gguf";
  {
    gguf::Writer writer;
    random_weights(c, DType::F16, 21).to_gguf(writer);
    writer.write(path);
  }
  const std::vector<int32_t> tokens = {1, 7, 99, 300, 5};
  auto reader = gguf::Reader::open(path);
  LlamaWeights stored = LlamaWeights::from_gguf(reader);
  LlamaWeights moved = LlamaWeights::from_gguf(reader);
  ThreadPool pool(2);
  const RepackSummary s = repack_for_inference(moved, reader.file().get(), pool);
  EXPECT_EQ(s.matrices, 0);
  if (!transparent_huge_pages_available()) {
    EXPECT_EQ(s.copied, 0);
    GTEST_SKIP() << "no transparent huge pages: weights stay in the mapping";
  }
  const int64_t expected = 7 * c.n_layers + 1;  // every layer matrix and the output projection
  EXPECT_EQ(s.copied, expected);
  EXPECT_TRUE(s.huge_pages);
  EXPECT_NE(s.describe().find("copied as stored (" + std::to_string(expected) + " matrices"), std::string::npos)
      << s.describe();
  for (const LayerWeights& l : moved.layers)
    for (const Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
      EXPECT_FALSE(reader.file()->contains(t->data(), t->nbytes()));
  EXPECT_FALSE(reader.file()->contains(moved.output_matrix().data(), moved.output_matrix().nbytes()));
  EXPECT_TRUE(reader.file()->contains(moved.layers[0].attn_norm.data(), moved.layers[0].attn_norm.nbytes()))
      << "norms are not matrices: they stay in the mapping";
  EXPECT_EQ(logits_of(std::move(stored), tokens, true), logits_of(moved, tokens, true));
  EXPECT_EQ(repack_for_inference(moved, reader.file().get(), pool).copied, 0) << "already moved";
}

std::vector<double> parse_floats(const std::string& json) {
  std::string s = json;
  std::replace(s.begin(), s.end(), '[', ' ');
  std::replace(s.begin(), s.end(), ']', ' ');
  std::replace(s.begin(), s.end(), ',', ' ');
  std::istringstream in(s);
  std::vector<double> v;
  for (double x; in >> x;) v.push_back(x);
  return v;
}

TEST(Repack, CliRepacksByDefaultAndOnlyThen) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "the x8 layout is only used with AVX2";
  const std::string path = test::scratch_dir("repack") + "/tiny-q.gguf";
  {
    gguf::Writer writer;
    tiny_quantized_model(false).to_gguf(writer);
    writer.write(path);
  }
  const std::string model = " -m " + test::shell_quote(path);
  const auto on = test::run_cli("logits" + model + " --tokens 1,2,3 -t 2");
  const auto off = test::run_cli("logits" + model + " --tokens 1,2,3 -t 2 --no-repack");
  const auto env_off = test::run_command("FLAME_REPACK=0 " + test::shell_quote(std::string(FLAME_CLI_PATH)) +
                                         " logits" + model + " --tokens 1,2,3 -t 2");
  ASSERT_EQ(on.exit_code, 0) << on.err;
  ASSERT_EQ(off.exit_code, 0) << off.err;
  ASSERT_EQ(env_off.exit_code, 0) << env_off.err;
  EXPECT_EQ(off.out, env_off.out);
  const auto a = parse_floats(on.out), b = parse_floats(off.out);
  ASSERT_EQ(a.size(), 516u);
  ASSERT_EQ(b.size(), 516u);
  double scale = 0, diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::fabs(b[i]));
    diff = std::max(diff, std::fabs(a[i] - b[i]));
  }
  EXPECT_LE(diff, 1e-4 * scale);

  const auto bench_on = test::run_cli("bench" + model + " -p 0 -n 2 -r 1 --membw-mib 8 -t 2");
  const auto bench_off = test::run_cli("bench" + model + " -p 0 -n 2 -r 1 --membw-mib 8 -t 2 --no-repack");
  ASSERT_EQ(bench_on.exit_code, 0) << bench_on.err;
  ASSERT_EQ(bench_off.exit_code, 0) << bench_off.err;
  EXPECT_NE(bench_on.out.find("weights in memory: x8 interleaved (14 matrices"), std::string::npos) << bench_on.out;
  EXPECT_NE(bench_off.out.find("weights in memory: as stored"), std::string::npos) << bench_off.out;
}

}  // namespace
}  // namespace flame
