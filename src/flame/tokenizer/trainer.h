#pragma once
// Byte-level BPE training (the Llama 3 recipe at small scale): the corpus is split with the
// llama-bpe pre-tokenizer, identical pre-tokens are counted once, and the most frequent adjacent
// pair is merged repeatedly, with pair counts updated incrementally (only the words containing the
// merged pair are revisited) and a lazy max-heap picking the next pair.
//
//   TrainerOptions opt;  opt.vocab_size = 8192;
//   Tokenizer tok = train_bpe(corpus_text, opt);
//   tok.save("tok.gguf");                       // tokenizer-only GGUF (or "tok.json")
//
// Vocabulary layout: ids 0..255 are the bytes 0x00..0xFF, then the merged tokens in merge order,
// then the reserved special tokens (vocab_size counts them). Deterministic: ties between equally
// frequent pairs go to the smaller (left id, right id); pre-tokens are counted in fixed blocks,
// so the result does not depend on the thread count.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flame/tokenizer/tokenizer.h"

namespace flame::tokenizer {

struct TrainerOptions {
  int32_t vocab_size = 8192;  // total, including the 256 byte tokens and the special tokens
  PreTokenizer pre = PreTokenizer::Llama3;
  // Reserved special tokens; BOS/EOS/EOT ids are taken from these names.
  std::vector<std::string> special_tokens = {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                                             "<|end_header_id|>", "<|eot_id|>"};
  bool show_progress = false;
};

struct TrainerStats {
  int64_t corpus_bytes = 0, pre_tokens = 0, unique_pre_tokens = 0, merges = 0;
  double count_seconds = 0, merge_seconds = 0;
};

// Throws ArgumentError when vocab_size cannot hold the bytes and special tokens. Stops early (fewer
// merges, smaller vocabulary) when no pair occurs any more; stats->merges says how many were made.
Tokenizer train_bpe(std::string_view corpus, const TrainerOptions& options, TrainerStats* stats = nullptr);

}  // namespace flame::tokenizer
