// Training loop pieces: TOML config, shards + data loader, SVG chart, HF layout, seeded init, and
// the trainer itself (loss goes down, interrupted + resumed == uninterrupted bit for bit, bad input).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "flame/core/error.h"
#include "flame/core/thread_pool.h"
#include "flame/train/checkpoint.h"
#include "flame/train/data_loader.h"
#include "flame/train/hf_layout.h"
#include "flame/train/init.h"
#include "flame/train/shards.h"
#include "flame/train/svg_plot.h"
#include "flame/train/train_config.h"
#include "flame/train/trainer.h"
#include "support/test_support.h"

namespace flame {
namespace {
namespace fs = std::filesystem;

const char* kTinyToml = R"(
[model]
dim = 32
n_layers = 2
n_heads = 4
n_kv_heads = 2
ffn_dim = 64
tied_embeddings = false
[train]
batch = 4
seq = 16
steps = 8
seed = 7
[optim]
lr = 0.01
warmup = 2
[eval]
interval = 4
batches = 2
[checkpoint]
interval = 0
)";

template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TrainConfigTest, ParsesOverridesAndRoundTrips) {
  TrainConfig c = TrainConfig::from_toml_string(kTinyToml);
  EXPECT_EQ(c.dim, 32);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_DOUBLE_EQ(c.lr, 0.01);
  c.apply_override("train.steps=20");
  c.apply_override("max_steps=5");
  c.apply_override("schedule=wsd");
  c.apply_override("data.dir=some/where");
  EXPECT_EQ(c.steps, 20);
  EXPECT_EQ(c.max_steps, 5);
  EXPECT_EQ(c.schedule, "wsd");
  EXPECT_EQ(c.data_dir, "some/where");
  c.validate();
  const TrainConfig back = TrainConfig::from_toml_string(c.to_toml());
  EXPECT_EQ(back.to_toml(), c.to_toml());
  EXPECT_EQ(back.trajectory_hash(), c.trajectory_hash());
}

TEST(TrainConfigTest, TrajectoryHashIgnoresStopPointButNotOptimizer) {
  TrainConfig a = TrainConfig::from_toml_string(kTinyToml), b = a;
  b.max_steps = 3;
  b.out_dir = "elsewhere";
  b.eval_interval = 1;
  EXPECT_EQ(a.trajectory_hash(), b.trajectory_hash());
  b.lr = 0.02;
  EXPECT_NE(a.trajectory_hash(), b.trajectory_hash());
}

TEST(TrainConfigTest, ClearErrors) {
  auto bad = [](const std::string& toml, const std::string& set = "") {
    return error_of([&] {
      TrainConfig c = TrainConfig::from_toml_string(toml, "cfg.toml");
      c.data_dir = "d";
      if (!set.empty()) c.apply_override(set);
      c.validate();
    });
  };
  EXPECT_NE(bad("[model]\ndim = 30\nn_heads = 4\n").find("model.dim (30) is not divisible by model.n_heads (4)"),
            std::string::npos);
  EXPECT_NE(
      bad("[model]\nn_heads = 4\nn_kv_heads = 3\n").find("model.n_kv_heads (3) does not divide model.n_heads (4)"),
      std::string::npos);
  EXPECT_NE(bad("[model]\ndimm = 3\n").find("unknown key model.dimm"), std::string::npos);
  EXPECT_NE(bad("[model]\ndim = \"big\"\n").find("model.dim must be an integer"), std::string::npos);
  EXPECT_NE(bad("[model\n").find("cfg.toml: TOML syntax error at line 1"), std::string::npos);
  EXPECT_NE(bad("", "optim.schedule=linear").find("optim.schedule must be \"cosine\" or \"wsd\""), std::string::npos);
  EXPECT_NE(bad("", "nosuchkey=1").find("unknown key 'nosuchkey'"), std::string::npos);
  EXPECT_NE(bad("", "interval=1").find("ambiguous"), std::string::npos);
  EXPECT_NE(bad("", "train.batch=0").find("train.batch must be positive"), std::string::npos);
  EXPECT_NE(error_of([] { TrainConfig().validate(); }).find("data.dir is not set"), std::string::npos);
}

