#include "flame/train/prepare_data.h"

#include <filesystem>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/core/memory.h"
#include "flame/core/progress.h"
#include "flame/core/thread_pool.h"
#include "flame/tokenizer/corpus.h"
#include "flame/tokenizer/tokenizer.h"
#include "flame/train/hash.h"

namespace flame {
namespace fs = std::filesystem;

std::string tokenizer_fingerprint(const std::string& tokenizer_path) {
  return file_fingerprint(tokenizer_path);
}

namespace {

// Pieces cut where the pre-tokenizer always cuts (tokenizer/corpus.h), so encoding them separately
// gives exactly the ids of encoding the whole text.
std::vector<std::string_view> split_pieces(std::string_view text, size_t target) {
  std::vector<std::string_view> pieces;
  size_t begin = 0;
  for (size_t cut : tokenizer::safe_cut_points(text, target)) {
    pieces.push_back(text.substr(begin, cut - begin));
    begin = cut;
  }
  pieces.push_back(text.substr(begin));
  return pieces;
}

}  // namespace

Manifest prepare_data(const PrepareDataOptions& options) {
  std::error_code ec;
  const auto bytes = fs::file_size(options.corpus, ec);
  if (ec) throw IoError(options.corpus, "cannot read the corpus: " + ec.message());
  if (bytes == 0) throw ArgumentError("data", fmt::format("the corpus {} is empty", options.corpus));
  const auto tok = tokenizer::Tokenizer::load(options.tokenizer);
  const auto file = MappedFile::open(options.corpus);
  const std::string_view text(reinterpret_cast<const char*>(file->data()), file->size());
  file->advise_willneed(0, file->size());
  const auto pieces = split_pieces(text, static_cast<size_t>(options.piece_bytes));

  ShardWriterOptions w;
  w.tokenizer_hash = tokenizer_fingerprint(options.tokenizer);
  w.tokenizer_path = fs::absolute(options.tokenizer).string();
  w.corpus = fs::absolute(options.corpus).string();
  w.corpus_bytes = static_cast<int64_t>(bytes);
  w.vocab_size = tok.vocab_size();
  w.block_tokens = options.block_tokens;
  w.val_every = options.val_every;
  ShardWriter writer(options.out_dir, w);

  ThreadPool& pool = ThreadPool::global();
  const size_t group = static_cast<size_t>(pool.size()) * 2;
  std::vector<std::vector<int32_t>> encoded(group);
  Progress progress("tokenize", static_cast<int64_t>(bytes), "B");
  int64_t tokens = 0, done_bytes = 0;
  for (size_t first = 0; first < pieces.size(); first += group) {
    const size_t count = std::min(group, pieces.size() - first);
    pool.parallel_for(static_cast<int64_t>(count), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        encoded[i].clear();
        tok.encode_ordinary(pieces[first + i], encoded[i]);
      }
    });
    for (size_t i = 0; i < count; ++i) {
      const auto& ids = encoded[i];
      writer.add(reinterpret_cast<const uint32_t*>(ids.data()), static_cast<int64_t>(ids.size()));
      tokens += static_cast<int64_t>(ids.size());
      done_bytes += static_cast<int64_t>(pieces[first + i].size());
    }
    progress.set_suffix(
        fmt::format("{} tokens, {:.2f} bytes/token", tokens,
                    static_cast<double>(done_bytes) / static_cast<double>(std::max<int64_t>(tokens, 1))));
    progress.update(done_bytes);
  }
  progress.finish();
  return writer.finish();
}

}  // namespace flame
