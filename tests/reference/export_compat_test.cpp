// What other tools need from `flame export`: a model trained here with a BPE tokenizer trained here
// is exported both ways, then
// - the Hugging Face folder's tokenizer.json encodes like the checkpoint's tokenizer, and an
//   independent Python check (tests/reference/hf_tokenizer_files_check.py, json only) accepts the
//   four tokenizer files;
// - the GGUF passes tests/reference/llama_cpp_gguf_check.py, which restates llama.cpp's loader
//   rules from its source (file and rule cited there), and deliberately broken variants fail it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "flame/io/gguf.h"
#include "flame/tokenizer/tokenizer.h"
#include "flame/tokenizer/trainer.h"
#include "flame/train/checkpoint.h"
#include "flame/train/export.h"
#include "flame/train/prepare_data.h"
#include "flame/train/trainer.h"
#include "support/test_support.h"

namespace flame {
namespace {
namespace fs = std::filesystem;

struct Exported {
  std::string dir, tokenizer, hf_dir, gguf, run;
};

// Trains a 400-token BPE on this repository's docs, a tiny model for 3 steps, and exports it.
const Exported& exported() {
  static const Exported e = [] {
    Exported x;
    x.dir = test::scratch_dir("export_compat");
    std::string corpus;
    for (const auto& entry : fs::directory_iterator(test::source_dir() + "/docs")) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      corpus += ss.str();
    }
    const std::string corpus_path = x.dir + "/corpus.txt";
    std::ofstream(corpus_path, std::ios::binary) << corpus;
    tokenizer::TrainerOptions topt;
    topt.vocab_size = 400;
    x.tokenizer = x.dir + "/tok.gguf";
    tokenizer::train_bpe(corpus, topt).save(x.tokenizer);

    PrepareDataOptions d;
    d.corpus = corpus_path;
    d.tokenizer = x.tokenizer;
    d.out_dir = x.dir + "/data";
    d.block_tokens = 256;
    d.val_every = 4;
    fs::remove_all(d.out_dir);
    prepare_data(d);

    TrainOptions o;
    o.config = TrainConfig::from_toml_string(
        "[model]\ndim = 32\nn_layers = 2\nn_heads = 4\nn_kv_heads = 2\nffn_dim = 64\ntied_embeddings = false\n"
        "[train]\nbatch = 2\nseq = 16\nsteps = 3\n[optim]\nwarmup = 1\n[eval]\ninterval = 0\n[run]\npeak_gflops = "
        "100\n");
    o.config.data_dir = d.out_dir;
    o.config.tokenizer = x.tokenizer;
    o.config.out_dir = x.run = x.dir + "/run";
    fs::remove_all(x.run);
    run_training(o);

    x.hf_dir = x.dir + "/hf";
    x.gguf = x.dir + "/model.gguf";
    fs::remove_all(x.hf_dir);
    export_hf(x.run, x.hf_dir);
    export_gguf(x.run, x.gguf);
    return x;
  }();
  return e;
}

test::CommandResult run_checker(const std::string& script, const std::string& target) {
  return test::run_command("/usr/bin/python3 " + test::shell_quote(test::source_dir() + "/tests/reference/" + script) +
                           " " + test::shell_quote(target));
}

TEST(ExportCompat, HfTokenizerJsonEncodesLikeTheCheckpointTokenizer) {
  const Exported& e = exported();
  const auto original = tokenizer::Tokenizer::load(e.tokenizer);
  const auto from_hf = tokenizer::Tokenizer::load(e.hf_dir + "/tokenizer.json");
  ASSERT_EQ(from_hf.vocab_size(), original.vocab_size());
  EXPECT_EQ(from_hf.bos_id(), original.bos_id());
  EXPECT_EQ(from_hf.eos_id(), original.eos_id());
  EXPECT_EQ(from_hf.eot_id(), original.eot_id());
  EXPECT_EQ(from_hf.spec().add_bos, original.spec().add_bos);
  EXPECT_EQ(from_hf.spec().merges, original.spec().merges);
  const std::string text =
      "The tokenizer's test: don't SPLIT it wrongly!\n\n  Numbers 1234567 and 3.14159; code `x += y[i]`;\t"
      "tabs, trailing spaces   \nUnicode: café, naïve, Ελληνικά, 日本語, emoji "
      "🙂👍🏽.\r\nEnd<|eot_id|>.";
  for (bool special : {false, true}) {
    tokenizer::EncodeOptions opt;
    opt.parse_special = special;
    const auto a = original.encode(text, opt), b = from_hf.encode(text, opt);
    EXPECT_EQ(a, b) << "parse_special " << special;
    EXPECT_GT(a.size(), 40u);
  }
}

TEST(ExportCompat, HfTokenizerFilesPassTheIndependentCheck) {
  const Exported& e = exported();
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                           "generation_config.json", "config.json", "model.safetensors"})
    EXPECT_TRUE(fs::exists(e.hf_dir + "/" + name)) << name;
  const auto ok = run_checker("hf_tokenizer_files_check.py", e.hf_dir);
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("ok: "), std::string::npos) << ok.out;

  // The check can fail: drop the TemplateProcessing "pair" that tokenizers requires.
  const std::string broken = e.dir + "/hf_broken";
  fs::remove_all(broken);
  fs::copy(e.hf_dir, broken);
  nlohmann::json tok;
  std::ifstream(broken + "/tokenizer.json") >> tok;
  auto& processors = tok["post_processor"]["processors"];
  ASSERT_TRUE(processors.is_array());
  for (auto& p : processors)
    if (p["type"] == "TemplateProcessing") p.erase("pair");
  std::ofstream(broken + "/tokenizer.json") << tok.dump();
  const auto fail = run_checker("hf_tokenizer_files_check.py", broken);
  EXPECT_EQ(fail.exit_code, 1) << fail.out << fail.err;
  EXPECT_NE(fail.out.find("[T4] TemplateProcessing lacks 'pair'"), std::string::npos) << fail.out;
}