// Shards of `n` tokens following a learnable pattern (t -> (3t + 1) mod vocab, restarting sometimes).
Manifest write_pattern_shards(const std::string& dir, int64_t n, int64_t vocab, int64_t block = 256,
                              int64_t val_every = 4) {
  fs::remove_all(dir);
  ShardWriterOptions o;
  o.tokenizer_hash = "pattern-v1";
  o.vocab_size = vocab;
  o.block_tokens = block;
  o.val_every = val_every;
  o.shard_tokens = 1000;  // several train shards
  ShardWriter w(dir, o);
  std::vector<uint32_t> ids(static_cast<size_t>(n));
  uint32_t t = 0;
  for (int64_t i = 0; i < n; ++i) {
    ids[i] = t;
    t = (i % 97 == 0) ? static_cast<uint32_t>(i % vocab) : static_cast<uint32_t>((3 * t + 1) % vocab);
  }
  w.add(ids.data(), n / 2);
  w.add(ids.data() + n / 2, n - n / 2);
  return w.finish();
}

TEST(ShardsTest, ManifestSplitsAndValidates) {
  const std::string dir = test::scratch_dir("train_loop/shards");
  const Manifest m = write_pattern_shards(dir, 5000, 64);
  EXPECT_EQ(m.train_tokens + m.val_tokens, 5000);
  // 19 full blocks of 256 (every 4th held out: 4 of them) + a partial block of 136 (train).
  EXPECT_EQ(m.val_tokens, 4 * 256);
  EXPECT_GT(m.train.size(), 1u);
  const Manifest loaded = Manifest::load(dir);
  EXPECT_EQ(loaded.train_tokens, m.train_tokens);
  EXPECT_EQ(loaded.train.size(), m.train.size());
  EXPECT_NO_THROW(loaded.check_tokenizer("pattern-v1", "tok"));
  EXPECT_NE(error_of([&] { loaded.check_tokenizer("other", "tok.json"); }).find("were made with another tokenizer"),
            std::string::npos);
  // A truncated shard is reported with its name.
  fs::resize_file(fs::path(dir) / m.train[0].file, 12);
  EXPECT_NE(error_of([&] { Manifest::load(dir); }).find(m.train[0].file), std::string::npos);
}

TEST(ShardsTest, EmptyAndTinyCorporaAreErrors) {
  const std::string dir = test::scratch_dir("train_loop/tiny_shards");
  ShardWriterOptions o;
  o.vocab_size = 10;
  o.block_tokens = 8;
  EXPECT_NE(error_of([&] { ShardWriter(dir, o).finish(); }).find("no tokens"), std::string::npos);
  ShardWriter w(dir, o);
  const uint32_t ids[5] = {1, 2, 3, 4, 5};
  w.add(ids, 5);
  EXPECT_NE(error_of([&] { w.finish(); }).find("too small"), std::string::npos);
  ShardWriter w2(dir, o);
  const uint32_t big[1] = {10};
  EXPECT_NE(error_of([&] { w2.add(big, 1); }).find("outside the vocabulary"), std::string::npos);
}

TEST(DataLoaderTest, WindowsAreConsecutiveDeterministicAndResumable) {
  const std::string dir = test::scratch_dir("train_loop/loader");
  write_pattern_shards(dir, 5000, 64);
  const Manifest m = Manifest::load(dir);
  const int64_t seq = 16, batch = 3;
  DataLoader a(m, DataLoader::Split::Train, seq, batch, 42), b(m, DataLoader::Split::Train, seq, batch, 42);
  std::vector<uint32_t> in_a(seq * batch), tg_a(seq * batch), in_b(seq * batch), tg_b(seq * batch);
  for (int i = 0; i < 5; ++i) a.next_batch(in_a.data(), tg_a.data());
  b.seek(a.position());
  a.next_batch(in_a.data(), tg_a.data());
  b.next_batch(in_b.data(), tg_b.data());
  EXPECT_EQ(in_a, in_b);
  EXPECT_EQ(tg_a, tg_b);
  for (int64_t r = 0; r < batch; ++r)
    for (int64_t t = 0; t + 1 < seq; ++t) EXPECT_EQ(tg_a[r * seq + t], in_a[r * seq + t + 1]);
  // Another seed gives other windows.
  DataLoader c(m, DataLoader::Split::Train, seq, batch, 43);
  c.seek(b.position() - batch);
  c.next_batch(in_b.data(), tg_b.data());
  EXPECT_NE(in_a, in_b);
  // Validation windows are fixed.
  DataLoader v(m, DataLoader::Split::Val, seq, batch, 1);
  v.eval_batch(1, 2, in_a.data(), tg_a.data());
  v.eval_batch(1, 2, in_b.data(), tg_b.data());
  EXPECT_EQ(in_a, in_b);
  EXPECT_NE(error_of([&] { DataLoader(m, DataLoader::Split::Val, 1100, 1, 1); }).find("a window needs seq+1 = 1101"),
            std::string::npos);
}

