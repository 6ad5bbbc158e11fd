#include "flame/tokenizer/chat_template.h"

#include <ctime>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/tokenizer/unicode.h"

namespace flame::tokenizer {

namespace {

bool contains(const std::string& s, const char* part) {
  return s.find(part) != std::string::npos;
}

// Python's str.isspace(): Unicode White_Space plus the separators U+001C..U+001F.
bool python_space(uint32_t cp) {
  return is_space(cp) || (cp >= 0x1C && cp <= 0x1F);
}

// Jinja's `trim` is Python's str.strip(): strips leading and trailing (Unicode) whitespace.
std::string strip(const std::string& s) {
  size_t begin = 0, end = 0;
  bool seen = false;
  for (size_t pos = 0; pos < s.size();) {
    const Utf8Char c = decode_utf8(s, pos);
    if (!python_space(c.codepoint)) {
      if (!seen) begin = pos, seen = true;
      end = pos + c.length;
    }
    pos += c.length;
  }
  return seen ? s.substr(begin, end - begin) : "";
}

int32_t require_token(const Tokenizer& tok, const char* text) {
  const int32_t id = tok.find_token(text);
  if (id < 0)
    throw UnsupportedError(fmt::format("the vocabulary has no {} token, needed by the Llama 3 chat format", text));
  return id;
}

}  // namespace

const char* chat_template_name(ChatTemplateKind kind) {
  switch (kind) {
    case ChatTemplateKind::Llama3:
      return "llama3";
    case ChatTemplateKind::Llama31:
      return "llama3.1";
    case ChatTemplateKind::Llama32:
      return "llama3.2";
  }
  return "?";
}

ChatTemplateKind chat_template_from_name(const std::string& name) {
  if (name == "llama3") return ChatTemplateKind::Llama3;
  if (name == "llama3.1") return ChatTemplateKind::Llama31;
  if (name == "llama3.2") return ChatTemplateKind::Llama32;
  throw ArgumentError("chat", fmt::format("unknown chat template name '{}' (known: llama3, llama3.1, llama3.2)", name));
}

ChatTemplateKind detect_chat_template(const std::string& t) {
  if (t.empty()) return ChatTemplateKind::Llama3;
  const bool llama3_turns =
      contains(t, "<|start_header_id|>") && contains(t, "<|end_header_id|>") && contains(t, "<|eot_id|>");
  if (llama3_turns) {
    if (contains(t, "Cutting Knowledge Date: December 2023")) {
      // 3.2 asks the renderer for today's date; 3.1 pins "26 Jul 2024".
      return contains(t, "strftime_now") ? ChatTemplateKind::Llama32 : ChatTemplateKind::Llama31;
    }
    return ChatTemplateKind::Llama3;
  }
  std::string head = t.substr(0, 120);
  for (char& c : head)
    if (c == '\n') c = ' ';
  throw UnsupportedError(fmt::format(
      "the model's chat template (tokenizer.chat_template) is not one flame knows (Llama 3, 3.1, 3.2): \"{}...\"; "
      "use raw prompts (flame run -p) or force a format with --chat-template",
      head));
}

std::string today_date_string() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%d %b %Y", &tm);
  return buf;
}

ChatFormat::ChatFormat(const Tokenizer& tokenizer, ChatTemplateKind kind, std::string date_string)
    : tok_(&tokenizer), kind_(kind), date_(std::move(date_string)) {
  bos_ = tokenizer.bos_id();
  if (bos_ < 0) bos_ = require_token(tokenizer, "<|begin_of_text|>");
  start_header_ = require_token(tokenizer, "<|start_header_id|>");
  end_header_ = require_token(tokenizer, "<|end_header_id|>");
  eot_ = require_token(tokenizer, "<|eot_id|>");
  if (date_.empty()) date_ = kind == ChatTemplateKind::Llama32 ? today_date_string() : "26 Jul 2024";
}

ChatFormat ChatFormat::from_tokenizer(const Tokenizer& tokenizer) {
  return ChatFormat(tokenizer, detect_chat_template(tokenizer.spec().chat_template));
}

void ChatFormat::append_header(std::vector<int32_t>& out, const std::string& role) const {
  out.push_back(start_header_);
  tok_->encode_ordinary(role, out);
  out.push_back(end_header_);
}

std::vector<int32_t> ChatFormat::encode_message(const ChatMessage& m) const {
  std::vector<int32_t> out;
  append_header(out, m.role);
  tok_->encode_ordinary("\n\n" + strip(m.content), out);
  out.push_back(eot_);
  return out;
}

std::vector<int32_t> ChatFormat::generation_prompt() const {
  std::vector<int32_t> out;
  append_header(out, "assistant");
  tok_->encode_ordinary("\n\n", out);
  return out;
}

std::vector<int32_t> ChatFormat::encode(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  std::vector<int32_t> out{bos_};
  size_t first = 0;
  if (kind_ != ChatTemplateKind::Llama3) {
    std::string system;
    if (!messages.empty() && messages[0].role == "system") {
      system = strip(messages[0].content);
      first = 1;
    }
    const ChatMessage preamble{
        "system", fmt::format("Cutting Knowledge Date: December 2023\nToday Date: {}\n\n{}", date_, system)};
    append_header(out, preamble.role);
    tok_->encode_ordinary("\n\n" + preamble.content, out);  // not stripped: the template keeps "\n\n"
    out.push_back(eot_);
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const auto ids = encode_message(messages[i]);
    out.insert(out.end(), ids.begin(), ids.end());
  }
  if (add_generation_prompt) {
    const auto ids = generation_prompt();
    out.insert(out.end(), ids.begin(), ids.end());
  }
  return out;
}

}  // namespace flame::tokenizer