TEST(ExportCompat, ExportedGgufMeetsLlamaCppLoaderRules) {
  const Exported& e = exported();
  const auto ok = run_checker("llama_cpp_gguf_check.py", e.gguf);
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("ok: llama, 2 layers, dim 32, heads 4/2, ffn 64, vocab 400, pre llama-bpe"), std::string::npos)
      << ok.out;
}

TEST(ExportCompat, LlamaCppCheckerRejectsWhatLlamaCppRejects) {
  const Exported& e = exported();
  const Checkpoint ck = load_checkpoint(e.run);
  const auto tok = tokenizer::Tokenizer::load(e.tokenizer);
  struct Case {
    const char* name;
    std::function<void(gguf::Writer&)> mutate;
    const char* expected;
  };
  Tensor extra = Tensor::zeros(DType::F32, {32});
  const std::vector<Case> cases = {
      {"extra_tensor", [&](gguf::Writer& w) { w.add_tensor("blk.0.extra.weight", extra); }, "[L3] tensor blk.0.extra"},
      {"pre_gpt2", [](gguf::Writer& w) { w.set("tokenizer.ggml.pre", gguf::Value::string("gpt2")); },
       "[V2] tokenizer.ggml.pre 'gpt2'"},
      {"i32_context", [](gguf::Writer& w) { w.set("llama.context_length", gguf::Value::i32(32)); },
       "[L1] key llama.context_length has type i32"},
  };
  for (const Case& c : cases) {
    gguf::Writer w;
    w.set("general.architecture", gguf::Value::string("llama"));
    ck.params.to_gguf(w);
    tok.add_to_gguf(w);
    c.mutate(w);
    const std::string path = e.dir + "/bad_" + c.name + ".gguf";
    w.write(path);
    const auto r = run_checker("llama_cpp_gguf_check.py", path);
    EXPECT_EQ(r.exit_code, 1) << c.name << ": " << r.out << r.err;
    EXPECT_NE(r.out.find(c.expected), std::string::npos) << c.name << ": " << r.out;
  }
}

}  // namespace
}  // namespace flame
