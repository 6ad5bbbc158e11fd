#pragma once
// The small JSON files a Hugging Face Llama 3 folder carries beside tokenizer.json, in the shapes
// transformers writes for meta-llama/Llama-3.2-1B (PreTrainedTokenizerFast, GenerationConfig):
//
//   write_hf_tokenizer_files(tok, model_config, "models/small-hf");
//   // -> tokenizer.json, tokenizer_config.json, special_tokens_map.json, generation_config.json
#include <string>

#include <nlohmann/json.hpp>

#include "flame/model/config.h"
#include "flame/tokenizer/tokenizer.h"

namespace flame {

// tokenizer_config.json: added_tokens_decoder (every special/added token by id), bos/eos token
// text, model_max_length, tokenizer_class PreTrainedTokenizerFast, chat_template when there is one.
nlohmann::json hf_tokenizer_config(const tokenizer::Tokenizer& tok, const LlamaConfig& model);
// special_tokens_map.json: bos_token / eos_token (/ pad_token) as AddedToken objects.
nlohmann::json hf_special_tokens_map(const tokenizer::Tokenizer& tok);
// generation_config.json: bos_token_id, eos_token_id (a list when EOT also ends a generation).
nlohmann::json hf_generation_config(const tokenizer::Tokenizer& tok);

// Writes all four files (each atomically) into `dir`.
void write_hf_tokenizer_files(const tokenizer::Tokenizer& tok, const LlamaConfig& model, const std::string& dir);

}  // namespace flame
