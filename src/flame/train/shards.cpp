#include "flame/train/shards.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flame/core/error.h"

namespace flame {
namespace fs = std::filesystem;

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

void write_text_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw IoError(tmp, errno_text());
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0;
  std::fclose(f);
  if (!ok) {
    fs::remove(tmp);
    throw IoError(tmp, "write failed: " + errno_text());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw IoError(path, "rename failed: " + ec.message());
}

}  // namespace

Manifest Manifest::load(const std::string& dir) {
  const std::string path = (fs::path(dir) / "manifest.json").string();
  std::ifstream in(path);
  if (!in) throw IoError(path, "no manifest.json: is this a folder written by `flame data`?");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, "json", 0, e.what());
  }
  auto field = [&](const char* name) -> const nlohmann::json& {
    if (!j.contains(name)) throw FormatError(path, name, 0, "missing");
    return j[name];
  };
  Manifest m;
  m.dir = dir;
  try {
    if (field("format").get<std::string>() != kFormat)
      throw FormatError(path, "format", 0, fmt::format("expected \"{}\"", kFormat));
    m.tokenizer_hash = field("tokenizer_hash").get<std::string>();
    m.tokenizer_path = j.value("tokenizer_path", "");
    m.corpus = j.value("corpus", "");
    m.corpus_bytes = j.value("corpus_bytes", int64_t{0});
    m.vocab_size = field("vocab_size").get<int64_t>();
    m.train_tokens = field("train_tokens").get<int64_t>();
    m.val_tokens = field("val_tokens").get<int64_t>();
    for (const char* split : {"train", "val"}) {
      auto& list = std::string(split) == "train" ? m.train : m.val;
      int64_t total = 0;
      for (const auto& s : field(split)) {
        ShardFile f{s.at("file").get<std::string>(), s.at("tokens").get<int64_t>()};
        const auto file = fs::path(dir) / f.file;
        std::error_code ec;
        const auto bytes = fs::file_size(file, ec);
        if (ec) throw IoError(file.string(), "shard listed in manifest.json is missing: " + ec.message());
        if (bytes != static_cast<uintmax_t>(f.tokens) * 4)
          throw FormatError(
              file.string(), "size", 0,
              fmt::format("{} bytes, manifest.json says {} tokens ({} bytes)", bytes, f.tokens, f.tokens * 4));
        total += f.tokens;
        list.push_back(std::move(f));
      }
      if (total != (list.data() == m.train.data() ? m.train_tokens : m.val_tokens))
        throw FormatError(path, std::string(split) + "_tokens", 0, "does not equal the sum over its shards");
    }
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, "json", 0, e.what());
  }
  if (m.vocab_size <= 0) throw FormatError(path, "vocab_size", 0, "must be positive");
  return m;
}

void Manifest::save() const {
  nlohmann::json j;
  j["format"] = kFormat;
  j["tokenizer_hash"] = tokenizer_hash;
  j["tokenizer_path"] = tokenizer_path;
  j["vocab_size"] = vocab_size;
  j["corpus"] = corpus;
  j["corpus_bytes"] = corpus_bytes;
  j["train_tokens"] = train_tokens;
  j["val_tokens"] = val_tokens;
  for (const char* split : {"train", "val"}) {
    j[split] = nlohmann::json::array();
    for (const auto& s : std::string(split) == "train" ? train : val)
      j[split].push_back({{"file", s.file}, {"tokens", s.tokens}});
  }
  write_text_atomically((fs::path(dir) / "manifest.json").string(), j.dump(2) + "\n");
}

void Manifest::check_tokenizer(const std::string& hash, const std::string& path) const {
  if (hash != tokenizer_hash)
    throw ArgumentError("data",
                        fmt::format("the shards in {} were made with another tokenizer (manifest tokenizer_hash {} "
                                    "from '{}'), but the tokenizer '{}' has hash {}; rerun `flame data` with it",
                                    dir, tokenizer_hash, tokenizer_path, path, hash));
}

struct ShardWriter::Out {
  std::FILE* file = nullptr;
  std::string path;
  int64_t tokens = 0;
};

