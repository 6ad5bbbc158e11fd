#include "flame/generate/chat_session.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/tokenizer/stream_decoder.h"

namespace flame {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

ChatSession::ChatSession(InferenceSession& session, const tokenizer::Tokenizer& tok, tokenizer::ChatFormat format,
                         Sampler& sampler, std::optional<std::string> system, std::vector<int32_t> extra_stop_ids)
    : session_(&session),
      tok_(&tok),
      format_(std::move(format)),
      sampler_(&sampler),
      system_(std::move(system)),
      stop_ids_(std::move(extra_stop_ids)) {
  session_->reset();
}

void ChatSession::reset() {
  history_.clear();
  pending_.clear();
  session_->reset();
}

bool ChatSession::is_stop(int32_t id) const {
  return tok_->is_end_of_generation(id) || std::find(stop_ids_.begin(), stop_ids_.end(), id) != stop_ids_.end();
}

ChatSession::Reply ChatSession::reply(const std::string& user_message, int64_t max_tokens,
                                      const std::function<void(std::string_view)>& on_text,
                                      const std::atomic<bool>* interrupt) {
  std::vector<int32_t> feed = pending_;
  if (history_.empty()) {
    std::vector<tokenizer::ChatMessage> messages;
    if (system_) messages.push_back({"system", *system_});
    messages.push_back({"user", user_message});
    const auto ids = format_.encode(messages, true);
    feed.insert(feed.end(), ids.begin(), ids.end());
  } else {
    const auto msg = format_.encode_message({"user", user_message});
    const auto gen = format_.generation_prompt();
    feed.insert(feed.end(), msg.begin(), msg.end());
    feed.insert(feed.end(), gen.begin(), gen.end());
  }
  const int64_t used = static_cast<int64_t>(history_.size());
  if (used + static_cast<int64_t>(feed.size()) >= session_->context())
    throw ArgumentError(
        "chat", fmt::format("the context is full: {} tokens used + {} for this message > {} (start over with /reset)",
                            used, feed.size(), session_->context()));
  pending_.clear();
  Reply r;
  r.prompt_tokens = static_cast<int64_t>(feed.size());
  auto t0 = std::chrono::steady_clock::now();
  const Tensor* logits = &session_->forward(feed.data(), static_cast<int64_t>(feed.size()), used);
  history_.insert(history_.end(), feed.begin(), feed.end());
  r.prompt_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  tokenizer::StreamDecoder decoder(*tok_);
  const int64_t vocab = session_->config().vocab_size;
  r.stop_reason = "length";
  for (int64_t i = 0; i < max_tokens; ++i) {
    if (interrupt && interrupt->load()) {
      r.stop_reason = "interrupted";
      break;
    }
    const int32_t next = sampler_->sample(logits->data<float>(), vocab, history_);
    if (is_stop(next)) {
      r.stop_reason = "eos";
      break;
    }
    r.tokens.push_back(next);
    const std::string text = next < tok_->vocab_size() ? decoder.push(next) : std::string();
    r.text += text;
    if (on_text && !text.empty()) on_text(text);
    if (session_->position() + 1 > session_->context()) {  // no room to feed this token
      r.stop_reason = "context";
      break;
    }
    logits = &session_->forward(&next, 1, session_->position());
    history_.push_back(next);
  }
  const std::string tail = decoder.finish();
  r.text += tail;
  if (on_text && !tail.empty()) on_text(tail);
  // Close the turn: the sampled <|eot_id|> (or one we add after a cut-off reply) is fed with the
  // next message.
  const int32_t eot = tok_->eot_id() >= 0 ? tok_->eot_id() : tok_->find_token("<|eot_id|>");
  if (r.stop_reason != "context" && eot >= 0) pending_.push_back(eot);
  r.decode_seconds = seconds_since(t0);
  return r;
}

}  // namespace flame
