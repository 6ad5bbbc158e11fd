#pragma once
// GGUF metadata as JSON, for `flame info --json` and for comparing with independent readers.
//
//   nlohmann::json j = gguf::to_json(reader.at("tokenizer.ggml.tokens"));           // full array
//   nlohmann::json s = gguf::to_json(value, /*max_items=*/16);  // long arrays -> {"type","count","head"}
//   std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // bytes may be non-UTF-8
#include <cstddef>

#include <nlohmann/json.hpp>

#include "flame/io/gguf.h"

namespace flame::gguf {

// Integers become JSON integers (exact), floats doubles, bools, strings; arrays become JSON arrays.
// Arrays longer than `max_items` become {"type": "array", "element_type", "count", "head": [first items]}.
nlohmann::json to_json(const Value& value, size_t max_items = SIZE_MAX);

}  // namespace flame::gguf
