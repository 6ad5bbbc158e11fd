#include "flame/tokenizer/byte_unicode.h"

#include <array>

#include "flame/tokenizer/unicode.h"

namespace flame::tokenizer {

namespace {

struct ByteMap {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 324> from_cp{};  // code points used are < 324
  ByteMap() {
    from_cp.fill(-1);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      to_cp[b] = printable ? b : next++;
      from_cp[to_cp[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

}  // namespace

std::string bytes_to_unicode_text(std::string_view bytes) {
  const auto& m = byte_map();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) append_utf8(out, m.to_cp[b]);
  return out;
}

std::optional<std::string> unicode_text_to_bytes(std::string_view text) {
  const auto& m = byte_map();
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char c = decode_utf8(text, pos);
    if (c.codepoint >= m.from_cp.size() || m.from_cp[c.codepoint] < 0) return std::nullopt;
    out.push_back(static_cast<char>(m.from_cp[c.codepoint]));
    pos += c.length;
  }
  return out;
}

}  // namespace flame::tokenizer
