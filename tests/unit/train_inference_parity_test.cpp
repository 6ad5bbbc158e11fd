// One model definition: the training forward pass (train_forward_logits) and the inference
// forward pass (InferenceSession, after a GGUF export/import round trip of the same weights) give
// the same logits at every position.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "flame/io/gguf.h"
#include "flame/model/inference.h"
#include "flame/model/train_step.h"
#include "support/test_support.h"

namespace flame {
namespace {

void check_parity(bool tied, bool llama3, const std::string& name) {
  LlamaConfig c;
  c.vocab_size = 83, c.dim = 64, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.ffn_dim = 96;
  c.context_length = 128, c.head_dim = 16, c.rope_dim = 16, c.rope_theta = 10000.0f, c.tied_embeddings = tied;
  if (llama3) c.rope_scaling = RopeScaling{.factor = 8.0f, .original_context = 32};
  LlamaWeights w = LlamaWeights::allocate(c);
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.0f, 0.1f);
  w.for_each([&](const std::string&, Tensor& t) {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = t.ndim() == 1 ? 1.0f + d(rng) : d(rng);
  });
  const int64_t T = 70;
  std::vector<uint32_t> ids(T);
  std::vector<int32_t> ids32(T);
  for (int64_t i = 0; i < T; ++i) ids32[i] = int32_t(ids[i] = uint32_t(rng() % c.vocab_size));

  TrainWorkspace ws(c, 1, T);
  std::vector<float> train_logits(T * c.vocab_size);
  train_forward_logits(w, ids.data(), 1, T, ws, train_logits.data());

  const std::string path = test::scratch_dir("train_inference_parity") + "/" + name + ".gguf";
  gguf::Writer writer;
  w.to_gguf(writer);
  writer.write(path);
  auto reader = gguf::Reader::open(path);
  InferenceSession session(LlamaWeights::from_gguf(reader));
  const Tensor& logits = session.forward(ids32.data(), T, 0, /*all_logits=*/true);
  ASSERT_EQ(logits.numel(), T * c.vocab_size);
  double diff = 0, mag = 0;
  for (int64_t i = 0; i < T * c.vocab_size; ++i) {
    diff = std::max(diff, std::abs(double(logits.data<float>()[i]) - train_logits[i]));
    mag = std::max(mag, std::abs(double(train_logits[i])));
  }
  EXPECT_LT(diff / mag, 1e-5) << name;
}

TEST(TrainInferenceParity, UntiedLlama3RopeSameLogitsAfterGgufRoundTrip) {
  check_parity(false, true, "untied");
}
TEST(TrainInferenceParity, TiedSameLogitsAfterGgufRoundTrip) {
  check_parity(true, false, "tied");
}

}  // namespace
}  // namespace flame
