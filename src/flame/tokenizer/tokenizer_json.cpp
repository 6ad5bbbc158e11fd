// Hugging Face tokenizer.json <-> TokenizerSpec (byte-level BPE models only).
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flame/core/error.h"
#include "flame/tokenizer/byte_unicode.h"
#include "flame/tokenizer/tokenizer.h"

namespace flame::tokenizer {

namespace {

using nlohmann::json;

// The split regexes tokenizer.json files carry for the pre-tokenizers flame implements.
constexpr const char* kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// Finds the pre-tokenizer: a Split with a known regex (Llama 3 style), or ByteLevel with
// use_regex (GPT-2). Anything else is refused rather than approximated.
PreTokenizer detect_pre_tokenizer(const json& pre, const std::string& path) {
  if (pre.is_null()) throw FormatError(path, "pre_tokenizer", 0, "missing; flame needs llama-bpe or gpt2 splitting");
  const std::string type = pre.value("type", "");
  if (type == "Sequence") {
    for (const auto& p : pre.at("pretokenizers")) {
      if (p.value("type", "") != "Split") continue;
      const auto& pattern = p.at("pattern");
      const std::string regex = pattern.contains("Regex") ? pattern["Regex"].get<std::string>() : "";
      if (regex == kLlama3Pattern) return PreTokenizer::Llama3;
      if (regex == kGpt2Pattern) return PreTokenizer::Gpt2;
      throw UnsupportedError(
          fmt::format("{}: pre_tokenizer split regex is not one flame knows (llama-bpe, gpt2): {}", path, regex));
    }
    for (const auto& p : pre.at("pretokenizers"))
      if (p.value("type", "") == "ByteLevel" && p.value("use_regex", true)) return PreTokenizer::Gpt2;
  } else if (type == "ByteLevel" && pre.value("use_regex", true)) {
    return PreTokenizer::Gpt2;
  }
  throw UnsupportedError(
      fmt::format("{}: pre_tokenizer of type '{}' is not one flame knows (llama-bpe, gpt2)", path, type));
}

std::string byte_token(const std::string& shown, const std::string& path, const std::string& field) {
  auto raw = unicode_text_to_bytes(shown);
  if (!raw) throw FormatError(path, field, 0, fmt::format("token '{}' is not byte-level (GPT-2 byte alphabet)", shown));
  return *raw;
}

}  // namespace

Tokenizer Tokenizer::from_tokenizer_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, "cannot open tokenizer.json");
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    throw FormatError(path, "(json)", 0, e.what());
  }
  try {
    const json& model = doc.at("model");
    if (model.value("type", "BPE") != "BPE")
      throw UnsupportedError(fmt::format("{}: model type '{}' is not BPE", path, model.value("type", "")));
    TokenizerSpec spec;
    spec.pre = detect_pre_tokenizer(doc.value("pre_tokenizer", json()), path);
    spec.ignore_merges = model.value("ignore_merges", false);
    // Vocabulary: model.vocab (byte-level strings) plus added_tokens (literal text).
    std::vector<std::string> shown;
    for (const auto& [text, id_json] : model.at("vocab").items()) {
      const int64_t id = id_json.get<int64_t>();
      if (id < 0 || id > 10'000'000)
        throw FormatError(path, "model.vocab", 0, fmt::format("token id {} out of range", id));
      if (static_cast<size_t>(id) >= spec.tokens.size()) {
        spec.tokens.resize(id + 1);
        spec.types.resize(id + 1, TokenType::Unused);
        shown.resize(id + 1);
      }
      shown[id] = text;
      spec.tokens[id] = byte_token(text, path, "model.vocab");
      spec.types[id] = TokenType::Normal;
    }
    for (const auto& added : doc.value("added_tokens", json::array())) {
      const int64_t id = added.at("id").get<int64_t>();
      if (id < 0 || id > 10'000'000)
        throw FormatError(path, "added_tokens", 0, fmt::format("token id {} out of range", id));
      if (static_cast<size_t>(id) >= spec.tokens.size()) {
        spec.tokens.resize(id + 1);
        spec.types.resize(id + 1, TokenType::Unused);
        shown.resize(id + 1);
      }
      spec.tokens[id] = added.at("content").get<std::string>();
      shown[id] = spec.tokens[id];
      spec.types[id] = added.value("special", false) ? TokenType::Control : TokenType::UserDefined;
    }
    std::unordered_map<std::string, int32_t> by_shown;
    for (size_t id = 0; id < shown.size(); ++id)
      if (spec.types[id] == TokenType::Normal) by_shown.emplace(shown[id], static_cast<int32_t>(id));
    if (!model.contains("merges")) throw FormatError(path, "model.merges", 0, "missing; a BPE model needs its merges");
    size_t index = 0;
    for (const auto& m : model.at("merges")) {
      std::string left, right;
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t space = s.find(' ', 1);
        if (space == std::string::npos)
          throw FormatError(path, fmt::format("model.merges[{}]", index), 0, "expected 'left right'");
        left = s.substr(0, space);
        right = s.substr(space + 1);
      } else {
        left = m.at(0).get<std::string>();
        right = m.at(1).get<std::string>();
      }
      auto l = by_shown.find(left), r = by_shown.find(right);
      if (l == by_shown.end() || r == by_shown.end())
        throw FormatError(
            path, fmt::format("model.merges[{}]", index), 0,
            fmt::format("names token '{}' that is not in the vocabulary", l == by_shown.end() ? left : right));
      spec.merges.emplace_back(l->second, r->second);
      ++index;
    }
    auto id_of = [&](const std::string& text) {
      for (size_t id = 0; id < spec.tokens.size(); ++id)
        if (spec.types[id] == TokenType::Control && spec.tokens[id] == text) return static_cast<int32_t>(id);
      return -1;
    };
    // tokenizer.json does not name BOS/EOS; use the Llama 3 / GPT-2 names, and the post-processor
    // to learn whether BOS is prepended.
    spec.bos_id = id_of("<|begin_of_text|>");
    spec.eos_id = id_of("<|end_of_text|>");
    spec.eot_id = id_of("<|eot_id|>");
    if (spec.bos_id < 0) spec.bos_id = id_of("<|endoftext|>");
    if (spec.eos_id < 0) spec.eos_id = id_of("<|endoftext|>");
    const std::string post = doc.value("post_processor", json()).dump();
    spec.add_bos = spec.bos_id >= 0 && post.find(spec.tokens[spec.bos_id]) != std::string::npos;
    if (doc.contains("flame") && doc["flame"].is_object()) {  // what flame itself writes
      const auto& f = doc["flame"];
      spec.bos_id = f.value("bos_token_id", spec.bos_id);
      spec.eos_id = f.value("eos_token_id", spec.eos_id);
      spec.eot_id = f.value("eot_token_id", spec.eot_id);
      spec.pad_id = f.value("padding_token_id", spec.pad_id);
      spec.add_bos = f.value("add_bos_token", spec.add_bos);
      spec.chat_template = f.value("chat_template", std::string());
    }
    return Tokenizer(std::move(spec));
  } catch (const json::exception& e) {
    throw FormatError(path, "(tokenizer.json structure)", 0, e.what());
  } catch (const ArgumentError& e) {
    throw FormatError(path, "(tokenizer)", 0, e.what());
  }
}