ShardWriter::ShardWriter(std::string dir, ShardWriterOptions options) : dir_(std::move(dir)), options_(options) {
  if (options_.block_tokens < 2 || options_.val_every < 2 || options_.shard_tokens < options_.block_tokens)
    throw ArgumentError("data", "block_tokens must be >= 2, val_every >= 2 and shard_tokens >= block_tokens");
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw IoError(dir_, "cannot create folder: " + ec.message());
  // A stale manifest would describe shards about to be overwritten.
  fs::remove(fs::path(dir_) / "manifest.json", ec);
  manifest_.dir = dir_;
  manifest_.tokenizer_hash = options_.tokenizer_hash;
  manifest_.tokenizer_path = options_.tokenizer_path;
  manifest_.vocab_size = options_.vocab_size;
  manifest_.corpus = options_.corpus;
  manifest_.corpus_bytes = options_.corpus_bytes;
  block_.reserve(options_.block_tokens);
}

ShardWriter::~ShardWriter() {
  for (Out* o : {train_out_, val_out_}) {
    if (o && o->file) std::fclose(o->file);
    delete o;
  }
}

void ShardWriter::add(const uint32_t* ids, int64_t n) {
  for (int64_t i = 0; i < n;) {
    const int64_t take = std::min<int64_t>(n - i, options_.block_tokens - static_cast<int64_t>(block_.size()));
    for (int64_t k = 0; k < take; ++k) {
      if (ids[i + k] >= static_cast<uint64_t>(options_.vocab_size))
        throw ArgumentError("data",
                            fmt::format("token id {} is outside the vocabulary ({})", ids[i + k], options_.vocab_size));
    }
    block_.insert(block_.end(), ids + i, ids + i + take);
    i += take;
    if (static_cast<int64_t>(block_.size()) == options_.block_tokens) route_block();
  }
}

void ShardWriter::route_block() {
  const bool val = blocks_ % options_.val_every == options_.val_every - 1;
  write_tokens(val, block_.data(), static_cast<int64_t>(block_.size()));
  block_.clear();
  ++blocks_;
}

void ShardWriter::write_tokens(bool val, const uint32_t* ids, int64_t n) {
  Out*& out = val ? val_out_ : train_out_;
  auto& list = val ? manifest_.val : manifest_.train;
  if (out && out->tokens + n > options_.shard_tokens) {
    if (std::fclose(out->file) != 0) throw IoError(out->path, "close failed: " + errno_text());
    out->file = nullptr;
    delete out;
    out = nullptr;
  }
  if (!out) {
    out = new Out;
    const std::string name = fmt::format("{}_{:04}.bin", val ? "val" : "train", list.size());
    out->path = (fs::path(dir_) / name).string();
    out->file = std::fopen(out->path.c_str(), "wb");
    if (!out->file) throw IoError(out->path, "cannot create shard: " + errno_text());
    list.push_back({name, 0});
  }
  // Shards are little-endian uint32; this machine is little-endian (x86-64).
  if (std::fwrite(ids, sizeof(uint32_t), static_cast<size_t>(n), out->file) != static_cast<size_t>(n))
    throw IoError(out->path, "write failed: " + errno_text());
  out->tokens += n;
  list.back().tokens += n;
  (val ? manifest_.val_tokens : manifest_.train_tokens) += n;
}

Manifest ShardWriter::finish() {
  const int64_t total = manifest_.train_tokens + manifest_.val_tokens + static_cast<int64_t>(block_.size());
  if (total == 0) throw ArgumentError("data", "the corpus produced no tokens (is it empty?)");
  if (!block_.empty()) {
    // The last, partial block: validation when nothing has been held out yet (small corpora).
    const bool val = manifest_.val_tokens == 0 && manifest_.train_tokens > 0;
    write_tokens(val, block_.data(), static_cast<int64_t>(block_.size()));
    block_.clear();
  }
  if (manifest_.val_tokens < 2 || manifest_.train_tokens < 2)
    throw ArgumentError("data", fmt::format("the corpus is too small: {} tokens cannot be split into training and "
                                            "validation (need more than one block of {} tokens)",
                                            total, options_.block_tokens));
  for (Out* o : {train_out_, val_out_}) {
    if (!o || !o->file) continue;
    if (std::fflush(o->file) != 0 || std::fclose(o->file) != 0) {
      o->file = nullptr;
      throw IoError(o->path, "write failed: " + errno_text());
    }
    o->file = nullptr;
  }
  manifest_.save();
  return manifest_;
}

}  // namespace flame
