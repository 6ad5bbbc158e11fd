// LlamaConfig/LlamaWeights <-> GGUF, synthetic models, the sampler and the generation loop.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "flame/core/error.h"
#include "flame/generate/generate.h"
#include "flame/generate/sampler.h"
#include "flame/io/gguf.h"
#include "flame/model/inference.h"
#include "flame/model/synthetic.h"
#include "support/test_support.h"

namespace flame {
namespace {

std::string write_model(const LlamaWeights& w, const std::string& name,
                        const std::function<void(gguf::Writer&)>& edit = {}) {
  gguf::Writer writer;
  w.to_gguf(writer);
  if (edit) edit(writer);
  const std::string path = test::scratch_dir("model_test") + "/" + name;
  writer.write(path);
  return path;
}

TEST(LlamaWeightsGguf, RoundTripKeepsConfigTensorsAndLlamaCppOrder) {
  const LlamaConfig c = synthetic_config("tiny");
  const LlamaWeights w = random_weights(c, DType::F16, 3);
  const std::string path = write_model(w, "tiny_roundtrip.gguf");
  const auto reader = gguf::Reader::open(path);
  const LlamaWeights r = LlamaWeights::from_gguf(reader);
  EXPECT_EQ(r.config.summary(), c.summary());
  EXPECT_EQ(r.config.n_params(), c.n_params());
  // rope_freqs written from the llama3 parameters, first like llama.cpp's converter.
  ASSERT_EQ(reader.tensors().front().name, "rope_freqs.weight");
  EXPECT_EQ(reader.tensors()[1].name, "token_embd.weight");
  EXPECT_EQ(reader.tensors()[2].name, "blk.0.attn_norm.weight");
  EXPECT_EQ(reader.tensors()[3].name, "blk.0.ffn_down.weight");
  EXPECT_EQ(r.rope_freq_factors(), w.rope_freq_factors());
  EXPECT_FLOAT_EQ(r.config.rope_scaling.factor, 32.0f);
  std::map<std::string, const Tensor*> original;
  w.for_each([&](const std::string& name, const Tensor& t) { original[name] = &t; });
  size_t count = 0;
  r.for_each([&](const std::string& name, const Tensor& t) {
    ++count;
    ASSERT_TRUE(original.count(name)) << name;
    EXPECT_EQ(t.shape(), original[name]->shape()) << name;
    EXPECT_EQ(0, std::memcmp(t.data(), original[name]->data(), t.nbytes())) << name;
  });
  EXPECT_EQ(count, original.size());
  EXPECT_EQ(reader.get_int("general.file_type"), 1);
}

TEST(LlamaWeightsGguf, MissingOutputMeansTiedAndVocabFallsBackToEmbeddingRows) {
  LlamaConfig c = synthetic_config("tiny");
  c.tied_embeddings = true;
  const LlamaWeights w = random_weights(c, DType::F32, 1);
  gguf::Writer writer;
  w.to_gguf(writer);
  // Rewrite without llama.vocab_size: the reader must take the vocabulary from token_embd rows.
  gguf::Writer stripped;
  const auto path0 = write_model(w, "tied_full.gguf");
  const auto full = gguf::Reader::open(path0);
  for (const auto& [k, v] : full.metadata())
    if (k != "llama.vocab_size") stripped.set(k, v);
  for (const auto& info : full.tensors()) stripped.add_tensor(info.name, full.tensor(info.name));
  const std::string path = test::scratch_dir("model_test") + "/tied_novocab.gguf";
  stripped.write(path);
  const LlamaWeights r = LlamaWeights::from_gguf(gguf::Reader::open(path));
  EXPECT_TRUE(r.config.tied_embeddings);
  EXPECT_EQ(r.config.vocab_size, c.vocab_size);
  EXPECT_EQ(&r.output_matrix(), &r.token_embd);
}

TEST(LlamaWeightsGguf, WrongShapeIsAFormatErrorNamingTheTensor) {
  const LlamaConfig c = synthetic_config("tiny");
  const LlamaWeights w = random_weights(c, DType::F32, 1);
  const std::string path = write_model(w, "bad_ffn.gguf", [&](gguf::Writer& writer) {
    writer.set("llama.feed_forward_length", gguf::Value::u32(static_cast<uint32_t>(c.ffn_dim + 8)));
  });
  try {
    LlamaWeights::from_gguf(gguf::Reader::open(path));
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.ffn_gate.weight"), std::string::npos) << e.what();
  }
}

TEST(LlamaWeightsGguf, MissingKeyAndWrongArchitectureAreClearErrors) {
  const LlamaWeights w = random_weights(synthetic_config("tiny"), DType::F32, 1);
  gguf::Writer writer;
  writer.set("general.architecture", gguf::Value::string("gpt2"));
  writer.add_tensor("token_embd.weight", w.token_embd);
  const std::string path = test::scratch_dir("model_test") + "/gpt2.gguf";
  writer.write(path);
  EXPECT_THROW(LlamaWeights::from_gguf(gguf::Reader::open(path)), UnsupportedError);
  gguf::Writer no_dim;
  no_dim.set("general.architecture", gguf::Value::string("llama"));
  no_dim.add_tensor("token_embd.weight", w.token_embd);
  const std::string path2 = test::scratch_dir("model_test") + "/nodim.gguf";
  no_dim.write(path2);
  try {
    LlamaWeights::from_gguf(gguf::Reader::open(path2));
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("llama.embedding_length"), std::string::npos) << e.what();
  }
}

TEST(LlamaWeightsGguf, AllocateGivesZeroF32ForEveryParameter) {
  const LlamaConfig c = synthetic_config("tiny");
  LlamaWeights w = LlamaWeights::allocate(c);
  int64_t total = 0;
  w.for_each([&](const std::string&, Tensor& t) {
    EXPECT_EQ(t.dtype(), DType::F32);
    total += t.numel();
  });
  EXPECT_EQ(total, c.n_params());
  EXPECT_EQ(LlamaWeights::parameter_shapes(c).size(),
            static_cast<size_t>(2 + 9 * c.n_layers + (c.tied_embeddings ? 0 : 1)));
}

TEST(SyntheticModel, Llama32OneBShapeMatchesTheRealModel) {
  const LlamaConfig c = synthetic_config("llama3.2-1b");
  EXPECT_EQ(c.n_params(), 1235814400);  // Llama-3.2-1B's published parameter count
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_THROW(synthetic_config("nope"), ArgumentError);
}

TEST(Sampler, GreedyIsArgmaxAndPenaltyDemotesRepeats) {
  const float logits[5] = {0.1f, 2.0f, 1.9f, -1.0f, 0.0f};
  Sampler greedy(SamplerParams::greedy());
  EXPECT_EQ(greedy.sample(logits, 5, {}), 1);
  SamplerParams p = SamplerParams::greedy();
  p.repeat_penalty = 1.5f;
  Sampler penalised(p);
  EXPECT_EQ(penalised.sample(logits, 5, {1}), 2);  // 2.0/1.5 < 1.9
}

TEST(Sampler, SeededSamplingIsDeterministicAndRespectsTopK) {
  std::vector<float> logits(100);
  for (int i = 0; i < 100; ++i) logits[i] = static_cast<float>(i % 10) * 0.3f;
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 3;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 42;
  Sampler a(p), b(p);
  std::map<int, int> seen;
  for (int i = 0; i < 200; ++i) {
    const int32_t x = a.sample(logits.data(), 100, {});
    EXPECT_EQ(x, b.sample(logits.data(), 100, {}));
    ++seen[x];
  }
  // top-3 of values 2.7 at ids 9, 19, 29 (ties broken by lower id).
  EXPECT_EQ(seen.size(), 3u);
  for (auto [id, n] : seen) EXPECT_TRUE(id == 9 || id == 19 || id == 29) << id;
}

TEST(Sampler, TopPAndMinPCutTheTail) {
  const float logits[4] = {5.0f, 4.0f, 0.0f, -3.0f};  // p ~ 0.72, 0.27, 0.005, 0.0003
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.min_p = 0.0f;
  p.top_p = 0.5f;
  Sampler top_p(p);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(top_p.sample(logits, 4, {}), 0);
  p.top_p = 1.0f;
  p.min_p = 0.1f;  // keeps ids 0 and 1 only
  Sampler min_p(p);
  for (int i = 0; i < 100; ++i) EXPECT_LE(min_p.sample(logits, 4, {}), 1);
  p.min_p = 2.0f;
  EXPECT_THROW(Sampler{p}, ArgumentError);
}

TEST(Generate, StopsOnStopIdAndOnLimitAndRejectsLongPrompt) {
  const LlamaConfig c = synthetic_config("tiny");
  InferenceSession session(random_weights(c, DType::F32, 5), 32);
  Sampler sampler(SamplerParams::greedy());
  GenerateOptions opts;
  opts.max_tokens = 6;
  const auto r = generate(session, {1, 2, 3}, sampler, opts);
  ASSERT_EQ(r.tokens.size(), 6u);
  EXPECT_EQ(r.stop_reason, "length");
  // The same greedy run, stopping at the third generated token's id.
  opts.stop_ids = {r.tokens[2]};
  Sampler again(SamplerParams::greedy());
  const auto s = generate(session, {1, 2, 3}, again, opts);
  EXPECT_EQ(s.stop_reason, "eos");
  EXPECT_EQ(s.tokens, std::vector<int32_t>(r.tokens.begin(), r.tokens.begin() + 2));
  EXPECT_THROW(generate(session, std::vector<int32_t>(33, 1), again, opts), ArgumentError);
}

TEST(InferenceSession, DecodeAfterPromptEqualsOneLongPrompt) {
  // The KV cache path against the matrix-matrix path on the same model (F16, GQA).
  InferenceSession session(random_weights(synthetic_config("tiny"), DType::F16, 9), 64);
  std::vector<int32_t> tokens = {5, 17, 300, 2, 99, 1, 0, 511, 42, 7};
  const Tensor all = session.forward(tokens.data(), 10, 0, true).clone();
  session.reset();
  session.forward(tokens.data(), 4, 0);
  for (int64_t p = 4; p < 10; ++p) {
    const Tensor& step = session.forward(&tokens[p], 1, p);
    for (int64_t i = 0; i < all.dim(1); ++i) EXPECT_NEAR(step.data<float>()[i], all.row<float>(p)[i], 1e-4);
  }
  EXPECT_THROW(session.forward(&tokens[0], 1, 11), ArgumentError);  // past the cached positions
  const int32_t bad = 512;
  EXPECT_THROW(session.forward(&bad, 1, 0), ArgumentError);
}

}  // namespace
}  // namespace flame
