// GGUF open time with Llama 3-sized tokenizer metadata (128256 tokens, 280147 merges, token types):
// the part of model loading that parses and allocates, since tensor bytes are only mapped.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include "flame/io/gguf.h"

namespace {

std::string tokenizer_sized_file() {
  const auto path = (std::filesystem::temp_directory_path() / "flame_bench_llama3_tokenizer.gguf").string();
  if (std::filesystem::exists(path)) return path;
  std::vector<std::string> tokens, merges;
  std::vector<int32_t> types;
  for (int i = 0; i < 128256; ++i) {
    tokens.push_back("tok" + std::to_string(i));
    types.push_back(1);
  }
  for (int i = 0; i < 280147; ++i) merges.push_back("m" + std::to_string(i) + " x");
  flame::gguf::Writer w;
  w.set("general.architecture", flame::gguf::Value::string("llama"));
  w.set("tokenizer.ggml.model", flame::gguf::Value::string("gpt2"));
  w.set("tokenizer.ggml.tokens", flame::gguf::Value::strings(tokens));
  w.set("tokenizer.ggml.token_type", flame::gguf::Value::i32s(types));
  w.set("tokenizer.ggml.merges", flame::gguf::Value::strings(merges));
  w.add_tensor("token_embd.weight", flame::Tensor::empty(flame::DType::F16, {16, 2048}));
  w.write(path);
  return path;
}

void BM_GgufOpenLlama3Tokenizer(benchmark::State& state) {
  const std::string path = tokenizer_sized_file();
  for (auto _ : state) {
    auto r = flame::gguf::Reader::open(path);
    benchmark::DoNotOptimize(r.metadata().size());
  }
}
BENCHMARK(BM_GgufOpenLlama3Tokenizer)->Unit(benchmark::kMillisecond);

}  // namespace
