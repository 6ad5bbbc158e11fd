#pragma once
// Fast whole-corpus encoding for data preparation: the text is cut at points where the
// pre-tokenizer always cuts anyway (right after '\n' when a printable ASCII character follows),
// the pieces are encoded on the thread pool, and the ids are concatenated in order. The result is
// identical to tok.encode_ordinary(text) for any thread count.
//
//   std::vector<int32_t> ids = encode_corpus(tok, text);      // no BOS, specials as plain text
#include <cstdint>
#include <string_view>
#include <vector>

#include "flame/tokenizer/tokenizer.h"

namespace flame::tokenizer {

// Cut points (ascending, excluding 0 and text.size()) near every `block_bytes`; the same text gives
// the same cuts regardless of threads.
std::vector<size_t> safe_cut_points(std::string_view text, size_t block_bytes);

// Shows progress (bytes) when `show_progress`. Uses ThreadPool::global().
std::vector<int32_t> encode_corpus(const Tokenizer& tok, std::string_view text, bool show_progress = false);

}  // namespace flame::tokenizer
