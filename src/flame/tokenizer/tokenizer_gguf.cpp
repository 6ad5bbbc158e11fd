// GGUF tokenizer metadata (llama.cpp's keys) <-> TokenizerSpec, and Tokenizer::load/save.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/io/gguf.h"
#include "flame/tokenizer/byte_unicode.h"
#include "flame/tokenizer/tokenizer.h"

namespace flame::tokenizer {

namespace {

std::string key_field(const std::string& key) {
  return fmt::format("metadata[\"{}\"]", key);
}

bool is_special_type(TokenType t) {
  return t == TokenType::Control || t == TokenType::UserDefined;
}

bool file_is_gguf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, "cannot open tokenizer file");
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const gguf::Reader& r) {
  const std::string& path = r.path();
  const auto model = r.get_string("tokenizer.ggml.model");
  if (!model) throw FormatError(path, key_field("tokenizer.ggml.model"), 0, "missing: the file has no tokenizer");
  if (*model != "gpt2")
    throw UnsupportedError(fmt::format(
        "{}: tokenizer.ggml.model '{}' is not supported (flame implements byte-level BPE, 'gpt2')", path, *model));
  TokenizerSpec spec;
  const auto pre = r.get_string("tokenizer.ggml.pre");
  if (!pre) {
    // Documented fallback: older Llama 3 conversions lack the key; byte-level BPE files flame
    // meets are Llama 3 style. Said out loud so a wrong guess is visible.
    std::fprintf(stderr, "flame: warning: %s has no tokenizer.ggml.pre; assuming llama-bpe (Llama 3)\n", path.c_str());
  }
  spec.pre = pre_tokenizer_from_name(pre.value_or("llama-bpe"));
  spec.ignore_merges = spec.pre == PreTokenizer::Llama3;

  const auto shown = r.at("tokenizer.ggml.tokens").as_strings();
  const size_t n = shown.size();
  spec.types.assign(n, TokenType::Normal);
  if (const gguf::Value* types = r.find("tokenizer.ggml.token_type")) {
    const auto values = types->as_ints();
    if (values.size() != n)
      throw FormatError(path, key_field("tokenizer.ggml.token_type"), r.metadata_offset("tokenizer.ggml.token_type"),
                        fmt::format("{} types for {} tokens", values.size(), n));
    for (size_t i = 0; i < n; ++i) {
      if (values[i] < 1 || values[i] > 6)
        throw FormatError(path, key_field("tokenizer.ggml.token_type"), r.metadata_offset("tokenizer.ggml.token_type"),
                          fmt::format("token {} has unknown type {}", i, values[i]));
      spec.types[i] = static_cast<TokenType>(values[i]);
    }
  }
  spec.tokens.resize(n);
  std::unordered_map<std::string, int32_t> by_shown;
  by_shown.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (is_special_type(spec.types[i])) {
      spec.tokens[i] = shown[i];
      continue;
    }
    auto bytes = unicode_text_to_bytes(shown[i]);
    if (!bytes)
      throw FormatError(path, fmt::format("{}[{}]", key_field("tokenizer.ggml.tokens"), i),
                        r.metadata_offset("tokenizer.ggml.tokens"),
                        fmt::format("token '{}' is not in GPT-2 byte-level form", shown[i]));
    spec.tokens[i] = std::move(*bytes);
    by_shown.emplace(shown[i], static_cast<int32_t>(i));
  }
  const gguf::Value* merges = r.find("tokenizer.ggml.merges");
  if (!merges)
    throw FormatError(path, key_field("tokenizer.ggml.merges"), 0,
                      "missing: a byte-level BPE tokenizer needs its merges");
  const auto merge_texts = merges->as_strings();
  spec.merges.reserve(merge_texts.size());
  for (size_t i = 0; i < merge_texts.size(); ++i) {
    const std::string& m = merge_texts[i];
    const size_t space = m.find(' ', 1);
    auto bad = [&](const std::string& why) {
      return FormatError(path, fmt::format("{}[{}]", key_field("tokenizer.ggml.merges"), i),
                         r.metadata_offset("tokenizer.ggml.merges"), why);
    };
    if (space == std::string::npos) throw bad(fmt::format("'{}' is not 'left right'", m));
    auto l = by_shown.find(m.substr(0, space)), rr = by_shown.find(m.substr(space + 1));
    if (l == by_shown.end() || rr == by_shown.end())
      throw bad(fmt::format("'{}' names a token that is not in the vocabulary", m));
    spec.merges.emplace_back(l->second, rr->second);
  }
  auto id = [&](const char* key) { return static_cast<int32_t>(r.get_int(key).value_or(-1)); };
  spec.bos_id = id("tokenizer.ggml.bos_token_id");
  spec.eos_id = id("tokenizer.ggml.eos_token_id");
  spec.eot_id = id("tokenizer.ggml.eot_token_id");
  spec.pad_id = id("tokenizer.ggml.padding_token_id");
  const gguf::Value* add_bos = r.find("tokenizer.ggml.add_bos_token");
  spec.add_bos = add_bos ? add_bos->as_bool() : spec.pre == PreTokenizer::Llama3;
  if (spec.eot_id < 0)  // llama.cpp does the same lookup for files without the key
    for (size_t i = 0; i < n; ++i)
      if (is_special_type(spec.types[i]) && spec.tokens[i] == "<|eot_id|>") spec.eot_id = static_cast<int32_t>(i);
  spec.chat_template = r.get_string("tokenizer.chat_template").value_or("");
  try {
    return Tokenizer(std::move(spec));
  } catch (const ArgumentError& e) {
    throw FormatError(path, "tokenizer.*", 0, e.what());
  }
}

