#pragma once
// The BPE merge step inside one pre-token: repeatedly merge the adjacent pair with the best
// (lowest) merge rank, leftmost first among equals, until no pair has a merge.
//
//   MergeTable table(merges, tokens_index);     // (left, right) -> (rank, merged id)
//   std::vector<int32_t> ids = {b0, b1, b2};     // byte tokens
//   apply_merges(table, ids);
//
// Short pieces use a flat array (cache-friendly); long ones (thousands of symbols, e.g. a run of
// punctuation) a heap over a linked list, O(n log n).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace flame::tokenizer {

class MergeTable {
 public:
  struct Entry {
    int32_t rank = -1;
    int32_t merged = -1;
  };
  MergeTable() = default;
  // Adds a merge unless the pair is already present (the first, best-ranked, wins).
  void add(int32_t left, int32_t right, int32_t rank, int32_t merged);
  Entry find(int32_t left, int32_t right) const {
    if (slots_.empty()) return {};
    const uint64_t key = pack(left, right);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return s.entry;
      if (s.key == kEmpty) return {};
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    Entry entry;
  };
  static uint64_t pack(int32_t l, int32_t r) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
  }
  static uint64_t hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
  }
  void grow();
  std::vector<Slot> slots_;
  size_t mask_ = 0, size_ = 0;
};

// Merges `ids` in place.
void apply_merges(const MergeTable& table, std::vector<int32_t>& ids);
// The simple quadratic version (the oracle for the fast one in tests).
void apply_merges_reference(const MergeTable& table, std::vector<int32_t>& ids);

}  // namespace flame::tokenizer
