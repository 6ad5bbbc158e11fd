// `flame export --gguf`: the exported model (tokenizer embedded) gives, through `flame logits`
// (the inference forward), the same per-position cross-entropy as the training forward pass.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "flame/core/error.h"
#include "flame/model/train_step.h"
#include "flame/tokenizer/tokenizer.h"
#include "flame/train/checkpoint.h"
#include "flame/train/export.h"
#include "flame/train/prepare_data.h"
#include "flame/train/shards.h"
#include "flame/train/trainer.h"
#include "support/test_support.h"

namespace flame {
namespace {
namespace fs = std::filesystem;

// A byte-level tokenizer: 256 byte tokens and a BOS (no merges).
std::string write_byte_tokenizer(const std::string& path) {
  tokenizer::TokenizerSpec spec;
  for (int b = 0; b < 256; ++b) {
    spec.tokens.push_back(std::string(1, static_cast<char>(b)));
    spec.types.push_back(tokenizer::TokenType::Normal);
  }
  spec.tokens.push_back("<|begin_of_text|>");
  spec.types.push_back(tokenizer::TokenType::Control);
  spec.bos_id = 256;
  tokenizer::Tokenizer(spec).save(path);
  return path;
}

TEST(TrainExportTest, ExportedGgufMatchesTrainingForward) {
  const std::string dir = test::scratch_dir("train_loop/export");
  const std::string tok_path = write_byte_tokenizer(dir + "/bytes.gguf");
  ShardWriterOptions w;
  w.tokenizer_hash = tokenizer_fingerprint(tok_path);
  w.tokenizer_path = tok_path;
  w.vocab_size = 257;
  w.block_tokens = 512;
  w.val_every = 4;
  std::vector<uint32_t> text;
  const std::string sentence = "the quick brown fox jumps over the lazy dog. ";
  for (int i = 0; i < 200; ++i)
    for (char c : sentence) text.push_back(static_cast<unsigned char>(c));
  {
    fs::remove_all(dir + "/data");
    ShardWriter writer(dir + "/data", w);
    writer.add(text.data(), static_cast<int64_t>(text.size()));
    writer.finish();
  }
  TrainOptions o;
  o.config = TrainConfig::from_toml_string(
      "[model]\ndim = 32\nn_layers = 2\nn_heads = 4\nn_kv_heads = 2\nffn_dim = 64\ntied_embeddings = false\n"
      "[train]\nbatch = 2\nseq = 16\nsteps = 4\n[optim]\nlr = 0.01\nwarmup = 1\n[eval]\ninterval = 0\n");
  o.config.data_dir = dir + "/data";
  o.config.tokenizer = tok_path;
  o.config.out_dir = dir + "/run";
  fs::remove_all(o.config.out_dir);
  run_training(o);

  const std::string gguf = dir + "/model.gguf";
  export_gguf(o.config.out_dir, gguf);
  EXPECT_EQ(tokenizer::Tokenizer::load(gguf).vocab_size(), 257);

  // Training forward on one window.
  const int64_t seq = 12;
  std::vector<uint32_t> inputs(text.begin() + 5, text.begin() + 5 + seq),
      targets(text.begin() + 6, text.begin() + 6 + seq);
  Checkpoint ck = load_checkpoint(o.config.out_dir);
  TrainWorkspace ws(ck.params.config, 1, seq);
  const double train_loss = train_forward_loss(ck.params, inputs.data(), targets.data(), 1, seq, ws);

  // Inference forward through the CLI.
  std::string ids;
  for (uint32_t t : inputs) ids += (ids.empty() ? "" : ",") + std::to_string(t);
  const auto r = test::run_cli("logits -m " + test::shell_quote(gguf) + " --tokens " + ids + " --all");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto logits = nlohmann::json::parse(r.out);
  ASSERT_EQ(static_cast<int64_t>(logits.size()), seq);
  double sum = 0;
  for (int64_t p = 0; p < seq; ++p) {
    const auto row = logits[p].get<std::vector<double>>();
    ASSERT_EQ(row.size(), 257u);
    double mx = -INFINITY;
    for (double v : row) mx = std::max(mx, v);
    double z = 0;
    for (double v : row) z += std::exp(v - mx);
    sum += (mx + std::log(z)) - row[targets[p]];
  }
  const double inference_loss = sum / seq;
  // And the logits themselves: training forward vs inference forward, max-abs error over max-abs.
  std::vector<float> train_logits(static_cast<size_t>(seq * 257));
  train_forward_logits(ck.params, inputs.data(), 1, seq, ws, train_logits.data());
  double max_abs = 0, max_err = 0;
  for (int64_t p = 0; p < seq; ++p)
    for (int64_t v = 0; v < 257; ++v) {
      const double a = train_logits[p * 257 + v], b = logits[p][v].get<double>();
      max_abs = std::max(max_abs, std::abs(a));
      max_err = std::max(max_err, std::abs(a - b));
    }
  EXPECT_LE(max_err, 1e-5 * max_abs) << "max error " << max_err << " of max " << max_abs;
  EXPECT_NEAR(inference_loss, train_loss, 1e-5 * train_loss)
      << "inference " << inference_loss << " training " << train_loss;
  // Trained a little: below the uniform 257-way loss.
  EXPECT_LT(train_loss, std::log(257.0));

  // A tokenizer other than the training one is refused.
  const std::string other = dir + "/other.json";
  tokenizer::Tokenizer::load(tok_path).save_tokenizer_json(other);
  try {
    export_gguf(o.config.out_dir, dir + "/other.gguf", other);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not the one"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flame
