#include "flame/train/hf_tokenizer_files.h"

#include <filesystem>

#include "flame/io/atomic_file.h"

namespace flame {
namespace {

using nlohmann::json;
using tokenizer::TokenType;

// transformers' AddedToken as serialized in special_tokens_map.json (no "special" key there).
json added_token(const std::string& content) {
  return {{"content", content}, {"lstrip", false}, {"normalized", false}, {"rstrip", false}, {"single_word", false}};
}

std::string text_of(const tokenizer::Tokenizer& tok, int32_t id) {
  return id >= 0 ? tok.spec().tokens[id] : "";
}

}  // namespace

json hf_tokenizer_config(const tokenizer::Tokenizer& tok, const LlamaConfig& model) {
  const auto& s = tok.spec();
  json decoder = json::object();
  for (size_t id = 0; id < s.tokens.size(); ++id) {
    if (s.types[id] != TokenType::Control && s.types[id] != TokenType::UserDefined) continue;
    json entry = added_token(s.tokens[id]);
    entry["special"] = s.types[id] == TokenType::Control;
    decoder[std::to_string(id)] = entry;
  }
  json config = {
      {"added_tokens_decoder", decoder},
      {"clean_up_tokenization_spaces", true},
      {"model_input_names", {"input_ids", "attention_mask"}},
      {"model_max_length", model.context_length > 0 ? model.context_length : 131072},
      {"tokenizer_class", "PreTrainedTokenizerFast"},
  };
  // null, not absent, when the tokenizer has none: transformers reads a missing bos_token as None too.
  config["bos_token"] = s.bos_id >= 0 ? json(text_of(tok, s.bos_id)) : json(nullptr);
  config["eos_token"] = s.eos_id >= 0 ? json(text_of(tok, s.eos_id)) : json(nullptr);
  if (s.pad_id >= 0) config["pad_token"] = text_of(tok, s.pad_id);
  if (!s.chat_template.empty()) config["chat_template"] = s.chat_template;
  return config;
}

json hf_special_tokens_map(const tokenizer::Tokenizer& tok) {
  const auto& s = tok.spec();
  json map = json::object();
  if (s.bos_id >= 0) map["bos_token"] = added_token(text_of(tok, s.bos_id));
  if (s.eos_id >= 0) map["eos_token"] = added_token(text_of(tok, s.eos_id));
  if (s.pad_id >= 0) map["pad_token"] = added_token(text_of(tok, s.pad_id));
  return map;
}

json hf_generation_config(const tokenizer::Tokenizer& tok) {
  const auto& s = tok.spec();
  json config = {{"_from_model_config", true}};
  if (s.bos_id >= 0) config["bos_token_id"] = s.bos_id;
  // flame stops at EOS and at EOT (<|eot_id|>); Llama 3.1/3.2 Instruct list both the same way.
  if (s.eos_id >= 0 && s.eot_id >= 0 && s.eot_id != s.eos_id)
    config["eos_token_id"] = json::array({s.eos_id, s.eot_id});
  else if (s.eos_id >= 0)
    config["eos_token_id"] = s.eos_id;
  if (s.pad_id >= 0) config["pad_token_id"] = s.pad_id;
  return config;
}

void write_hf_tokenizer_files(const tokenizer::Tokenizer& tok, const LlamaConfig& model, const std::string& dir) {
  const std::filesystem::path d(dir);
  tok.save_tokenizer_json((d / "tokenizer.json").string());
  io::write_file_atomically((d / "tokenizer_config.json").string(), hf_tokenizer_config(tok, model).dump(2) + "\n");
  io::write_file_atomically((d / "special_tokens_map.json").string(), hf_special_tokens_map(tok).dump(2) + "\n");
  io::write_file_atomically((d / "generation_config.json").string(), hf_generation_config(tok).dump(2) + "\n");
}

}  // namespace flame
