#include "flame/train/export.h"

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flame/core/error.h"
#include "flame/io/atomic_file.h"
#include "flame/io/gguf.h"
#include "flame/tokenizer/tokenizer.h"
#include "flame/train/checkpoint.h"
#include "flame/train/hf_safetensors.h"
#include "flame/train/hf_tokenizer_files.h"
#include "flame/train/prepare_data.h"
#include "flame/train/shards.h"

namespace flame {
namespace fs = std::filesystem;

namespace {

std::string resolve_tokenizer(const Checkpoint& ck, const std::string& given) {
  std::string path = given;
  if (path.empty()) path = ck.config.tokenizer;
  if (path.empty() && fs::exists(fs::path(ck.config.data_dir) / "manifest.json"))
    path = Manifest::load(ck.config.data_dir).tokenizer_path;
  if (path.empty() || !fs::exists(path))
    throw ArgumentError("export",
                        fmt::format("cannot find the tokenizer of {} (tried '{}'); pass --tokenizer", ck.path, path));
  const std::string hash = tokenizer_fingerprint(path);
  if (hash != ck.state.tokenizer_hash)
    throw ArgumentError("export", fmt::format("the tokenizer {} (hash {}) is not the one {} was trained with (hash {})",
                                              path, hash, ck.path, ck.state.tokenizer_hash));
  return path;
}

}  // namespace

void export_gguf(const std::string& checkpoint, const std::string& out_path, const std::string& tokenizer_path) {
  Checkpoint ck = load_checkpoint(checkpoint);
  const auto tok = tokenizer::Tokenizer::load(resolve_tokenizer(ck, tokenizer_path));
  if (tok.vocab_size() != ck.params.config.vocab_size)
    throw ArgumentError("export", fmt::format("tokenizer vocabulary {} != model vocabulary {}", tok.vocab_size(),
                                              ck.params.config.vocab_size));
  gguf::Writer writer;
  writer.set("general.architecture", gguf::Value::string("llama"));
  writer.set("general.name", gguf::Value::string(fmt::format(
                                 "flame {} step {}", fs::path(ck.config.out_dir).filename().string(), ck.state.step)));
  ck.params.to_gguf(writer);
  tok.add_to_gguf(writer);
  writer.write(out_path);
}

void export_hf(const std::string& checkpoint, const std::string& out_dir, const std::string& tokenizer_path) {
  Checkpoint ck = load_checkpoint(checkpoint);
  const auto tok = tokenizer::Tokenizer::load(resolve_tokenizer(ck, tokenizer_path));
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw IoError(out_dir, "cannot create folder: " + ec.message());
  const LlamaConfig& c = ck.params.config;
  write_hf_safetensors((fs::path(out_dir) / "model.safetensors").string(), ck.params);
  nlohmann::json config = {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"hidden_act", "silu"},
      {"hidden_size", c.dim},
      {"intermediate_size", c.ffn_dim},
      {"num_hidden_layers", c.n_layers},
      {"num_attention_heads", c.n_heads},
      {"num_key_value_heads", c.n_kv_heads},
      {"head_dim", c.head_dim},
      {"vocab_size", c.vocab_size},
      {"max_position_embeddings", c.context_length},
      {"rms_norm_eps", c.norm_eps},
      {"rope_theta", c.rope_theta},
      {"tie_word_embeddings", c.tied_embeddings},
      {"attention_bias", false},
      {"mlp_bias", false},
      {"torch_dtype", "float32"},
  };
  if (tok.bos_id() >= 0) config["bos_token_id"] = tok.bos_id();
  if (tok.eos_id() >= 0) config["eos_token_id"] = tok.eos_id();
  io::write_file_atomically((fs::path(out_dir) / "config.json").string(), config.dump(2) + "\n");
  write_hf_tokenizer_files(tok, c, out_dir);
}

}  // namespace flame
