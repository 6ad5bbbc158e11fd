#include "flame/tokenizer/trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <queue>
#include <unordered_map>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/core/progress.h"
#include "flame/core/thread_pool.h"
#include "flame/tokenizer/corpus.h"
#include "flame/tokenizer/pretokenizer.h"

namespace flame::tokenizer {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

uint64_t pack(int32_t l, int32_t r) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
}
int32_t left_of(uint64_t p) {
  return static_cast<int32_t>(p >> 32);
}
int32_t right_of(uint64_t p) {
  return static_cast<int32_t>(p & 0xFFFFFFFFu);
}

struct Word {
  std::vector<int32_t> symbols;
  int64_t count;
};

// Counts pre-tokens over fixed blocks in parallel, then returns them sorted by bytes (so the
// word order, and everything after it, is independent of thread scheduling).
std::vector<Word> count_pre_tokens(std::string_view text, PreTokenizer pre, bool show_progress, TrainerStats& stats) {
  std::vector<size_t> bounds = safe_cut_points(text, 1 << 20);
  bounds.insert(bounds.begin(), 0);
  bounds.push_back(text.size());
  const size_t blocks = bounds.size() - 1;
  ThreadPool& pool = ThreadPool::global();
  std::vector<std::unordered_map<std::string_view, int64_t>> local(pool.size());
  std::vector<int64_t> pieces(pool.size(), 0);
  std::atomic<size_t> next{0};
  std::atomic<int64_t> done{0};
  std::optional<Progress> progress;
  if (show_progress) progress.emplace("pre-tokenize", static_cast<int64_t>(text.size()), "B");
  pool.run([&](int t, int) {
    auto& counts = local[t];
    for (size_t b; (b = next.fetch_add(1)) < blocks;) {
      const std::string_view block = text.substr(bounds[b], bounds[b + 1] - bounds[b]);
      for (size_t pos = 0; pos < block.size();) {
        const size_t end = pre_token_end(pre, block, pos);
        ++counts[block.substr(pos, end - pos)];
        ++pieces[t];
        pos = end;
      }
      const int64_t d = done.fetch_add(static_cast<int64_t>(block.size())) + static_cast<int64_t>(block.size());
      if (t == 0 && progress) progress->update(d);
    }
  });
  if (progress) progress->finish();
  std::unordered_map<std::string_view, int64_t> total = std::move(local[0]);
  for (size_t t = 1; t < local.size(); ++t)
    for (const auto& [k, v] : local[t]) total[k] += v;
  std::vector<std::pair<std::string_view, int64_t>> sorted(total.begin(), total.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<Word> words;
  words.reserve(sorted.size());
  for (const auto& [piece, count] : sorted) {
    Word w{{}, count};
    w.symbols.reserve(piece.size());
    for (unsigned char c : piece) w.symbols.push_back(c);
    words.push_back(std::move(w));
  }
  for (int64_t p : pieces) stats.pre_tokens += p;
  stats.unique_pre_tokens = static_cast<int64_t>(words.size());
  return words;
}

struct HeapEntry {
  int64_t count;
  uint64_t pair;
  // Max-heap on count; among equal counts the smaller (left, right) comes first.
  bool operator<(const HeapEntry& o) const { return count != o.count ? count < o.count : pair > o.pair; }
};

class PairStats {
 public:
  explicit PairStats(std::vector<Word>& words) : words_(words) {
    for (int32_t w = 0; w < static_cast<int32_t>(words_.size()); ++w) {
      const auto& s = words_[w].symbols;
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const uint64_t p = pack(s[i], s[i + 1]);
        counts_[p] += words_[w].count;
        auto& where = where_[p];
        if (where.empty() || where.back() != w) where.push_back(w);
      }
    }
    for (const auto& [p, c] : counts_) heap_.push({c, p});
  }

  // The most frequent pair (nullopt when none occurs).
  std::optional<uint64_t> best() {
    while (!heap_.empty()) {
      const HeapEntry top = heap_.top();
      auto it = counts_.find(top.pair);
      const int64_t current = it == counts_.end() ? 0 : it->second;
      if (current == top.count && current > 0) return top.pair;
      heap_.pop();  // stale entry: re-queue with the current count
      if (current > 0) heap_.push({current, top.pair});
    }
    return std::nullopt;
  }

  // Replaces every (left, right) occurrence with `merged` in the words that contain it.
  void merge(uint64_t pair, int32_t merged) {
    const int32_t a = left_of(pair), b = right_of(pair);
    std::vector<int32_t> where = std::move(where_[pair]);
    where_.erase(pair);
    std::unordered_map<uint64_t, int64_t> delta;
    for (int32_t w : where) {
      auto& s = words_[w].symbols;
      const int64_t wc = words_[w].count;
      bool found = false;
      for (size_t i = 0; i + 1 < s.size(); ++i)
        if (s[i] == a && s[i + 1] == b) {
          found = true;
          break;
        }
      if (!found) continue;  // stale: an earlier merge already consumed it
      for (size_t i = 0; i + 1 < s.size(); ++i) delta[pack(s[i], s[i + 1])] -= wc;
      size_t out = 0;
      for (size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          s[out++] = merged;
          i += 2;
        } else {
          s[out++] = s[i++];
        }
      }
      s.resize(out);
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const uint64_t p = pack(s[i], s[i + 1]);
        delta[p] += wc;
        if (left_of(p) == merged || right_of(p) == merged) {
          auto& list = where_[p];
          if (list.empty() || list.back() != w) list.push_back(w);
        }
      }
    }
    for (const auto& [p, d] : delta) {
      if (d == 0) continue;
      int64_t& c = counts_[p];
      c += d;
      if (d > 0) heap_.push({c, p});
      if (c <= 0) counts_.erase(p);
    }
    counts_.erase(pair);
  }

 private:
  std::vector<Word>& words_;
  std::unordered_map<uint64_t, int64_t> counts_;
  std::unordered_map<uint64_t, std::vector<int32_t>> where_;
  std::priority_queue<HeapEntry> heap_;
};

}  // namespace

