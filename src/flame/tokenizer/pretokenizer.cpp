#include "flame/tokenizer/pretokenizer.h"

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/tokenizer/unicode.h"

namespace flame::tokenizer {

namespace {

// A cursor over the text that decodes one character at a time and remembers its class.
struct Scanner {
  std::string_view text;
  struct Char {
    uint32_t cp;
    uint32_t len;
    CharClass cls;
  };
  Char at(size_t pos) const {
    if (pos >= text.size()) return {0, 0, CharClass::Other};
    const Utf8Char c = decode_utf8(text, pos);
    return {c.codepoint, c.length, char_class(c.codepoint)};
  }
  bool end(size_t pos) const { return pos >= text.size(); }
};

bool is_newline(uint32_t cp) {
  return cp == '\r' || cp == '\n';
}

// Matches (?i:'s|'t|'re|'ve|'m|'ll|'d) (case_insensitive) or the case-sensitive GPT-2 variant at
// pos (text[pos] == '\''); returns bytes matched or 0.
size_t match_contraction(const Scanner& s, size_t pos, bool case_insensitive) {
  const auto c1 = s.at(pos + 1);
  if (c1.len == 0) return 0;
  auto eq = [&](uint32_t cp, char lower) {
    if (cp == static_cast<uint32_t>(lower)) return true;
    if (!case_insensitive) return false;
    if (cp == static_cast<uint32_t>(lower - 'a' + 'A')) return true;
    return lower == 's' && cp == 0x17F;  // U+017F folds to 's'
  };
  if (eq(c1.cp, 's') || eq(c1.cp, 't') || eq(c1.cp, 'm') || eq(c1.cp, 'd')) return 1 + c1.len;
  const auto c2 = s.at(pos + 1 + c1.len);
  if (c2.len == 0) return 0;
  if ((eq(c1.cp, 'r') && eq(c2.cp, 'e')) || (eq(c1.cp, 'v') && eq(c2.cp, 'e')) || (eq(c1.cp, 'l') && eq(c2.cp, 'l')))
    return 1 + c1.len + c2.len;
  return 0;
}

// End of the run of characters of class `cls` starting at pos, capped at `max_chars`.
size_t run_end(const Scanner& s, size_t pos, CharClass cls, size_t max_chars = SIZE_MAX) {
  size_t n = 0;
  while (n < max_chars) {
    const auto c = s.at(pos);
    if (c.len == 0 || c.cls != cls) break;
    pos += c.len;
    ++n;
  }
  return pos;
}

// `\s*[\r\n]+` / `\s+(?!\S)` / `\s+` at a whitespace character: returns the match end.
size_t match_whitespace(const Scanner& s, size_t pos, bool newline_rule) {
  // Walk the whole whitespace run, remembering the last newline and the start of the last char.
  size_t end = pos, last_newline_end = 0, last_char_start = pos;
  while (true) {
    const auto c = s.at(end);
    if (c.len == 0 || c.cls != CharClass::Space) break;
    last_char_start = end;
    end += c.len;
    if (is_newline(c.cp)) last_newline_end = end;
  }
  if (newline_rule && last_newline_end != 0) return last_newline_end;  // \s*[\r\n]+
  if (s.end(end)) return end;                                          // \s+(?!\S) at end of text
  if (last_char_start > pos) return last_char_start;                   // \s+(?!\S): leave the last
  return end;                                                          // \s+ (a single char)
}

size_t next_llama3(const Scanner& s, size_t pos) {
  const auto c = s.at(pos);
  if (c.cp == '\'') {
    if (size_t n = match_contraction(s, pos, true)) return pos + n;
  }
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c.cls == CharClass::Letter) return run_end(s, pos, CharClass::Letter);
  if (c.cls != CharClass::Number && !is_newline(c.cp)) {
    const auto next = s.at(pos + c.len);
    if (next.len != 0 && next.cls == CharClass::Letter) return run_end(s, pos + c.len, CharClass::Letter);
  }
  // \p{N}{1,3}
  if (c.cls == CharClass::Number) return run_end(s, pos, CharClass::Number, 3);
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  {
    size_t p = pos;
    if (c.cp == ' ') p += 1;
    const auto o = s.at(p);
    if (o.len != 0 && o.cls == CharClass::Other) {
      p = run_end(s, p, CharClass::Other);
      while (!s.end(p) && is_newline(static_cast<unsigned char>(s.text[p]))) ++p;
      return p;
    }
  }
  if (c.cls == CharClass::Space) return match_whitespace(s, pos, true);
  return pos + c.len;  // unreachable: every class is handled above
}

size_t next_gpt2(const Scanner& s, size_t pos) {
  const auto c = s.at(pos);
  if (c.cp == '\'') {
    if (size_t n = match_contraction(s, pos, false)) return pos + n;
  }
  size_t p = pos;
  if (c.cp == ' ') p += 1;
  const auto o = s.at(p);
  if (o.len != 0) {
    if (o.cls == CharClass::Letter) return run_end(s, p, CharClass::Letter);  // ' ?\p{L}+'
    if (o.cls == CharClass::Number) return run_end(s, p, CharClass::Number);  // ' ?\p{N}+'
    if (o.cls == CharClass::Other) return run_end(s, p, CharClass::Other);    // ' ?[^\s\p{L}\p{N}]+'
  }
  return match_whitespace(s, pos, false);
}

}  // namespace

PreTokenizer pre_tokenizer_from_name(const std::string& name) {
  // Names as llama.cpp's converter writes them for vocabularies using exactly these patterns.
  if (name == "llama-bpe" || name == "smaug-bpe") return PreTokenizer::Llama3;
  // llama.cpp's name is "gpt-2" (llama-vocab.cpp); "gpt2" is what flame wrote before it matched.
  if (name == "gpt-2" || name == "gpt2") return PreTokenizer::Gpt2;
  throw UnsupportedError(
      fmt::format("unknown pre-tokenizer '{}' (tokenizer.ggml.pre); flame knows: llama-bpe (Llama 3), gpt-2", name));
}

const char* pre_tokenizer_name(PreTokenizer kind) {
  return kind == PreTokenizer::Llama3 ? "llama-bpe" : "gpt-2";
}

size_t pre_token_end(PreTokenizer kind, std::string_view text, size_t pos) {
  const Scanner s{text};
  return kind == PreTokenizer::Llama3 ? next_llama3(s, pos) : next_gpt2(s, pos);
}

void pre_tokenize(PreTokenizer kind, std::string_view text, std::vector<std::string_view>& out) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = pre_token_end(kind, text, pos);
    out.push_back(text.substr(pos, end - pos));
    pos = end;
  }
}

}  // namespace flame::tokenizer
