#include "flame/tokenizer/corpus.h"

#include <atomic>
#include <optional>

#include "flame/core/progress.h"
#include "flame/core/thread_pool.h"

namespace flame::tokenizer {

namespace {
constexpr size_t kBlockBytes = 256 * 1024;

// After '\n', a printable non-space ASCII byte starts a new piece in both the llama-bpe and gpt2
// patterns: no alternative matches a newline followed by a non-space character.
bool is_safe_cut(std::string_view text, size_t p) {
  const auto next = static_cast<unsigned char>(text[p]);
  return text[p - 1] == '\n' && next >= 0x21 && next <= 0x7E;
}
}  // namespace

std::vector<size_t> safe_cut_points(std::string_view text, size_t block_bytes) {
  std::vector<size_t> cuts;
  size_t target = block_bytes;
  while (target < text.size()) {
    size_t p = target;
    while (p < text.size() && !is_safe_cut(text, p)) ++p;
    if (p >= text.size()) break;
    cuts.push_back(p);
    target = p + block_bytes;
  }
  return cuts;
}

std::vector<int32_t> encode_corpus(const Tokenizer& tok, std::string_view text, bool show_progress) {
  std::vector<size_t> bounds = safe_cut_points(text, kBlockBytes);
  bounds.insert(bounds.begin(), 0);
  bounds.push_back(text.size());
  const size_t blocks = bounds.size() - 1;
  std::vector<std::vector<int32_t>> parts(blocks);
  std::atomic<size_t> next{0};
  std::atomic<int64_t> done_bytes{0};
  std::optional<Progress> progress;
  if (show_progress) progress.emplace("encode", static_cast<int64_t>(text.size()), "B");
  ThreadPool::global().run([&](int thread, int) {
    // Blocks are handed out dynamically (lines vary in cost); each block's ids land in its own slot,
    // so the output order never depends on scheduling.
    for (size_t b; (b = next.fetch_add(1)) < blocks;) {
      tok.encode_ordinary(text.substr(bounds[b], bounds[b + 1] - bounds[b]), parts[b]);
      const int64_t d = done_bytes.fetch_add(static_cast<int64_t>(bounds[b + 1] - bounds[b])) +
                        static_cast<int64_t>(bounds[b + 1] - bounds[b]);
      if (thread == 0 && progress) progress->update(d);
    }
  });
  if (progress) progress->finish();
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  std::vector<int32_t> ids;
  ids.reserve(total);
  for (const auto& p : parts) ids.insert(ids.end(), p.begin(), p.end());
  return ids;
}

}  // namespace flame::tokenizer
