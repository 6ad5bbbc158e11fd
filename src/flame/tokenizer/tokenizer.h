#pragma once
// Byte-level BPE tokenizer (GPT-2 / Llama 3 family), loaded from GGUF metadata or a Hugging Face
// tokenizer.json, written back to either.
//
//   Tokenizer tok = Tokenizer::load("model.gguf");             // or "tokenizer.json"
//   std::vector<int32_t> ids = tok.encode("Hello <|eot_id|>");  // BOS per metadata; the special
//                                                               // token text is plain text here
//   ids = tok.encode(prompt, {.add_bos = true, .parse_special = true});  // templates only
//   std::string text = tok.decode(ids);                        // exact inverse of encode
//
// Special tokens (types Control and UserDefined) are recognised in text ONLY when parse_special is
// set; user content is never scanned for them by default.
//
// Invalid UTF-8 input is not an error: each invalid byte becomes its own "other" character for the
// pre-tokenizer (unicode.h) and is encoded with its byte token, so decode(encode(x)) == x for any
// byte string. decode() returns raw bytes; StreamDecoder (stream_decoder.h) makes terminal-safe text.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flame/tokenizer/pretokenizer.h"

namespace flame::gguf {
class Reader;
class Writer;
}  // namespace flame::gguf

namespace flame::tokenizer {

// Numbered as llama.cpp / GGUF `tokenizer.ggml.token_type`.
enum class TokenType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

// Everything that defines a tokenizer, in file-independent form.
struct TokenizerSpec {
  PreTokenizer pre = PreTokenizer::Llama3;
  // Raw bytes for normal tokens; the literal text for Control/UserDefined tokens.
  std::vector<std::string> tokens;
  std::vector<TokenType> types;                     // same length as tokens
  std::vector<std::pair<int32_t, int32_t>> merges;  // (left id, right id), best first
  int32_t bos_id = -1, eos_id = -1, eot_id = -1, pad_id = -1;
  bool add_bos = true;
  // Llama 3 style: a pre-token that is itself in the vocabulary is emitted whole (HF
  // `ignore_merges`, what tiktoken does). Enabled for the llama-bpe pre-tokenizer.
  bool ignore_merges = true;
  std::string chat_template;  // GGUF tokenizer.chat_template, may be empty
};

struct EncodeOptions {
  bool add_bos = true;         // prepend BOS when the metadata asks for it (add_bos_token)
  bool parse_special = false;  // recognise special-token text (templates, --special)
};

class Tokenizer {
 public:
  // Validates the spec (ids in range, merges name existing tokens whose concatenation exists,
  // all 256 byte tokens present). Throws ArgumentError naming the problem.
  explicit Tokenizer(TokenizerSpec spec);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // By file contents: GGUF magic -> from_gguf, otherwise tokenizer.json.
  static Tokenizer load(const std::string& path);
  static Tokenizer from_gguf(const gguf::Reader& reader);
  static Tokenizer from_tokenizer_json(const std::string& path);

  // Adds every tokenizer.* key (tokens, types, merges, ids, pre, template) to a GGUF writer.
  void add_to_gguf(gguf::Writer& writer) const;
  // Writes a GGUF holding only tokenizer metadata, or a tokenizer.json when the path ends ".json".
  void save(const std::string& path) const;
  void save_tokenizer_json(const std::string& path) const;

  std::vector<int32_t> encode(std::string_view text, EncodeOptions options = {}) const;
  // Appends the ids of `text` with no BOS and no special-token parsing (hot path for corpora).
  void encode_ordinary(std::string_view text, std::vector<int32_t>& out) const;
  // Concatenated token bytes (special tokens as their text unless skip_special). Throws
  // ArgumentError for an id out of range.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;
  const std::string& token_bytes(int32_t id) const;
  TokenType token_type(int32_t id) const;
  // Id of a token given its raw bytes / special text, -1 when absent.
  int32_t find_token(std::string_view bytes) const;

  int32_t vocab_size() const;
  int32_t bos_id() const;
  int32_t eos_id() const;
  int32_t eot_id() const;
  // True for tokens that end a generation (EOS, EOT/<|eot_id|>, <|eom_id|>).
  bool is_end_of_generation(int32_t id) const;
  const TokenizerSpec& spec() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flame::tokenizer
