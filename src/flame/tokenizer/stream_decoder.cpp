#include "flame/tokenizer/stream_decoder.h"

#include "flame/tokenizer/unicode.h"

namespace flame::tokenizer {

namespace {

constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// True when `rest` (shorter than a whole character) could still become a valid character once
// more bytes arrive: a valid lead byte followed only by allowed continuation bytes.
bool may_complete(std::string_view rest) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(rest[i]); };
  const unsigned lead = b(0);
  size_t need;
  if (lead >= 0xC2 && lead <= 0xDF)
    need = 2;
  else if (lead >= 0xE0 && lead <= 0xEF)
    need = 3;
  else if (lead >= 0xF0 && lead <= 0xF4)
    need = 4;
  else
    return false;
  if (rest.size() >= need) return false;
  for (size_t i = 1; i < rest.size(); ++i) {
    unsigned lo = 0x80, hi = 0xBF;
    if (i == 1) {  // the second byte's range depends on the lead (no overlongs, surrogates, > U+10FFFF)
      if (lead == 0xE0) lo = 0xA0;
      if (lead == 0xED) hi = 0x9F;
      if (lead == 0xF0) lo = 0x90;
      if (lead == 0xF4) hi = 0x8F;
    }
    if (b(i) < lo || b(i) > hi) return false;
  }
  return true;
}

// Appends the valid part of `bytes` to out (invalid bytes as U+FFFD); returns how many bytes at the
// end were held back as a possibly-incomplete character (only when !final).
size_t append_valid(std::string_view bytes, std::string& out, bool final) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    const Utf8Char c = decode_utf8(bytes, pos);
    if (c.codepoint != kInvalidCodepoint) {
      out.append(bytes.substr(pos, c.length));
      pos += c.length;
      continue;
    }
    if (!final && may_complete(bytes.substr(pos))) return bytes.size() - pos;
    out += kReplacement;
    pos += 1;
  }
  return 0;
}

}  // namespace

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  append_valid(bytes, out, true);
  return out;
}

std::string StreamDecoder::push(int32_t id) {
  const TokenType type = tok_->token_type(id);
  if (skip_special_ && (type == TokenType::Control || type == TokenType::UserDefined)) return {};
  pending_ += tok_->token_bytes(id);
  return drain(false);
}

std::string StreamDecoder::finish() {
  return drain(true);
}

std::string StreamDecoder::drain(bool final) {
  std::string out;
  const size_t held = append_valid(pending_, out, final);
  pending_.erase(0, pending_.size() - held);
  return out;
}

}  // namespace flame::tokenizer
