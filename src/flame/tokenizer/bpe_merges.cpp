#include "flame/tokenizer/bpe_merges.h"

#include <climits>
#include <cstddef>
#include <functional>
#include <queue>

namespace flame::tokenizer {

void MergeTable::add(int32_t left, int32_t right, int32_t rank, int32_t merged) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const uint64_t key = pack(left, right);
  for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.key == key) return;
    if (s.key == kEmpty) {
      s.key = key;
      s.entry = {rank, merged};
      ++size_;
      return;
    }
  }
}

void MergeTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
  mask_ = slots_.size() - 1;
  size_ = 0;
  for (const Slot& s : old)
    if (s.key != kEmpty)
      add(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFFu), s.entry.rank, s.entry.merged);
}

void apply_merges_reference(const MergeTable& table, std::vector<int32_t>& ids) {
  while (ids.size() > 1) {
    int32_t best_rank = -1, best_merged = -1;
    size_t best = 0;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      const auto e = table.find(ids[i], ids[i + 1]);
      if (e.rank >= 0 && (best_rank < 0 || e.rank < best_rank)) {
        best_rank = e.rank;
        best_merged = e.merged;
        best = i;
      }
    }
    if (best_rank < 0) return;
    ids[best] = best_merged;
    ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
}

namespace {

constexpr size_t kFlatLimit = 48;

void merge_flat(const MergeTable& table, std::vector<int32_t>& ids) {
  const size_t n0 = ids.size();
  int32_t ranks[kFlatLimit], merged[kFlatLimit];
  size_t n = n0;
  int32_t* sym = ids.data();
  auto pair_at = [&](size_t i) {
    const auto e = table.find(sym[i], sym[i + 1]);
    ranks[i] = e.rank < 0 ? INT32_MAX : e.rank;
    merged[i] = e.merged;
  };
  for (size_t i = 0; i + 1 < n; ++i) pair_at(i);
  while (n > 1) {
    size_t best = 0;
    int32_t best_rank = ranks[0];
    for (size_t i = 1; i + 1 < n; ++i)
      if (ranks[i] < best_rank) best_rank = ranks[i], best = i;
    if (best_rank == INT32_MAX) break;
    sym[best] = merged[best];
    for (size_t i = best + 1; i + 1 < n; ++i) sym[i] = sym[i + 1];
    for (size_t i = best + 1; i + 2 < n; ++i) ranks[i] = ranks[i + 1], merged[i] = merged[i + 1];
    --n;
    if (best + 1 < n) pair_at(best);
    if (best > 0) pair_at(best - 1);
  }
  ids.resize(n);
}

void merge_heap(const MergeTable& table, std::vector<int32_t>& ids) {
  const int32_t n = static_cast<int32_t>(ids.size());
  std::vector<int32_t> prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
  struct Candidate {
    int32_t rank, pos, left, right;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto push = [&](int32_t pos) {
    if (pos < 0 || next[pos] < 0) return;
    const auto e = table.find(ids[pos], ids[next[pos]]);
    if (e.rank >= 0) heap.push({e.rank, pos, ids[pos], ids[next[pos]]});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  std::vector<bool> dead(n, false);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    if (dead[c.pos] || next[c.pos] < 0 || ids[c.pos] != c.left || ids[next[c.pos]] != c.right) continue;
    const int32_t r = next[c.pos];
    ids[c.pos] = table.find(c.left, c.right).merged;
    dead[r] = true;
    next[c.pos] = next[r];
    if (next[r] >= 0) prev[next[r]] = c.pos;
    push(prev[c.pos]);
    push(c.pos);
  }
  size_t out = 0;
  for (int32_t i = 0; i < n; ++i)
    if (!dead[i]) ids[out++] = ids[i];
  ids.resize(out);
}

}  // namespace

void apply_merges(const MergeTable& table, std::vector<int32_t>& ids) {
  if (ids.size() < 2) return;
  if (ids.size() <= kFlatLimit)
    merge_flat(table, ids);
  else
    merge_heap(table, ids);
}

}  // namespace flame::tokenizer