TEST(SvgPlotTest, TicksAndChart) {
  EXPECT_EQ(nice_ticks(0, 10, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(nice_ticks(0.13, 0.61, 5), (std::vector<double>{0.2, 0.3, 0.4, 0.5, 0.6}));
  LineChart chart{"Loss <test>", "step", "loss", {{"train", "#123456", {{1, 5.0}, {2, 4.0}, {3, NAN}}}}};
  const std::string svg = chart.to_svg();
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("Loss &lt;test&gt;"), std::string::npos);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

TEST(HfLayoutTest, NamesAndRowOrder) {
  EXPECT_EQ(hf_name("blk.3.attn_q.weight"), "model.layers.3.self_attn.q_proj.weight");
  EXPECT_EQ(hf_name("token_embd.weight"), "model.embed_tokens.weight");
  EXPECT_EQ(gguf_name_from_hf("model.layers.11.mlp.down_proj.weight"), "blk.11.ffn_down.weight");
  EXPECT_EQ(gguf_name_from_hf("lm_head.weight"), "output.weight");
  EXPECT_THROW(gguf_name_from_hf("model.layers.0.self_attn.rotary_emb.inv_freq"), ArgumentError);
  // One head of 4 rows: HF rotates halves (0,2) and (1,3); GGUF stores them as adjacent pairs,
  // so GGUF row order is HF rows 0, 2, 1, 3 (llama.cpp convert_hf_to_gguf.py permute).
  Tensor hf = Tensor::empty(DType::F32, {8, 1});
  for (int i = 0; i < 8; ++i) hf.data<float>()[i] = static_cast<float>(i);
  const Tensor gguf = from_hf_rows(hf, 2);
  const std::vector<float> expected = {0, 2, 1, 3, 4, 6, 5, 7};
  EXPECT_EQ(std::vector<float>(gguf.data<float>(), gguf.data<float>() + 8), expected);
  const Tensor back = to_hf_rows(gguf, 2);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(back.data<float>()[i], static_cast<float>(i));
}

TEST(InitTest, SeededNormalIndependentOfThreads) {
  TrainConfig tc = TrainConfig::from_toml_string(kTinyToml);
  const LlamaConfig c = tc.llama_config(64);
  LlamaWeights a = LlamaWeights::allocate(c), b = LlamaWeights::allocate(c), d = LlamaWeights::allocate(c);
  ThreadPool::set_global_threads(1);
  init_random(a, 5, 0.02);
  ThreadPool::set_global_threads(2);
  init_random(b, 5, 0.02);
  init_random(d, 6, 0.02);
  ThreadPool::set_global_threads(0);
  const Tensor& wa = a.layers[0].wq;
  EXPECT_EQ(std::memcmp(wa.data(), b.layers[0].wq.data(), wa.nbytes()), 0);
  EXPECT_NE(std::memcmp(wa.data(), d.layers[0].wq.data(), wa.nbytes()), 0);
  EXPECT_EQ(a.layers[1].attn_norm.data<float>()[3], 1.0f);
  // Standard deviation of the embedding (64 x 32 values) within 10% of 0.02; residual projections smaller.
  auto stddev = [](const Tensor& t) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < t.numel(); ++i)
      s += t.data<float>()[i], s2 += double(t.data<float>()[i]) * t.data<float>()[i];
    const double n = static_cast<double>(t.numel());
    return std::sqrt(s2 / n - (s / n) * (s / n));
  };
  EXPECT_NEAR(stddev(a.token_embd), 0.02, 0.002);
  EXPECT_NEAR(stddev(a.layers[0].wo), 0.02 / 2.0, 0.0015);
}

