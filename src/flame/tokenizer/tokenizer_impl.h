#pragma once
// Private to the tokenizer: the indexes built from a TokenizerSpec. Not a public header.
#include <array>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "flame/tokenizer/bpe_merges.h"
#include "flame/tokenizer/tokenizer.h"

namespace flame::tokenizer {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIndex = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct Tokenizer::Impl {
  explicit Impl(TokenizerSpec spec);
  void bpe(std::string_view piece, std::vector<int32_t>& out) const;
  void encode_ordinary(std::string_view text, std::vector<int32_t>& out) const;

  TokenizerSpec spec;
  uint64_t serial;
  StringIndex normal_index;                               // raw bytes -> id (Normal, Byte, Unknown)
  StringIndex special_index;                              // text -> id (Control, UserDefined)
  std::vector<std::pair<std::string, int32_t>> specials;  // longest first
  std::array<bool, 256> special_first_byte{};             // bytes that start some special token
  std::array<int32_t, 256> byte_ids{};
  MergeTable merges;
};

}  // namespace flame::tokenizer
