#pragma once
// The Unicode facts the pre-tokenizers need: UTF-8 decoding that never fails, and the regex classes
// \p{L} (letters), \p{N} (numbers) and \s (White_Space) for ALL of Unicode.
//
//   Utf8Char c = decode_utf8(text, pos);              // c.length >= 1 even on invalid bytes
//   if (char_class(c.codepoint) == CharClass::Letter) ...
//
// Letter/number come from libutf8proc's general categories (Unicode 15.0 in Debian 12): L = Lu Ll
// Lt Lm Lo, N = Nd Nl No. Whitespace is the Unicode White_Space property (what Rust's and PCRE's
// Unicode `\s` use), a fixed list of 25 code points.
//
// Invalid UTF-8 (a stray continuation byte, a truncated or overlong sequence, a surrogate or a value
// past U+10FFFF) decodes as ONE byte with codepoint kInvalidCodepoint, which classifies as Other
// (not a letter, number or space). The byte-level BPE then encodes it with its byte token, so any
// byte string round-trips exactly.
#include <cstdint>
#include <string>
#include <string_view>

namespace flame::tokenizer {

constexpr uint32_t kInvalidCodepoint = 0xFFFFFFFFu;

struct Utf8Char {
  uint32_t codepoint;  // kInvalidCodepoint for an invalid byte
  uint32_t length;     // bytes consumed, 1..4
};

// Decodes the character starting at text[pos] (pos < text.size()).
inline Utf8Char decode_utf8(std::string_view text, size_t pos) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data()) + pos;
  const size_t left = text.size() - pos;
  const unsigned c0 = s[0];
  if (c0 < 0x80) return {c0, 1};
  auto cont = [&](size_t i) { return i < left && (s[i] & 0xC0) == 0x80; };
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    if (cont(1)) return {((c0 & 0x1Fu) << 6) | (s[1] & 0x3Fu), 2};
  } else if (c0 >= 0xE0 && c0 <= 0xEF) {
    if (cont(1) && cont(2)) {
      const uint32_t cp = ((c0 & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
      if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) return {cp, 3};
    }
  } else if (c0 >= 0xF0 && c0 <= 0xF4) {
    if (cont(1) && cont(2) && cont(3)) {
      const uint32_t cp = ((c0 & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
      if (cp >= 0x10000 && cp <= 0x10FFFF) return {cp, 4};
    }
  }
  return {kInvalidCodepoint, 1};
}

void append_utf8(std::string& out, uint32_t codepoint);

// True when `text` is entirely valid UTF-8.
bool is_valid_utf8(std::string_view text);

enum class CharClass : uint8_t { Other = 0, Letter = 1, Number = 2, Space = 3 };

namespace detail {
extern const uint8_t* bmp_classes;  // 65536 entries, built once at static init
CharClass classify_slow(uint32_t codepoint);
}  // namespace detail

inline CharClass char_class(uint32_t codepoint) {
  if (codepoint < 0x10000) return static_cast<CharClass>(detail::bmp_classes[codepoint]);
  return detail::classify_slow(codepoint);
}
inline bool is_letter(uint32_t cp) {
  return char_class(cp) == CharClass::Letter;
}
inline bool is_number(uint32_t cp) {
  return char_class(cp) == CharClass::Number;
}
inline bool is_space(uint32_t cp) {
  return char_class(cp) == CharClass::Space;
}

}  // namespace flame::tokenizer
