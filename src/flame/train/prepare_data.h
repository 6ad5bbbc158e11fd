#pragma once
// `flame data`: a text corpus -> token shards (train/shards.h). The corpus is cut into ~1 MB pieces
// where the pre-tokenizer always cuts (tokenizer/corpus.h: the ids equal encoding the whole text),
// the pieces are encoded in parallel (ordinary text, no BOS, no special tokens) and written in
// corpus order, so the result does not depend on the thread count.
//
//   PrepareDataOptions o{.corpus = "data/corpus/small.txt", .tokenizer = "runs/tok.gguf", .out_dir = "runs/data"};
//   Manifest m = prepare_data(o);   // progress with rate and ETA on stderr
#include <cstdint>
#include <string>

#include "flame/train/shards.h"

namespace flame {

struct PrepareDataOptions {
  std::string corpus, tokenizer, out_dir;
  int64_t block_tokens = 4096;  // the unit that goes to train or validation
  int64_t val_every = 50;       // every val_every-th block is held out (2%)
  int64_t piece_bytes = 1 << 20;
};

Manifest prepare_data(const PrepareDataOptions& options);

// The fingerprint that ties shards, checkpoints and exports to one tokenizer file.
std::string tokenizer_fingerprint(const std::string& tokenizer_path);

}  // namespace flame
