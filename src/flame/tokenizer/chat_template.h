#pragma once
// Llama 3.x chat prompts as token ids, built from the turn structure (not by rendering Jinja and
// re-parsing): special tokens come from the vocabulary, message text is encoded as ordinary text,
// so special-token text inside a user message stays plain text.
//
//   auto format = ChatFormat::from_tokenizer(tok);   // from tokenizer.chat_template
//   std::vector<ChatMessage> chat = {{"user", "Hi!"}};
//   std::vector<int32_t> ids = format.encode(chat, /*add_generation_prompt=*/true);
//   // <|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: ...
//
// Format (Meta's Llama 3 prompt format): each message is
//   <|start_header_id|>ROLE<|end_header_id|>\n\n CONTENT.strip() <|eot_id|>
// after one <|begin_of_text|>; the generation prompt is an open assistant header. Llama 3.1 and
// 3.2 Instruct templates always open with a system message that starts
//   "Cutting Knowledge Date: December 2023\nToday Date: <date>\n\n"
// followed by the user's system text (if any); 3.1 dates it "26 Jul 2024", 3.2 with today's date
// ("%d %b %Y") like transformers' strftime_now. Tool calling parts of those templates are not used.
#include <cstdint>
#include <string>
#include <vector>

#include "flame/tokenizer/tokenizer.h"

namespace flame::tokenizer {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", "ipython"
  std::string content;
};

enum class ChatTemplateKind { Llama3, Llama31, Llama32 };

const char* chat_template_name(ChatTemplateKind kind);  // "llama3", "llama3.1", "llama3.2"
// "llama3", "llama3.1", "llama3.2"; throws ArgumentError otherwise.
ChatTemplateKind chat_template_from_name(const std::string& name);
// Recognises Meta's Llama 3 / 3.1 / 3.2 templates by distinctive parts. An empty template (models
// flame trained) means plain Llama 3. Throws UnsupportedError for anything else, quoting its start.
ChatTemplateKind detect_chat_template(const std::string& jinja);

// Today's date the way the Llama 3.2 template writes it, e.g. "27 Nov 2026" (UTC).
std::string today_date_string();

class ChatFormat {
 public:
  // Throws UnsupportedError when the vocabulary lacks a header/eot token the format needs.
  ChatFormat(const Tokenizer& tokenizer, ChatTemplateKind kind, std::string date_string = "");
  static ChatFormat from_tokenizer(const Tokenizer& tokenizer);

  ChatTemplateKind kind() const { return kind_; }
  // The whole conversation (BOS first); with add_generation_prompt an open assistant header.
  std::vector<int32_t> encode(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
  // One message without BOS or system preamble (appending a turn to a running conversation).
  std::vector<int32_t> encode_message(const ChatMessage& message) const;
  std::vector<int32_t> generation_prompt() const;  // <|start_header_id|>assistant<|end_header_id|>\n\n

 private:
  void append_header(std::vector<int32_t>& out, const std::string& role) const;
  const Tokenizer* tok_;
  ChatTemplateKind kind_;
  std::string date_;
  int32_t bos_, start_header_, end_header_, eot_;
};

}  // namespace flame::tokenizer
