// `init_from` (HF safetensors) + `--dump-grads` against an independent PyTorch Llama written from
// the Hugging Face definition (tests/reference/hf_grads_reference.py): same initial weights, the
// batch flame records in the dump => loss within 1e-5 relative, every gradient within 1e-4
// (max-abs error over max-abs), names and Q/K row order in HF layout. GQA + untied, MHA + tied.
#include <gtest/gtest.h>

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flame/train/shards.h"
#include "flame/train/trainer.h"
#include "support/test_support.h"

namespace flame {
namespace {
namespace fs = std::filesystem;

struct Shape {
  int dim, layers, heads, kv, ffn, vocab;
  bool tied;
};

void check_shape(const Shape& s, const std::string& name) {
  const std::string dir = test::scratch_dir("train_loop/hf_grads_" + name);
  ShardWriterOptions w;
  w.tokenizer_hash = "synthetic";
  w.vocab_size = s.vocab;
  w.block_tokens = 256;
  w.val_every = 4;
  std::vector<uint32_t> ids(3000);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<uint32_t>((i * 7 + i / 13) % s.vocab);
  fs::remove_all(dir + "/data");
  {
    ShardWriter writer(dir + "/data", w);
    writer.add(ids.data(), static_cast<int64_t>(ids.size()));
    writer.finish();
  }
  test::run_python("tests/reference/hf_grads_reference.py",
                   fmt::format("init {} {} {} {} {} {} {} {}", test::shell_quote(dir), s.dim, s.layers, s.heads, s.kv,
                               s.ffn, s.vocab, s.tied ? 1 : 0));
  TrainOptions o;
  o.config = TrainConfig::from_toml_string(fmt::format(
      "[model]\ndim = {}\nn_layers = {}\nn_heads = {}\nn_kv_heads = {}\nffn_dim = {}\ntied_embeddings = {}\n"
      "rope_theta = 10000.0\nnorm_eps = 1e-5\n[train]\nbatch = 2\nseq = 8\ngrad_accum = 2\nsteps = 1\n[optim]\nwarmup "
      "= 0\n",
      s.dim, s.layers, s.heads, s.kv, s.ffn, s.tied));
  o.config.data_dir = dir + "/data";
  o.config.out_dir = dir + "/run";
  o.config.init_from = dir + "/init.safetensors";
  o.dump_grads = dir + "/grads.safetensors";
  run_training(o);
  const std::string out = test::run_python("tests/reference/hf_grads_reference.py", "check " + test::shell_quote(dir));
  const auto report = nlohmann::json::parse(out);
  EXPECT_TRUE(report["ok"].get<bool>()) << out;
  EXPECT_EQ(report["tensors"].size(), static_cast<size_t>(2 + 9 * s.layers + (s.tied ? 0 : 1))) << out;
}

TEST(TrainHfGradsTest, GqaUntiedMatchesPyTorch) {
  check_shape({32, 2, 4, 2, 64, 64, false}, "gqa_untied");
}
TEST(TrainHfGradsTest, MhaTiedMatchesPyTorch) {
  check_shape({48, 1, 3, 3, 96, 80, true}, "mha_tied");
}

}  // namespace
}  // namespace flame