Tokenizer train_bpe(std::string_view corpus, const TrainerOptions& options, TrainerStats* stats_out) {
  const auto specials = static_cast<int32_t>(options.special_tokens.size());
  if (options.vocab_size < 256 + specials)
    throw ArgumentError(
        "tokenizer-train",
        fmt::format("vocab size {} cannot hold 256 byte tokens and {} special tokens", options.vocab_size, specials));
  TrainerStats stats;
  stats.corpus_bytes = static_cast<int64_t>(corpus.size());
  auto t0 = Clock::now();
  std::vector<Word> words = count_pre_tokens(corpus, options.pre, options.show_progress, stats);
  stats.count_seconds = seconds_since(t0);

  t0 = Clock::now();
  TokenizerSpec spec;
  spec.pre = options.pre;
  spec.ignore_merges = options.pre == PreTokenizer::Llama3;
  for (int b = 0; b < 256; ++b) spec.tokens.emplace_back(1, static_cast<char>(b));
  const int32_t target_tokens = options.vocab_size - specials;
  std::unordered_map<std::string, int32_t> id_of_bytes;
  for (int32_t b = 0; b < 256; ++b) id_of_bytes.emplace(spec.tokens[b], b);
  PairStats pairs(words);
  std::optional<Progress> progress;
  if (options.show_progress) progress.emplace("merges", target_tokens - 256);
  while (static_cast<int32_t>(spec.tokens.size()) < target_tokens) {
    const auto best = pairs.best();
    if (!best) break;
    // Two merges can spell the same bytes ("ab"+"c", "a"+"bc"); like HF's trainer, the second
    // reuses the first's id rather than adding a duplicate token.
    std::string bytes = spec.tokens[left_of(*best)] + spec.tokens[right_of(*best)];
    auto [it, added] = id_of_bytes.emplace(bytes, static_cast<int32_t>(spec.tokens.size()));
    if (added) spec.tokens.push_back(std::move(bytes));
    spec.merges.emplace_back(left_of(*best), right_of(*best));
    pairs.merge(*best, it->second);
    if (progress && (spec.merges.size() & 63) == 0) progress->update(static_cast<int64_t>(spec.tokens.size()) - 256);
  }
  if (progress) {
    progress->update(static_cast<int64_t>(spec.tokens.size()) - 256);
    progress->finish();
  }
  stats.merges = static_cast<int64_t>(spec.merges.size());
  stats.merge_seconds = seconds_since(t0);
  spec.types.assign(spec.tokens.size(), TokenType::Normal);
  for (const std::string& name : options.special_tokens) {
    const auto id = static_cast<int32_t>(spec.tokens.size());
    spec.tokens.push_back(name);
    spec.types.push_back(TokenType::Control);
    if (name == "<|begin_of_text|>") spec.bos_id = id;
    if (name == "<|end_of_text|>") spec.eos_id = id;
    if (name == "<|eot_id|>") spec.eot_id = id;
  }
  spec.add_bos = spec.bos_id >= 0;
  if (stats_out) *stats_out = stats;
  return Tokenizer(std::move(spec));
}

}  // namespace flame::tokenizer
