#pragma once
// Batches of training windows from token shards (train/shards.h). Each window is seq+1 consecutive
// tokens of one shard (inputs = first seq, targets = last seq). Window k of the run starts at a
// position drawn from a counter-based generator hash(seed, k), so the whole loader state is one
// counter: `position()` after n batches is n*batch, and `seek(position)` resumes bit-exactly.
//
//   Manifest m = Manifest::load("runs/small/data");
//   DataLoader train(m, DataLoader::Split::Train, seq, batch, seed);
//   train.next_batch(inputs, targets);           // batch*seq ids each, row-major [batch][seq]
//   DataLoader val(m, DataLoader::Split::Val, seq, batch, seed);
//   val.eval_batch(i, eval_batches, inputs, targets);  // fixed windows spread over the split
#include <cstdint>
#include <memory>
#include <vector>

#include "flame/core/memory.h"
#include "flame/train/shards.h"

namespace flame {

class DataLoader {
 public:
  enum class Split { Train, Val };
  // Throws ArgumentError when the split has no window of seq+1 tokens.
  DataLoader(const Manifest& manifest, Split split, int64_t seq, int64_t batch, uint64_t seed);

  void next_batch(uint32_t* inputs, uint32_t* targets);
  // Batch `index` of `count` evaluation batches: windows evenly spaced over the split, the same on
  // every call (no generator involved).
  void eval_batch(int64_t index, int64_t count, uint32_t* inputs, uint32_t* targets) const;

  uint64_t position() const { return position_; }
  void seek(uint64_t position) { position_ = position; }
  int64_t tokens() const { return tokens_; }

 private:
  void copy_window(uint64_t start, uint32_t* inputs, uint32_t* targets) const;
  int64_t seq_, batch_;
  uint64_t seed_, position_ = 0;
  int64_t tokens_ = 0;
  std::vector<std::shared_ptr<MappedFile>> files_;
  std::vector<uint64_t> start_offsets_;  // cumulative count of window starts before each shard
  uint64_t total_starts_ = 0;
};

// SplitMix64 finaliser: a well-mixed 64-bit hash of a counter (used for window positions).
uint64_t mix64(uint64_t x);

}  // namespace flame
