#pragma once
// `flame export`: a training checkpoint -> a GGUF that `flame run` and llama.cpp load (tokenizer
// embedded), or a Hugging Face Llama folder (model.safetensors with HF names and Q/K order,
// config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
// generation_config.json; train/hf_tokenizer_files.h).
//
//   export_gguf("runs/small", "models/small.gguf");
//   export_hf("runs/small", "models/small-hf");
// The tokenizer is `tokenizer_path` when given, else the run config's data.tokenizer, else the one
// named in the data manifest; its fingerprint must equal the checkpoint's.
#include <string>

namespace flame {

void export_gguf(const std::string& checkpoint, const std::string& out_path, const std::string& tokenizer_path = "");
void export_hf(const std::string& checkpoint, const std::string& out_dir, const std::string& tokenizer_path = "");

}  // namespace flame
