#pragma once
// `flame info` for .safetensors files (the GGUF report is in cmd_info.cpp).
#include <string>

namespace flame::cli {

int print_safetensors_info(const std::string& path, bool as_json, bool all_tensors);

}  // namespace flame::cli
