#include "flame/tokenizer/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <unordered_map>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/tokenizer/bpe_merges.h"
#include "flame/tokenizer/tokenizer_impl.h"

namespace flame::tokenizer {

namespace {

std::atomic<uint64_t> next_serial{1};

// Per-thread cache of merged pieces, tagged with the tokenizer's serial so a different (or a
// destroyed and re-created) tokenizer never reads another's entries.
struct PieceCache {
  uint64_t serial = 0;
  std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> map;
};
constexpr size_t kCacheMaxEntries = 1 << 17;
constexpr size_t kCacheMaxPieceBytes = 64;

bool is_special_type(TokenType t) {
  return t == TokenType::Control || t == TokenType::UserDefined;
}

}  // namespace

Tokenizer::Impl::Impl(TokenizerSpec s) : spec(std::move(s)), serial(next_serial++) {
  const auto n = static_cast<int64_t>(spec.tokens.size());
  if (n == 0) throw ArgumentError("tokenizer", "the vocabulary is empty");
  if (spec.types.empty()) spec.types.assign(spec.tokens.size(), TokenType::Normal);
  if (static_cast<int64_t>(spec.types.size()) != n)
    throw ArgumentError("tokenizer", fmt::format("{} token types for {} tokens", spec.types.size(), n));
  for (auto [name, id] :
       {std::pair{"bos", spec.bos_id}, {"eos", spec.eos_id}, {"eot", spec.eot_id}, {"padding", spec.pad_id}})
    if (id < -1 || id >= n)
      throw ArgumentError("tokenizer", fmt::format("{} token id {} is out of range [0, {})", name, id, n));
  if (spec.add_bos && spec.bos_id < 0) spec.add_bos = false;
  byte_ids.fill(-1);
  for (int32_t id = 0; id < n; ++id) {
    const std::string& t = spec.tokens[id];
    if (is_special_type(spec.types[id])) {
      if (!t.empty()) {
        specials.push_back({t, id});
        special_first_byte[static_cast<unsigned char>(t[0])] = true;
      }
      special_index.emplace(t, id);
      continue;
    }
    if (spec.types[id] == TokenType::Unused) continue;
    normal_index.emplace(t, id);  // first id wins for duplicate byte strings
    if (t.size() == 1 && byte_ids[static_cast<unsigned char>(t[0])] < 0)
      byte_ids[static_cast<unsigned char>(t[0])] = id;
  }
  for (int b = 0; b < 256; ++b)
    if (byte_ids[b] < 0)
      throw ArgumentError(
          "tokenizer", fmt::format("the vocabulary has no token for byte 0x{:02X}; byte-level BPE needs all 256", b));
  // Longest first, so a special token that is a prefix of another never shadows it.
  std::sort(specials.begin(), specials.end(), [](auto& a, auto& b) { return a.first.size() > b.first.size(); });
  for (int32_t rank = 0; rank < static_cast<int32_t>(spec.merges.size()); ++rank) {
    const auto [l, r] = spec.merges[rank];
    if (l < 0 || l >= n || r < 0 || r >= n)
      throw ArgumentError("tokenizer",
                          fmt::format("merge {} names token id {} out of range", rank, l < 0 || l >= n ? l : r));
    auto it = normal_index.find(spec.tokens[l] + spec.tokens[r]);
    if (it == normal_index.end())
      throw ArgumentError("tokenizer", fmt::format("merge {} ('{}' + '{}') makes a token that is not in the vocabulary",
                                                   rank, spec.tokens[l], spec.tokens[r]));
    merges.add(l, r, rank, it->second);
  }
}

void Tokenizer::Impl::bpe(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.size() == 1) {
    out.push_back(byte_ids[static_cast<unsigned char>(piece[0])]);
    return;
  }
  if (spec.ignore_merges) {
    auto it = normal_index.find(piece);
    if (it != normal_index.end()) {
      out.push_back(it->second);
      return;
    }
  }
  thread_local PieceCache cache;
  const bool cacheable = piece.size() <= kCacheMaxPieceBytes;
  if (cacheable) {
    if (cache.serial != serial) {
      cache.map.clear();
      cache.serial = serial;
    }
    auto it = cache.map.find(piece);
    if (it != cache.map.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  thread_local std::vector<int32_t> ids;
  ids.clear();
  for (unsigned char b : piece) ids.push_back(byte_ids[b]);
  apply_merges(merges, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    if (cache.map.size() >= kCacheMaxEntries) cache.map.clear();
    cache.map.emplace(std::string(piece), ids);
  }
}

void Tokenizer::Impl::encode_ordinary(std::string_view text, std::vector<int32_t>& out) const {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = pre_token_end(spec.pre, text, pos);
    bpe(text.substr(pos, end - pos), out);
    pos = end;
  }
}

Tokenizer::Tokenizer(TokenizerSpec spec) : impl_(std::make_unique<Impl>(std::move(spec))) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, EncodeOptions options) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (options.add_bos && impl_->spec.add_bos) out.push_back(impl_->spec.bos_id);
  if (!options.parse_special || impl_->specials.empty()) {
    impl_->encode_ordinary(text, out);
    return out;
  }
  size_t plain_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const std::pair<std::string, int32_t>* hit = nullptr;
    if (impl_->special_first_byte[static_cast<unsigned char>(text[pos])])
      for (const auto& sp : impl_->specials)
        if (text.compare(pos, sp.first.size(), sp.first) == 0) {
          hit = &sp;
          break;
        }
    if (!hit) {
      ++pos;
      continue;
    }
    impl_->encode_ordinary(text.substr(plain_start, pos - plain_start), out);
    out.push_back(hit->second);
    pos += hit->first.size();
    plain_start = pos;
  }
  impl_->encode_ordinary(text.substr(plain_start), out);
  return out;
}

void Tokenizer::encode_ordinary(std::string_view text, std::vector<int32_t>& out) const {
  impl_->encode_ordinary(text, out);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string out;
  for (int32_t id : ids) {
    if (skip_special && is_special_type(token_type(id))) continue;
    out += token_bytes(id);
  }
  return out;
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    throw ArgumentError("decode", fmt::format("token id {} is out of range [0, {})", id, vocab_size()));
  return impl_->spec.tokens[id];
}

TokenType Tokenizer::token_type(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    throw ArgumentError("decode", fmt::format("token id {} is out of range [0, {})", id, vocab_size()));
  return impl_->spec.types[id];
}

int32_t Tokenizer::find_token(std::string_view bytes) const {
  if (auto it = impl_->special_index.find(bytes); it != impl_->special_index.end()) return it->second;
  if (auto it = impl_->normal_index.find(bytes); it != impl_->normal_index.end()) return it->second;
  return -1;
}

int32_t Tokenizer::vocab_size() const {
  return static_cast<int32_t>(impl_->spec.tokens.size());
}
int32_t Tokenizer::bos_id() const {
  return impl_->spec.bos_id;
}
int32_t Tokenizer::eos_id() const {
  return impl_->spec.eos_id;
}
int32_t Tokenizer::eot_id() const {
  return impl_->spec.eot_id;
}
const TokenizerSpec& Tokenizer::spec() const {
  return impl_->spec;
}

bool Tokenizer::is_end_of_generation(int32_t id) const {
  if (id < 0) return false;
  if (id == impl_->spec.eos_id || id == impl_->spec.eot_id) return true;
  if (id >= vocab_size() || !is_special_type(impl_->spec.types[id])) return false;
  const std::string& t = impl_->spec.tokens[id];
  return t == "<|eot_id|>" || t == "<|eom_id|>" || t == "<|end_of_text|>";
}

}  // namespace flame::tokenizer