void Tokenizer::add_to_gguf(gguf::Writer& w) const {
  const TokenizerSpec& s = spec();
  std::vector<std::string> shown(s.tokens.size()), merges;
  std::vector<int32_t> types(s.tokens.size());
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    shown[i] = is_special_type(s.types[i]) ? s.tokens[i] : bytes_to_unicode_text(s.tokens[i]);
    types[i] = static_cast<int32_t>(s.types[i]);
  }
  merges.reserve(s.merges.size());
  for (auto [l, r] : s.merges) merges.push_back(shown[l] + " " + shown[r]);
  w.set("tokenizer.ggml.model", gguf::Value::string("gpt2"));
  w.set("tokenizer.ggml.pre", gguf::Value::string(pre_tokenizer_name(s.pre)));
  w.set("tokenizer.ggml.tokens", gguf::Value::strings(std::move(shown)));
  w.set("tokenizer.ggml.token_type", gguf::Value::i32s(types));
  w.set("tokenizer.ggml.merges", gguf::Value::strings(std::move(merges)));
  if (s.bos_id >= 0) w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(static_cast<uint32_t>(s.bos_id)));
  if (s.eos_id >= 0) w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(static_cast<uint32_t>(s.eos_id)));
  if (s.eot_id >= 0) w.set("tokenizer.ggml.eot_token_id", gguf::Value::u32(static_cast<uint32_t>(s.eot_id)));
  if (s.pad_id >= 0) w.set("tokenizer.ggml.padding_token_id", gguf::Value::u32(static_cast<uint32_t>(s.pad_id)));
  w.set("tokenizer.ggml.add_bos_token", gguf::Value::boolean(s.add_bos));
  if (!s.chat_template.empty()) w.set("tokenizer.chat_template", gguf::Value::string(s.chat_template));
}

void Tokenizer::save(const std::string& path) const {
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
    save_tokenizer_json(path);
    return;
  }
  gguf::Writer w;
  w.set("general.type", gguf::Value::string("tokenizer"));
  add_to_gguf(w);
  w.write(path);
}

Tokenizer Tokenizer::load(const std::string& path) {
  if (file_is_gguf(path)) return from_gguf(gguf::Reader::open(path));
  return from_tokenizer_json(path);
}

}  // namespace flame::tokenizer
