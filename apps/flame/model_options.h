#pragma once
// Options and helpers shared by the model subcommands (run, logits, bench): loading a model and
// reading `--tokens 1,2,3`. Text prompts (-p) plug in here once a tokenizer is available.
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "flame/core/error.h"
#include "flame/core/thread_pool.h"
#include "flame/io/gguf.h"
#include "flame/model/repack.h"
#include "flame/model/weights.h"

namespace flame::cli {

// "1,2, 3" -> {1, 2, 3}; a bad entry is an ArgumentError naming it.
inline std::vector<int32_t> parse_token_list(const std::string& text) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) {
      size_t used = 0;
      long long v = -1;
      try {
        v = std::stoll(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != item.size() || v < 0 || v > INT32_MAX)
        throw ArgumentError("--tokens", fmt::format("\"{}\" is not a token id", item));
      ids.push_back(static_cast<int32_t>(v));
    }
    start = end + 1;
  }
  if (ids.empty()) throw ArgumentError("--tokens", "no token ids given");
  return ids;
}

struct LoadedModel {
  gguf::Reader reader;
  LlamaWeights weights;
  RepackSummary repack;  // how the weights were laid out in memory at load
};

// `--no-repack`: keep the weights as stored instead of repacking them for faster decode (the env
// FLAME_REPACK=0 does the same; repacking is on by default on CPUs with AVX2).
inline void add_repack_option(CLI::App& app, bool& no_repack) {
  app.add_flag("--no-repack", no_repack,
               "Keep weights as stored (no interleaved repacking at load; also env FLAME_REPACK=0)");
}

// `--kv-type f32|f16`: the KV cache element type (f16 halves its bytes; see docs/benchmarks.md).
inline void add_kv_type_option(CLI::App& app, std::string& kv_type) {
  app.add_option("--kv-type", kv_type, "KV cache type: f32 or f16 (half the memory)")
      ->check(CLI::IsMember({"f32", "f16"}))
      ->capture_default_str();
}
inline DType kv_dtype(const std::string& kv_type) {
  if (kv_type == "f32") return DType::F32;
  if (kv_type == "f16") return DType::F16;
  throw ArgumentError("--kv-type", fmt::format("\"{}\" is not f32 or f16", kv_type));
}

// Opens the GGUF and, when `repack` and repack_enabled(), repacks the weights (model/repack.h) over
// the global pool (call apply_threads first).
inline LoadedModel load_model(const std::string& path, bool repack = true) {
  auto reader = gguf::Reader::open(path);
  LlamaWeights weights = LlamaWeights::from_gguf(reader);
  RepackSummary summary;
  if (repack && repack_enabled()) summary = repack_for_inference(weights, reader.file().get(), ThreadPool::global());
  return {std::move(reader), std::move(weights), summary};
}

}  // namespace flame::cli