std::vector<double> losses_of(const std::string& log) {
  std::vector<double> out;
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) out.push_back(j["loss"].get<double>());
  }
  return out;
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root = test::scratch_dir("train_loop/trainer");  // per shard: SetUp rewrites the data folder
    data = root + "/data";
    write_pattern_shards(data, 20000, 64, 512, 5);
  }
  TrainOptions options(const std::string& out) {
    TrainOptions o;
    o.config = TrainConfig::from_toml_string(kTinyToml);
    o.config.data_dir = data;
    o.config.out_dir = root + "/" + out;
    fs::remove_all(o.config.out_dir);
    return o;
  }
  std::string root, data;
};

TEST_F(TrainerTest, ResumedRunEqualsUninterruptedBitForBit) {
  TrainOptions full = options("full");
  const TrainResult r = run_training(full);
  EXPECT_EQ(r.step, 8);
  const auto expected = losses_of(full.config.out_dir + "/train.jsonl");
  ASSERT_EQ(expected.size(), 8u);
  EXPECT_LT(expected.back(), expected.front());  // it learns
  EXPECT_TRUE(fs::exists(full.config.out_dir + "/loss.svg"));

  TrainOptions part = options("part");
  part.config.max_steps = 3;
  EXPECT_EQ(run_training(part).step, 3);
  TrainOptions rest = options("unused");
  rest.resume_dir = part.config.out_dir;
  EXPECT_EQ(run_training(rest).step, 8);
  const auto resumed = losses_of(part.config.out_dir + "/train.jsonl");
  ASSERT_EQ(resumed.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(resumed[i], expected[i]) << "step " << i + 1;

  // The final checkpoints hold the same parameters.
  const Checkpoint a = load_checkpoint(full.config.out_dir), b = load_checkpoint(part.config.out_dir);
  EXPECT_EQ(a.state.step, 8);
  EXPECT_EQ(std::memcmp(a.params.layers[1].w_down.data(), b.params.layers[1].w_down.data(),
                        a.params.layers[1].w_down.nbytes()),
            0);
}

TEST_F(TrainerTest, LogOpensWithTheGemmPeakMeasuredOrConfigured) {
  auto first_record = [](const std::string& log) {
    std::ifstream in(log);
    std::string line;
    std::getline(in, line);
    return nlohmann::json::parse(line);
  };
  TrainOptions measured = options("peak_measured");
  measured.config.steps = 2;
  run_training(measured);
  const auto m = first_record(measured.config.out_dir + "/train.jsonl");
  EXPECT_EQ(m.value("event", ""), "start");
  EXPECT_EQ(m.value("peak_source", ""), "measured");
  EXPECT_GT(m.value("peak_gflops", 0.0), 1.0);

  TrainOptions configured = options("peak_config");
  configured.config.steps = 2;
  configured.config.peak_gflops = 123.5;
  run_training(configured);
  const auto c = first_record(configured.config.out_dir + "/train.jsonl");
  EXPECT_EQ(c.value("peak_source", ""), "config");
  EXPECT_EQ(c.value("peak_gflops", 0.0), 123.5);
  // The per-step MFU uses that peak: mfu = tokens/s x FLOPs per token / peak.
  std::ifstream in(configured.config.out_dir + "/train.jsonl");
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("mfu")) continue;
    EXPECT_NEAR(j["mfu"].get<double>(), j["tokens_per_s"].get<double>() * c["flops_per_token"].get<double>() / 123.5e9,
                1e-9);
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

// A real full disk: the run folder on a tmpfs that holds one checkpoint but not a second one
// beside it (the atomic write needs both until the rename). Needs root and a working mount.
TEST_F(TrainerTest, FullDiskDuringACheckpointKeepsTheLastOneResumable) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  auto read_bytes = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  TrainOptions sizing = options("enospc_sizing");
  sizing.config.max_steps = 2;
  run_training(sizing);
  const auto checkpoint_bytes = fs::file_size(sizing.config.out_dir + "/checkpoint.gguf");
  // Room for one checkpoint plus half of another (and the small logs), in whole pages.
  const uint64_t tmpfs_bytes = (checkpoint_bytes * 3 / 2 + 4095) / 4096 * 4096;

  const std::string mount_point = root + "/enospc_tmpfs";
  test::run_command("umount " + test::shell_quote(mount_point) + " 2>/dev/null");
  fs::remove_all(mount_point);
  fs::create_directories(mount_point);
  const auto mounted =
      test::run_command(fmt::format("mount -t tmpfs -o size={} tmpfs {}", tmpfs_bytes, test::shell_quote(mount_point)));
  if (mounted.exit_code != 0) GTEST_SKIP() << "cannot mount a tmpfs here: " << mounted.err;
  struct Unmount {
    std::string dir;
    ~Unmount() { test::run_command("umount " + test::shell_quote(dir)); }
  } unmount{mount_point};

  const std::string run = mount_point + "/run", toml = root + "/enospc.toml";
  TrainOptions o = options("unused_enospc");
  o.config.out_dir = run;
  o.config.checkpoint_interval = 2;
  o.config.peak_gflops = 100;
  std::ofstream(toml) << o.config.to_toml();
  const std::string threads = std::to_string(ThreadPool::global().size());
  const auto first = test::run_cli("train " + test::shell_quote(toml) + " -t " + threads + " --set max_steps=2");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string good = read_bytes(run + "/checkpoint.gguf");
  // The sizing run differs only in the config text stored in the checkpoint (paths, peak), so the
  // sizes agree to a few hundred bytes; the tmpfs has half a checkpoint of slack.
  ASSERT_LT(std::abs(static_cast<double>(good.size()) - static_cast<double>(checkpoint_bytes)), 1024.0);

  // Steps 3-4 train, then the step-4 checkpoint does not fit next to the step-2 one.
  const auto full =
      test::run_cli("train " + test::shell_quote(toml) + " -t " + threads + " --resume " + test::shell_quote(run));
  EXPECT_EQ(full.exit_code, 1) << full.err;
  EXPECT_NE(full.err.find("no space left on device (ENOSPC)"), std::string::npos) << full.err;
  EXPECT_NE(full.err.find(run + "/checkpoint.gguf"), std::string::npos) << full.err;
  EXPECT_EQ(read_bytes(run + "/checkpoint.gguf"), good) << "the last good checkpoint changed";
  for (const auto& entry : fs::directory_iterator(run))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos)
        << "temporary file left behind: " << entry.path();

  // The surviving checkpoint resumes (off the full disk) to the uninterrupted run's losses.
  const std::string copy = root + "/enospc_copy";
  fs::remove_all(copy);
  fs::copy(run, copy);
  TrainOptions full_run = options("enospc_reference");
  run_training(full_run);
  TrainOptions rest = options("unused_enospc2");
  rest.resume_dir = copy;
  EXPECT_EQ(run_training(rest).step, 8);
  const auto expected = losses_of(full_run.config.out_dir + "/train.jsonl"), resumed = losses_of(copy + "/train.jsonl");
  ASSERT_EQ(resumed.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(resumed[i], expected[i]) << "step " << i + 1;
}

