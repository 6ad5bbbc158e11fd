#pragma once
// Streaming detokenization for terminals and network streams: text is released only in whole
// UTF-8 characters, so a character split across tokens (emoji, CJK, byte tokens) never shows as
// mojibake.
//
//   StreamDecoder out(tokenizer);
//   for (int32_t id : generated) std::fputs(out.push(id).c_str(), stdout);
//   std::fputs(out.finish().c_str(), stdout);
//
// Policy for bytes that can never become valid UTF-8 (a model may emit any byte token): each such
// byte is replaced by U+FFFD (the Unicode replacement character), so the output is always valid
// UTF-8. An incomplete sequence still pending at finish() becomes one U+FFFD per byte. Special
// tokens are released as their text unless skip_special (then nothing).
#include <cstdint>
#include <string>

#include "flame/tokenizer/tokenizer.h"

namespace flame::tokenizer {

class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = true)
      : tok_(&tokenizer), skip_special_(skip_special) {}
  // Appends a token; returns the text that became complete (possibly empty).
  std::string push(int32_t id);
  // Releases whatever is pending (invalid or incomplete bytes as U+FFFD) and resets.
  std::string finish();
  // Bytes held back waiting for the rest of a character (0..3).
  size_t pending_bytes() const { return pending_.size(); }

 private:
  std::string drain(bool final);
  const Tokenizer* tok_;
  bool skip_special_;
  std::string pending_;
};

// The bytes of `bytes` made valid UTF-8 with the policy above (invalid bytes -> U+FFFD).
std::string sanitize_utf8(std::string_view bytes);

}  // namespace flame::tokenizer
