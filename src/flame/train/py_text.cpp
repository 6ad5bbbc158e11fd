#include "flame/train/py_text.h"

#include <utf8proc.h>

#include "flame/tokenizer/unicode.h"

namespace flame::pytext {

std::u32string decode_utf8_replace(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = s[i];
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    int len = 0;
    char32_t cp = 0;
    // The allowed range of the second byte narrows for E0, ED, F0, F4 (no overlongs, surrogates
    // or code points above U+10FFFF): Unicode's table 3-7, which CPython's decoder follows.
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2, cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3, cp = b & 0x0F;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4, cp = b & 0x07;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      out.push_back(0xFFFD);  // C0, C1, F5..FF, or a stray continuation byte
      ++i;
      continue;
    }
    size_t j = i + 1;
    bool ok = true;
    for (int k = 1; k < len; ++k, ++j) {
      const unsigned char lo_k = k == 1 ? lo : 0x80, hi_k = k == 1 ? hi : 0xBF;
      if (j >= n || s[j] < lo_k || s[j] > hi_k) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (s[j] & 0x3F);
    }
    // A broken sequence is replaced as one unit covering its valid prefix; the byte that broke it
    // starts over.
    out.push_back(ok ? cp : char32_t{0xFFFD});
    i = j;
  }
  return out;
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) tokenizer::append_utf8(out, c);
  return out;
}

std::u32string universal_newlines(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != U'\r') {
      out.push_back(text[i]);
      continue;
    }
    out.push_back(U'\n');
    if (i + 1 < text.size() && text[i + 1] == U'\n') ++i;
  }
  return out;
}

bool is_space(char32_t c) {
  // CPython's _PyUnicode_IsWhitespace: bidirectional classes WS, B, S and category Zs.
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  switch (c) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool is_word(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
         (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

std::u32string_view py_strip(std::u32string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && is_space(text[b])) ++b;
  while (e > b && is_space(text[e - 1])) --e;
  return text.substr(b, e - b);
}

std::u32string_view py_strip(std::u32string_view text, char32_t c) {
  size_t b = 0, e = text.size();
  while (b < e && text[b] == c) ++b;
  while (e > b && text[e - 1] == c) --e;
  return text.substr(b, e - b);
}

std::vector<std::u32string_view> splitlines(std::u32string_view text) {
  std::vector<std::u32string_view> lines;
  size_t start = 0, i = 0;
  while (i < text.size()) {
    const char32_t c = text[i];
    const bool brk = c == U'\n' || c == U'\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
                     c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!brk) {
      ++i;
      continue;
    }
    lines.push_back(text.substr(start, i - start));
    i += (c == U'\r' && i + 1 < text.size() && text[i + 1] == U'\n') ? 2 : 1;
    start = i;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

std::vector<std::u32string_view> split_paragraphs(std::u32string_view text) {
  // r"\n\s*\n" at a "\n": \s* greedily takes the whitespace run after it and backs off to that
  // run's last "\n"; with no "\n" in the run there is no match there.
  std::vector<std::u32string_view> parts;
  size_t start = 0, i = 0;
  const size_t n = text.size();
  while (i < n) {
    if (text[i] != U'\n') {
      ++i;
      continue;
    }
    size_t j = i + 1, last_newline = 0;
    bool found = false;
    while (j < n && is_space(text[j])) {
      if (text[j] == U'\n') last_newline = j, found = true;
      ++j;
    }
    if (!found) {
      i = j;  // no position inside this run can start a match either (no "\n" in it)
      continue;
    }
    parts.push_back(text.substr(start, i - start));
    start = i = last_newline + 1;
  }
  parts.push_back(text.substr(start));
  return parts;
}

}  // namespace flame::pytext