TEST_F(TrainerTest, ResumeUnderAnotherConfigIsAnError) {
  TrainOptions part = options("other_config");
  part.config.max_steps = 2;
  run_training(part);
  TrainOptions rest = options("unused2");
  rest.resume_dir = part.config.out_dir;
  rest.config.lr = 0.5;
  const std::string err = error_of([&] { run_training(rest); });
  EXPECT_NE(err.find("was made with another config"), std::string::npos) << err;
  EXPECT_NE(err.find("lr = 0.01 (checkpoint) vs 0.5 (now)"), std::string::npos) << err;
}

TEST_F(TrainerTest, NonFiniteLossesStopWithTheLastCheckpointIntact) {
  TrainOptions o = options("nan");
  o.config.steps = 30;
  o.config.lr = 1e30;
  o.config.clip = 0;
  o.config.warmup = 0;
  o.config.checkpoint_interval = 1;
  o.config.max_bad_steps = 2;
  const std::string err = error_of([&] { run_training(o); });
  EXPECT_NE(err.find("consecutive steps had a non-finite loss or gradient"), std::string::npos) << err;
  const Checkpoint c = load_checkpoint(o.config.out_dir);
  EXPECT_GE(c.state.step, 1);
  EXPECT_LT(c.state.step, 30);
}

}  // namespace
}  // namespace flame
