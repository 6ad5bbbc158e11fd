#pragma once
// Token shards: the output of `flame data` and the input of training. A folder holds raw
// little-endian uint32 token files and a manifest.json naming them with their token counts and the
// fingerprint of the tokenizer that produced them (training refuses shards from another tokenizer).
//
//   ShardWriter w(out_dir, {.tokenizer_hash = h, .vocab_size = 8192, .tokenizer_path = t});
//   w.add_document(ids);        // documents are split into blocks; every val_every-th block is held out
//   Manifest m = w.finish();    // writes the last shard and manifest.json
//
//   Manifest m = Manifest::load(dir);   // throws FormatError naming manifest.json and the field
//   m.check_tokenizer(hash, path);      // clear error when the shards came from another tokenizer
#include <cstdint>
#include <string>
#include <vector>

namespace flame {

struct ShardFile {
  std::string file;  // relative to the manifest's folder
  int64_t tokens = 0;
};

struct Manifest {
  static constexpr const char* kFormat = "flame-shards-v1";
  std::string dir;  // folder holding manifest.json (not stored)
  std::string tokenizer_hash, tokenizer_path, corpus;
  int64_t vocab_size = 0;
  int64_t train_tokens = 0, val_tokens = 0, corpus_bytes = 0;
  std::vector<ShardFile> train, val;

  static Manifest load(const std::string& dir);
  void save() const;  // atomically
  // Throws ArgumentError when `hash` differs from the one the shards were made with.
  void check_tokenizer(const std::string& hash, const std::string& tokenizer_path) const;
};

struct ShardWriterOptions {
  std::string tokenizer_hash, tokenizer_path, corpus;
  int64_t vocab_size = 0;
  int64_t corpus_bytes = 0;
  int64_t shard_tokens = 64 << 20;  // tokens per train shard file (256 MB)
  int64_t block_tokens = 4096;      // the unit that goes to train or validation
  int64_t val_every = 50;           // every val_every-th block is validation (2%)
};

class ShardWriter {
 public:
  ShardWriter(std::string dir, ShardWriterOptions options);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;
  // Appends tokens of the stream (call in corpus order; documents simply follow each other).
  void add(const uint32_t* ids, int64_t n);
  // Flushes and writes manifest.json. Throws ArgumentError when no tokens were added or when the
  // stream is too small to hold out any validation tokens.
  Manifest finish();

 private:
  void route_block();
  void write_tokens(bool val, const uint32_t* ids, int64_t n);
  std::string dir_;
  ShardWriterOptions options_;
  Manifest manifest_;
  std::vector<uint32_t> block_;
  int64_t blocks_ = 0;
  struct Out;
  Out* train_out_ = nullptr;
  Out* val_out_ = nullptr;
};

}  // namespace flame
