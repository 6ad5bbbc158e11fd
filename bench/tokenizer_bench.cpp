// Tokenizer speed. Needs a tokenizer and a text file, given by environment variables (the Llama 3
// tokenizer.json is produced by tests/e2e/llama3_reference.mjs; docs/benchmarks.md has the commands):
//   FLAME_BENCH_TOKENIZER=llama3.gguf FLAME_BENCH_TEXT=prose.txt flame_bench --benchmark_filter=Tokenizer
// BM_TokenizerEncode: single-thread encode_ordinary of the whole file (bytes/s).
// BM_TokenizerEncodeCorpus: encode_corpus on the global thread pool.
// BM_TokenizerTrain8k: train_bpe to an 8k vocabulary on the file.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>

#include "flame/core/thread_pool.h"
#include "flame/tokenizer/corpus.h"
#include "flame/tokenizer/tokenizer.h"
#include "flame/tokenizer/trainer.h"

namespace {

using flame::tokenizer::Tokenizer;

struct Inputs {
  std::unique_ptr<Tokenizer> tok;
  std::string text;
  std::string error;
};

const Inputs& inputs() {
  static const Inputs in = [] {
    Inputs r;
    const char* tok_path = std::getenv("FLAME_BENCH_TOKENIZER");
    const char* text_path = std::getenv("FLAME_BENCH_TEXT");
    if (!tok_path || !text_path) {
      r.error = "set FLAME_BENCH_TOKENIZER and FLAME_BENCH_TEXT";
      return r;
    }
    std::ifstream f(text_path, std::ios::binary);
    r.text.assign(std::istreambuf_iterator<char>(f), {});
    r.tok = std::make_unique<Tokenizer>(Tokenizer::load(tok_path));
    return r;
  }();
  return in;
}

void BM_TokenizerEncode(benchmark::State& state) {
  const Inputs& in = inputs();
  if (!in.error.empty()) return state.SkipWithError(in.error.c_str());
  std::vector<int32_t> ids;
  for (auto _ : state) {
    ids.clear();
    in.tok->encode_ordinary(in.text, ids);
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.text.size()));
  state.counters["tokens"] = static_cast<double>(ids.size());
}
BENCHMARK(BM_TokenizerEncode)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TokenizerEncodeCorpus(benchmark::State& state) {
  const Inputs& in = inputs();
  if (!in.error.empty()) return state.SkipWithError(in.error.c_str());
  for (auto _ : state) benchmark::DoNotOptimize(flame::tokenizer::encode_corpus(*in.tok, in.text).data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.text.size()));
  state.counters["threads"] = flame::ThreadPool::global().size();
}
BENCHMARK(BM_TokenizerEncodeCorpus)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TokenizerTrain8k(benchmark::State& state) {
  const Inputs& in = inputs();
  if (!in.error.empty()) return state.SkipWithError(in.error.c_str());
  flame::tokenizer::TrainerOptions opt;
  opt.vocab_size = 8192;
  for (auto _ : state) benchmark::DoNotOptimize(flame::tokenizer::train_bpe(in.text, opt).vocab_size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.text.size()));
}
BENCHMARK(BM_TokenizerTrain8k)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
