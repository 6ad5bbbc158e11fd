#pragma once
// Text primitives with Python 3's exact semantics, so the C++ corpus tools (train/corpus_extract.h)
// write byte-for-byte what the former Python tool wrote: UTF-8 decoding with errors="replace",
// universal-newline reading, str.isspace / str.strip / str.splitlines, and re.split on
// r"\n\s*\n". Text is handled as code points (std::u32string).
//
//   std::u32string t = universal_newlines(decode_utf8_replace(bytes));   // open(p, "r", errors="replace").read()
//   for (auto& para : split_paragraphs(t)) out += encode_utf8(py_strip(para));
#include <string>
#include <string_view>
#include <vector>

namespace flame::pytext {

// bytes.decode("utf-8", "replace"): each maximal ill-formed subsequence becomes one U+FFFD.
std::u32string decode_utf8_replace(std::string_view bytes);
std::string encode_utf8(std::u32string_view text);
// What Python's text-mode read() does to newlines: "\r\n" and a lone "\r" become "\n".
std::u32string universal_newlines(std::u32string_view text);

// str.isspace (the set re's \s matches in str patterns).
bool is_space(char32_t c);
// re's \w for str: Unicode letters and numbers (utf8proc categories L*, N*) and '_'.
bool is_word(char32_t c);
// str.strip() (Python whitespace) and str.strip(chars) for one character.
std::u32string_view py_strip(std::u32string_view text);
std::u32string_view py_strip(std::u32string_view text, char32_t c);
// str.splitlines() (no ends kept): breaks at \n \r \r\n \v \f \x1c \x1d \x1e \x85 U+2028 U+2029.
std::vector<std::u32string_view> splitlines(std::u32string_view text);
// re.split(r"\n\s*\n", text).
std::vector<std::u32string_view> split_paragraphs(std::u32string_view text);

}  // namespace flame::pytext
