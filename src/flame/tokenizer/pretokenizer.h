#pragma once
// Pre-tokenizers: split text into the pieces BPE merges within, exactly as the reference regexes
// do, written by hand (no regex engine) over the Unicode classes of unicode.h.
//
//   std::vector<std::string_view> pieces;
//   pre_tokenize(PreTokenizer::Llama3, "Hello world's 12345", pieces);
//   // "Hello", " world", "'s", " ", "123", "45"
//
// Llama3 ("llama-bpe" in GGUF), Meta's tiktoken pattern:
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
// Gpt2 ("gpt2"):
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Alternatives are tried in order at each position (leftmost-first, like Rust's regex and PCRE);
// `\s+(?!\S)` takes a whitespace run but leaves its last character when a non-space follows.
// (?i) follows Unicode simple case folding: 's' also matches 'S' and U+017F LATIN SMALL LETTER
// LONG S. Invalid UTF-8 bytes are single "other" characters (see unicode.h). Pieces are views
// into `text` and together cover it exactly.
#include <string>
#include <string_view>
#include <vector>

namespace flame::tokenizer {

enum class PreTokenizer { Llama3, Gpt2 };

// GGUF `tokenizer.ggml.pre` name -> kind. Throws UnsupportedError listing the known names.
PreTokenizer pre_tokenizer_from_name(const std::string& name);
const char* pre_tokenizer_name(PreTokenizer kind);  // "llama-bpe" or "gpt2"

// End (byte offset) of the piece that starts at `pos` (< text.size()); streaming form.
size_t pre_token_end(PreTokenizer kind, std::string_view text, size_t pos);

// Appends the pieces of `text` to `out`.
void pre_tokenize(PreTokenizer kind, std::string_view text, std::vector<std::string_view>& out);

}  // namespace flame::tokenizer
