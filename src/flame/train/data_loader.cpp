#include "flame/train/data_loader.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "flame/core/error.h"

namespace flame {

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

DataLoader::DataLoader(const Manifest& manifest, Split split, int64_t seq, int64_t batch, uint64_t seed)
    : seq_(seq), batch_(batch), seed_(seed) {
  const auto& shards = split == Split::Train ? manifest.train : manifest.val;
  const char* name = split == Split::Train ? "training" : "validation";
  for (const auto& s : shards) {
    start_offsets_.push_back(total_starts_);
    files_.push_back(MappedFile::open((std::filesystem::path(manifest.dir) / s.file).string()));
    if (s.tokens >= seq + 1) total_starts_ += static_cast<uint64_t>(s.tokens - seq);
    tokens_ += s.tokens;
  }
  if (total_starts_ == 0)
    throw ArgumentError("data",
                        fmt::format("the {} split of {} has {} tokens and no shard holds a window; a window needs "
                                    "seq+1 = {} tokens: use a larger corpus or a smaller train.seq",
                                    name, manifest.dir, tokens_, seq + 1));
}

void DataLoader::copy_window(uint64_t start, uint32_t* inputs, uint32_t* targets) const {
  // The last shard whose first start is <= `start`: shards too short for a window hold no starts
  // and share their offset with the next shard, so upper_bound skips them.
  const size_t s = static_cast<size_t>(std::upper_bound(start_offsets_.begin(), start_offsets_.end(), start) -
                                       start_offsets_.begin() - 1);
  const uint64_t offset = start - start_offsets_[s];
  const auto* tokens = reinterpret_cast<const uint32_t*>(files_[s]->data()) + offset;
  std::memcpy(inputs, tokens, static_cast<size_t>(seq_) * sizeof(uint32_t));
  std::memcpy(targets, tokens + 1, static_cast<size_t>(seq_) * sizeof(uint32_t));
}

void DataLoader::next_batch(uint32_t* inputs, uint32_t* targets) {
  for (int64_t b = 0; b < batch_; ++b, ++position_) {
    const uint64_t start = mix64(mix64(seed_) ^ position_) % total_starts_;
    copy_window(start, inputs + b * seq_, targets + b * seq_);
  }
}

void DataLoader::eval_batch(int64_t index, int64_t count, uint32_t* inputs, uint32_t* targets) const {
  const uint64_t windows = static_cast<uint64_t>(count * batch_);
  for (int64_t b = 0; b < batch_; ++b) {
    const uint64_t w = static_cast<uint64_t>(index * batch_ + b);
    // w * total / windows without overflow for realistic sizes (both < 2^40).
    const uint64_t start = static_cast<uint64_t>((static_cast<unsigned __int128>(w) * total_starts_) / windows);
    copy_window(start, inputs + b * seq_, targets + b * seq_);
  }
}

}  // namespace flame
