#pragma once
// A multi-turn chat over one InferenceSession: the KV cache keeps the whole conversation, each
// turn feeds only the new tokens (the closing <|eot_id|> of the last reply, the user message and
// an open assistant header), and replies stream as whole UTF-8 characters.
//
//   ChatSession chat(session, tokenizer, ChatFormat::from_tokenizer(tokenizer), sampler, "Be brief.");
//   auto r = chat.reply("Hi!", 256, [](std::string_view text) { fputs(...); }, &interrupted);
//   if (r.stop_reason == "context") ...   // the conversation no longer fits
//
// A reply ends at an end-of-generation token (<|eot_id|>, EOS), at max_tokens, when the context is
// full, or when *interrupt becomes true (Ctrl-C); the turn is then closed with <|eot_id|> so the
// conversation stays well-formed.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flame/generate/sampler.h"
#include "flame/model/inference.h"
#include "flame/tokenizer/chat_template.h"
#include "flame/tokenizer/tokenizer.h"

namespace flame {

class ChatSession {
 public:
  ChatSession(InferenceSession& session, const tokenizer::Tokenizer& tok, tokenizer::ChatFormat format,
              Sampler& sampler, std::optional<std::string> system = std::nullopt,
              std::vector<int32_t> extra_stop_ids = {});

  struct Reply {
    std::string text;
    std::vector<int32_t> tokens;
    std::string stop_reason;  // "eos", "length", "context", "interrupted"
    double prompt_seconds = 0, decode_seconds = 0;
    int64_t prompt_tokens = 0;
  };
  // Throws ArgumentError (before touching the cache) when the message does not fit the context.
  Reply reply(const std::string& user_message, int64_t max_tokens, const std::function<void(std::string_view)>& on_text,
              const std::atomic<bool>* interrupt = nullptr);

  int64_t context_used() const { return static_cast<int64_t>(history_.size() + pending_.size()); }
  int64_t context_size() const { return session_->context(); }
  // Tokens the next user message would add besides its own text (headers, closing tokens).
  const std::vector<int32_t>& history() const { return history_; }
  void reset();

 private:
  bool is_stop(int32_t id) const;
  InferenceSession* session_;
  const tokenizer::Tokenizer* tok_;
  tokenizer::ChatFormat format_;
  Sampler* sampler_;
  std::optional<std::string> system_;
  std::vector<int32_t> stop_ids_;
  std::vector<int32_t> history_;  // tokens already in the KV cache
  std::vector<int32_t> pending_;  // tokens to feed before the next message (a closing <|eot_id|>)
};

}  // namespace flame
