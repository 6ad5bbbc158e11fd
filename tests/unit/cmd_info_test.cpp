// `flame info`: the text and JSON reports on a small Llama-like GGUF file and a safetensors file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "flame/io/gguf.h"
#include "flame/io/safetensors.h"
#include "support/test_support.h"

namespace flame {
namespace {

using gguf::Value;

std::string llama_like_file() {
  const std::string path = test::scratch_dir("cmd_info") + "/tiny_llama.gguf";
  gguf::Writer w;
  w.set("general.architecture", Value::string("llama"));
  w.set("general.name", Value::string("tiny"));
  w.set("llama.context_length", Value::u32(256));
  w.set("llama.embedding_length", Value::u32(64));
  w.set("llama.block_count", Value::u32(1));
  w.set("llama.attention.head_count", Value::u32(4));
  w.set("llama.attention.layer_norm_rms_epsilon", Value::f32(1e-5f));
  w.set("tokenizer.ggml.model", Value::string("gpt2"));
  w.set("tokenizer.ggml.pre", Value::string("llama-bpe"));
  w.set("tokenizer.ggml.tokens", Value::strings({"a", "b", "c", "<|begin_of_text|>", "<|eot_id|>"}));
  w.set("tokenizer.ggml.merges", Value::strings({"a b"}));
  w.set("tokenizer.ggml.bos_token_id", Value::u32(3));
  w.set("tokenizer.ggml.eos_token_id", Value::u32(4));
  w.set("tokenizer.chat_template", Value::string("{{ messages }}"));
  w.add_tensor("token_embd.weight", Tensor::empty(DType::F16, {5, 64}));
  w.add_tensor("output_norm.weight", Tensor::empty(DType::F32, {64}));
  for (int i = 0; i < 20; ++i) w.add_tensor("extra." + std::to_string(i), Tensor::empty(DType::Q8_0, {2, 64}));
  w.write(path);
  return path;
}

TEST(CmdInfo, TextReport) {
  const std::string path = llama_like_file();
  const auto r = test::run_cli("info -m " + test::shell_quote(path));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* expected :
       {"GGUF v3", "architecture:  llama", "context_length", "256", "layer_norm_rms_epsilon",
        "model                                    \"gpt2\"", "1e-05", "vocab_size                               5",
        "bos_token_id                             3", "chat_template                            true",
        "tensors:       22", "q8_0         20 tensors", "token_embd.weight", "[5, 64]", "6 more (--tensors lists all)"})
    EXPECT_NE(r.out.find(expected), std::string::npos) << "missing: " << expected << "\n" << r.out;
  const auto all = test::run_cli("info --tensors -m " + test::shell_quote(path));
  EXPECT_NE(all.out.find("extra.19"), std::string::npos);
  EXPECT_EQ(all.out.find("more (--tensors"), std::string::npos);
}

TEST(CmdInfo, JsonReport) {
  const std::string path = llama_like_file();
  const auto r = test::run_cli("info --json -m " + test::shell_quote(path));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["format"], "gguf");
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["hyperparameters"]["embedding_length"], 64);
  EXPECT_EQ(j["tokenizer"]["vocab_size"], 5);
  EXPECT_EQ(j["tokenizer"]["eos_token_id"], 4);
  EXPECT_EQ(j["tokenizer"]["chat_template"], true);
  EXPECT_EQ(j["tensor_count"], 22);
  EXPECT_EQ(j["tensor_types"]["q8_0"]["count"], 20);
  EXPECT_EQ(j["tensor_types"]["q8_0"]["bytes"], 20 * 2 * 68);
  EXPECT_EQ(j["tensor_types"]["f16"]["bytes"], 5 * 64 * 2);
  EXPECT_EQ(j["total_tensor_bytes"], 20 * 2 * 68 + 5 * 64 * 2 + 64 * 4);
  EXPECT_EQ(j["tensors"][0]["shape"], nlohmann::json::array({5, 64}));
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.merges"], nlohmann::json::array({"a b"}));
}

TEST(CmdInfo, Safetensors) {
  const std::string path = test::scratch_dir("cmd_info") + "/t.safetensors";
  safetensors::Writer w;
  w.set_metadata("format", "pt");
  w.add_tensor("model.norm.weight", Tensor::empty(DType::BF16, {3, 8}));
  w.write(path);
  const auto r = test::run_cli("info --json -m " + test::shell_quote(path));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["format"], "safetensors");
  EXPECT_EQ(j["tensors"][0]["type"], "BF16");
  EXPECT_EQ(j["tensors"][0]["bytes"], 48);
  EXPECT_EQ(j["metadata"]["format"], "pt");
}

}  // namespace
}  // namespace flame
