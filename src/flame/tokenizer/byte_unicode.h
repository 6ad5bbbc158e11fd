#pragma once
// GPT-2's reversible byte <-> printable-character mapping, used by byte-level BPE vocabularies
// (GGUF `tokenizer.ggml.tokens`/`merges`, HF tokenizer.json) to store arbitrary bytes as text:
// printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order.
//
//   std::string shown = bytes_to_unicode_text("\n hi");   // "ĊĠhi"
//   std::optional<std::string> raw = unicode_text_to_bytes("ĊĠhi");  // "\n hi"
#include <optional>
#include <string>
#include <string_view>

namespace flame::tokenizer {

std::string bytes_to_unicode_text(std::string_view bytes);
// nullopt when a character is not in the mapping's image (i.e. the text is not byte-level).
std::optional<std::string> unicode_text_to_bytes(std::string_view text);

}  // namespace flame::tokenizer