void Tokenizer::save_tokenizer_json(const std::string& path) const {
  const TokenizerSpec& s = spec();
  json vocab = json::object(), added = json::array(), merges = json::array();
  for (size_t id = 0; id < s.tokens.size(); ++id) {
    if (s.types[id] == TokenType::Control || s.types[id] == TokenType::UserDefined)
      added.push_back({{"id", id},
                       {"content", s.tokens[id]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", s.types[id] == TokenType::Control}});
    else
      vocab[bytes_to_unicode_text(s.tokens[id])] = id;
  }
  // "left right" strings as in Meta's file: every tokenizers release reads them (the [left, right]
  // pair form needs tokenizers >= 0.20); byte-level tokens never contain a literal space.
  for (auto [l, r] : s.merges)
    merges.push_back(bytes_to_unicode_text(s.tokens[l]) + " " + bytes_to_unicode_text(s.tokens[r]));
  json pre = {{"type", "Sequence"},
              {"pretokenizers",
               {{{"type", "Split"},
                 {"pattern", {{"Regex", s.pre == PreTokenizer::Llama3 ? kLlama3Pattern : kGpt2Pattern}}},
                 {"behavior", "Isolated"},
                 {"invert", false}},
                {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}};
  // As Meta's Llama 3 tokenizer.json: ByteLevel offsets, then the BOS template. HF tokenizers
  // requires all three TemplateProcessing fields (single, pair, special_tokens).
  json post_processor = {
      {"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
  if (s.add_bos && s.bos_id >= 0) {
    const std::string& bos = s.tokens[s.bos_id];
    auto special = [&](int type_id) { return json{{"SpecialToken", {{"id", bos}, {"type_id", type_id}}}}; };
    auto sequence = [](const char* id, int type_id) { return json{{"Sequence", {{"id", id}, {"type_id", type_id}}}}; };
    json special_tokens = json::object();
    special_tokens[bos] = {{"id", bos}, {"ids", json::array({s.bos_id})}, {"tokens", json::array({bos})}};
    json template_processing = {{"type", "TemplateProcessing"},
                                {"single", json::array({special(0), sequence("A", 0)})},
                                {"pair", json::array({special(0), sequence("A", 0), special(1), sequence("B", 1)})},
                                {"special_tokens", special_tokens}};
    post_processor = {{"type", "Sequence"}, {"processors", json::array({post_processor, template_processing})}};
  }
  json doc = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", pre},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"post_processor", post_processor},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", s.ignore_merges},
        {"vocab", vocab},
        {"merges", merges}}},
      {"flame",
       {{"bos_token_id", s.bos_id},
        {"eos_token_id", s.eos_id},
        {"eot_token_id", s.eot_id},
        {"padding_token_id", s.pad_id},
        {"add_bos_token", s.add_bos},
        {"chat_template", s.chat_template}}}};
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError(tmp, "cannot create");
    out << doc.dump(1);
    if (!out.flush()) throw IoError(tmp, "write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw IoError(path, "rename failed");
}

}  // namespace flame::tokenizer
