// Tokenizer unit tests. Expected values are derived by hand from the reference regexes, Meta's
// prompt format and the BPE definition; the 50,000-line comparison with tiktoken is in
// tests/e2e/tokenizer_tiktoken.test.sh.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "flame/core/error.h"
#include "flame/core/thread_pool.h"
#include "flame/io/gguf.h"
#include "flame/tokenizer/bpe_merges.h"
#include "flame/tokenizer/byte_unicode.h"
#include "flame/tokenizer/chat_template.h"
#include "flame/tokenizer/corpus.h"
#include "flame/tokenizer/pretokenizer.h"
#include "flame/tokenizer/stream_decoder.h"
#include "flame/tokenizer/tokenizer.h"
#include "flame/tokenizer/trainer.h"
#include "flame/tokenizer/unicode.h"
#include "support/test_support.h"

namespace flame::tokenizer {
namespace {

std::vector<std::string> split(PreTokenizer kind, std::string_view text) {
  std::vector<std::string_view> views;
  pre_tokenize(kind, text, views);
  return {views.begin(), views.end()};
}
using Pieces = std::vector<std::string>;

TEST(TokenizerUnicode, ClassesCoverAllPlanes) {
  EXPECT_TRUE(is_letter(0x1D400));  // MATHEMATICAL BOLD CAPITAL A (astral, Lu)
  EXPECT_TRUE(is_letter(0x4E00));
  EXPECT_TRUE(is_letter(0x20000));  // CJK Extension B
  EXPECT_TRUE(is_number(0x2160));   // ROMAN NUMERAL ONE (Nl)
  EXPECT_TRUE(is_number(0xBD));     // VULGAR FRACTION ONE HALF (No)
  EXPECT_TRUE(is_number(0x1D7CE));  // MATHEMATICAL BOLD DIGIT ZERO (Nd)
  EXPECT_TRUE(is_space(0x3000));
  EXPECT_TRUE(is_space(0x85));
  EXPECT_TRUE(is_space(0x0B));
  EXPECT_FALSE(is_space(0x200B));   // ZERO WIDTH SPACE is Cf, not White_Space
  EXPECT_FALSE(is_space(0x180E));   // MONGOLIAN VOWEL SEPARATOR left White_Space in Unicode 6.3
  EXPECT_FALSE(is_letter(0x0301));  // combining acute (Mn)
  EXPECT_EQ(char_class(kInvalidCodepoint), CharClass::Other);
  EXPECT_EQ(decode_utf8("\xC0\x80", 0).codepoint, kInvalidCodepoint);      // overlong
  EXPECT_EQ(decode_utf8("\xED\xA0\x80", 0).codepoint, kInvalidCodepoint);  // surrogate
  EXPECT_EQ(decode_utf8("\xF4\x90\x80\x80", 0).codepoint, kInvalidCodepoint);
  EXPECT_EQ(decode_utf8("\xF0\x9F\x8C\x8D", 0).codepoint, 0x1F30Du);
}

TEST(TokenizerPreTokenizer, Llama3MatchesRegexByHand) {
  const auto L = PreTokenizer::Llama3;
  EXPECT_EQ(split(L, "Hello world's 12345"), (Pieces{"Hello", " world", "'s", " ", "123", "45"}));
  EXPECT_EQ(split(L, "a   b"), (Pieces{"a", "  ", " b"}));  // \s+(?!\S) leaves one space
  EXPECT_EQ(split(L, "a  "), (Pieces{"a", "  "}));          // at the end the run stays whole
  EXPECT_EQ(split(L, "x \n\n y"), (Pieces{"x", " \n\n", " y"}));
  EXPECT_EQ(split(L, "I'LL DON'T"), (Pieces{"I", "'LL", " DON", "'T"}));
  EXPECT_EQ(split(L, "it'\xC5\xBF"), (Pieces{"it", "'\xC5\xBF"}));  // (?i) 's' matches U+017F
  EXPECT_EQ(split(L, "...!\n\nfoo"), (Pieces{"...!\n\n", "foo"}));
  EXPECT_EQ(split(L, " ?!"), (Pieces{" ?!"}));
  EXPECT_EQ(split(L, "\t\tabc"), (Pieces{"\t", "\tabc"}));
  EXPECT_EQ(split(L,
                  "\xE4\xB8\xAD\xE6\x96\x87"
                  "ab"),
            (Pieces{"\xE4\xB8\xAD\xE6\x96\x87"
                    "ab"}));
  EXPECT_EQ(split(L,
                  "\xF0\x9D\x90\x80\xF0\x9D\x90\x81"
                  "1"),
            (Pieces{"\xF0\x9D\x90\x80\xF0\x9D\x90\x81", "1"}));
  EXPECT_EQ(split(L, "\xE3\x80\x80x"), (Pieces{"\xE3\x80\x80x"}));  // U+3000 may prefix a word
  EXPECT_EQ(split(L, "\xE2\x85\xAB\xE2\x85\xAB\xE2\x85\xAB\xE2\x85\xAB"),
            (Pieces{"\xE2\x85\xAB\xE2\x85\xAB\xE2\x85\xAB", "\xE2\x85\xAB"}));  // Nl in threes
  EXPECT_EQ(split(L,
                  "a\xFF"
                  "b"),
            (Pieces{"a",
                    "\xFF"
                    "b"}));  // invalid byte: an "other" character
  EXPECT_EQ(split(L, "end\r\n\r\n"), (Pieces{"end", "\r\n\r\n"}));
  EXPECT_EQ(split(L, "\n\nHi"), (Pieces{"\n\n", "Hi"}));
  EXPECT_EQ(split(L, "x \t"), (Pieces{"x", " \t"}));
}

TEST(TokenizerPreTokenizer, Gpt2MatchesRegexByHand) {
  const auto G = PreTokenizer::Gpt2;
  EXPECT_EQ(split(G, "Hello  world 123"), (Pieces{"Hello", " ", " world", " 123"}));
  EXPECT_EQ(split(G, "I'LL it's"), (Pieces{"I", "'", "LL", " it", "'s"}));  // case-sensitive
  EXPECT_EQ(split(G, "x\n\ny"), (Pieces{"x", "\n", "\n", "y"}));
  EXPECT_EQ(split(G, "1234567"), (Pieces{"1234567"}));
}

TEST(TokenizerPreTokenizer, PiecesCoverRandomBytesExactly) {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 2000; ++iter) {
    std::string s(rng() % 64, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 4 == 0 ? " \n\t'"[rng() % 4] : rng() % 256);
    for (auto kind : {PreTokenizer::Llama3, PreTokenizer::Gpt2}) {
      std::string joined;
      for (const auto& p : split(kind, s)) {
        ASSERT_FALSE(p.empty());
        joined += p;
      }
      ASSERT_EQ(joined, s);
    }
  }
}

TEST(TokenizerPreTokenizer, UnknownNameIsAClearError) {
  EXPECT_EQ(pre_tokenizer_from_name("llama-bpe"), PreTokenizer::Llama3);
  try {
    pre_tokenizer_from_name("qwen2");
    FAIL();
  } catch (const UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("qwen2"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("llama-bpe"), std::string::npos);
  }
}

TEST(TokenizerByteUnicode, Gpt2Alphabet) {
  EXPECT_EQ(bytes_to_unicode_text("\n hi"), "\xC4\x8A\xC4\xA0hi");  // "ĊĠhi"
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(unicode_text_to_bytes(bytes_to_unicode_text(all)), all);
  EXPECT_FALSE(unicode_text_to_bytes("\xE4\xB8\xAD").has_value());
}

TEST(TokenizerBpe, FastMergesEqualReference) {
  std::mt19937 rng(11);
  MergeTable table;
  // Merges over a 6-symbol alphabet; merged ids 100+ and some merges of merged tokens.
  int32_t next = 100, rank = 0;
  std::vector<int32_t> symbols = {0, 1, 2, 3, 4, 5};
  for (int i = 0; i < 60; ++i) {
    const int32_t l = symbols[rng() % symbols.size()], r = symbols[rng() % symbols.size()];
    table.add(l, r, rank++, next);
    symbols.push_back(next++);
  }
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<int32_t> ids(1 + rng() % 300);  // short (flat path) and long (heap path)
    for (auto& v : ids) v = static_cast<int32_t>(rng() % 6);
    auto fast = ids, ref = ids;
    apply_merges(table, fast);
    apply_merges_reference(table, ref);
    ASSERT_EQ(fast, ref) << "length " << ids.size();
  }
}

// The classic example: "aaabdaaabac" merges aa, then ab (tie with (aa,a) broken by smaller ids),
// then aa+ab.
TEST(TokenizerTrainer, KnownMergesOnTinyCorpus) {
  TrainerOptions opt;
  opt.vocab_size = 256 + 3 + 5;
  const Tokenizer tok = train_bpe("aaabdaaabac", opt);
  const auto& m = tok.spec().merges;
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0], (std::pair<int32_t, int32_t>{'a', 'a'}));
  EXPECT_EQ(m[1], (std::pair<int32_t, int32_t>{'a', 'b'}));
  EXPECT_EQ(m[2], (std::pair<int32_t, int32_t>{256, 257}));
  EXPECT_EQ(tok.token_bytes(258), "aaab");
  EXPECT_EQ(tok.vocab_size(), 264);
  EXPECT_EQ(tok.token_bytes(tok.bos_id()), "<|begin_of_text|>");
  EXPECT_EQ(tok.token_bytes(tok.eot_id()), "<|eot_id|>");
  EXPECT_EQ(tok.encode("aaabdaaabac", {.add_bos = false}), (std::vector<int32_t>{258, 'd', 258, 'a', 'c'}));
}

std::string varied_text(size_t bytes, uint32_t seed) {
  static const char* parts[] = {"The quick brown fox ",
                                "jumps over the lazy dog. ",
                                "It's 12345 o'clock!\n",
                                "\n\n",
                                "  indented line\n",
                                "caf\xC3\xA9 ",
                                "\xE4\xB8\xAD\xE6\x96\x87 ",
                                "\xF0\x9F\x8C\x8D ",
                                "x = y + 42;\n",
                                "\t\tTabs\n"};
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < bytes) {
    if (rng() % 3 == 0) {  // a random lowercase word, so there are many distinct pre-tokens
      s += ' ';
      for (uint32_t n = 1 + rng() % 8; n > 0; --n) s += static_cast<char>('a' + rng() % 26);
    } else {
      s += parts[rng() % 10];
    }
  }
  return s;
}

TEST(TokenizerTrainer, DeterministicAcrossThreadCountsAndRoundTrips) {
  const std::string corpus = varied_text(3 << 20, 1);
  TrainerOptions opt;
  opt.vocab_size = 600;
  ThreadPool::set_global_threads(1);
  const Tokenizer a = train_bpe(corpus, opt);
  ThreadPool::set_global_threads(2);
  const Tokenizer b = train_bpe(corpus, opt);
  ThreadPool::set_global_threads(0);
  EXPECT_EQ(a.spec().merges, b.spec().merges);
  EXPECT_EQ(a.spec().tokens, b.spec().tokens);
  EXPECT_EQ(a.vocab_size(), 600);
  // Any bytes round-trip, invalid UTF-8 included (each invalid byte is its byte token).
  std::mt19937 rng(3);
  for (int i = 0; i < 500; ++i) {
    std::string s(rng() % 100, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    const auto ids = a.encode(s, {.add_bos = false});
    ASSERT_EQ(a.decode(ids), s);
  }
}

TEST(TokenizerCorpus, ParallelEncodingEqualsSequential) {
  const std::string text = varied_text(2 << 20, 5);
  TrainerOptions opt;
  opt.vocab_size = 400;
  const Tokenizer tok = train_bpe(text.substr(0, 200000), opt);
  std::vector<int32_t> sequential;
  tok.encode_ordinary(text, sequential);
  EXPECT_GT(safe_cut_points(text, 256 * 1024).size(), 4u);
  EXPECT_EQ(encode_corpus(tok, text), sequential);
  EXPECT_EQ(tok.decode(sequential), text);
}

TEST(TokenizerSpecial, ParsedOnlyWhenAllowed) {
  TrainerOptions opt;
  opt.vocab_size = 300;
  const Tokenizer tok = train_bpe(varied_text(100000, 2), opt);
  const std::string text = "hi<|eot_id|>there";
  const auto plain = tok.encode(text, {.add_bos = false});
  for (int32_t id : plain) EXPECT_NE(id, tok.eot_id());
  EXPECT_EQ(tok.decode(plain), text);
  const auto special = tok.encode(text, {.add_bos = true, .parse_special = true});
  EXPECT_EQ(special.front(), tok.bos_id());
  EXPECT_EQ(std::count(special.begin(), special.end(), tok.eot_id()), 1);
  EXPECT_EQ(tok.decode(special), "<|begin_of_text|>" + text);
  EXPECT_EQ(tok.decode(special, /*skip_special=*/true), "hithere");
  EXPECT_TRUE(tok.is_end_of_generation(tok.eot_id()));
  EXPECT_TRUE(tok.is_end_of_generation(tok.eos_id()));
  EXPECT_FALSE(tok.is_end_of_generation('a'));
  EXPECT_THROW(tok.decode(std::vector<int32_t>{tok.vocab_size()}), ArgumentError);
}

TEST(TokenizerStream, NeverEmitsPartialCharacters) {
  TrainerOptions opt;
  opt.vocab_size = 270;
  const Tokenizer tok = train_bpe("abc", opt);
  const std::string text = "h\xE2\x82\xAClo \xF0\x9F\x8C\x8D \xE4\xB8\xAD!";  // h€lo 🌍 中!
  StreamDecoder dec(tok);
  std::string out;
  for (unsigned char c : text) {
    const std::string piece = dec.push(c);  // ids 0..255 are the byte tokens
    ASSERT_TRUE(is_valid_utf8(piece));
    out += piece;
  }
  out += dec.finish();
  EXPECT_EQ(out, text);
  // Invalid bytes become U+FFFD; an unfinished character at the end too (one per byte).
  StreamDecoder bad(tok);
  std::string got;
  for (int32_t byte : {0x61, 0xFF, 0x62, 0xE2, 0x82}) got += bad.push(byte);
  EXPECT_EQ(bad.pending_bytes(), 2u);
  got += bad.finish();
  EXPECT_EQ(got,
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate bytes
}

TEST(TokenizerGguf, RoundTripAndBadFiles) {
  TrainerOptions opt;
  opt.vocab_size = 500;
  const std::string corpus = varied_text(200000, 9);
  const Tokenizer tok = train_bpe(corpus, opt);
  const std::string dir = test::scratch_dir("tokenizer_gguf");
  tok.save(dir + "/tok.gguf");
  tok.save(dir + "/tok.json");
  for (const char* name : {"/tok.gguf", "/tok.json"}) {
    const Tokenizer back = Tokenizer::load(dir + name);
    EXPECT_EQ(back.spec().tokens, tok.spec().tokens) << name;
    EXPECT_EQ(back.spec().merges, tok.spec().merges) << name;
    EXPECT_EQ(back.bos_id(), tok.bos_id());
    EXPECT_EQ(back.eot_id(), tok.eot_id());
    EXPECT_EQ(back.encode(corpus), tok.encode(corpus));
  }
  // Missing merges, unknown pre-tokenizer, a merge naming a missing token: clear errors.
  auto write_variant = [&](const std::string& path, const std::string& drop, const std::string& key, gguf::Value v) {
    const auto r = gguf::Reader::open(dir + "/tok.gguf");
    gguf::Writer w;
    for (const auto& [k, val] : r.metadata())
      if (k != drop) w.set(k, k == key ? v : val);
    w.write(path);
  };
  write_variant(dir + "/nomerges.gguf", "tokenizer.ggml.merges", "", {});
  try {
    Tokenizer::load(dir + "/nomerges.gguf");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.merges"), std::string::npos) << e.what();
  }
  write_variant(dir + "/badpre.gguf", "", "tokenizer.ggml.pre", gguf::Value::string("deepseek-coder"));
  EXPECT_THROW(Tokenizer::load(dir + "/badpre.gguf"), UnsupportedError);
  write_variant(dir + "/badmerge.gguf", "", "tokenizer.ggml.merges", gguf::Value::strings({"a zzzz"}));
  EXPECT_THROW(Tokenizer::load(dir + "/badmerge.gguf"), FormatError);
}

TEST(TokenizerChat, RecognisesMetaTemplates) {
  const std::string turns =
      "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>'";
  EXPECT_EQ(detect_chat_template("{% set loop_messages = messages %}" + turns), ChatTemplateKind::Llama3);
  EXPECT_EQ(detect_chat_template(
                "{%- set date_string = \"26 Jul 2024\" %}{{- \"Cutting Knowledge Date: December 2023\\n\" }}" + turns),
            ChatTemplateKind::Llama31);
  EXPECT_EQ(detect_chat_template(
                "{%- set date_string = strftime_now(\"%d %b %Y\") %}Cutting Knowledge Date: December 2023" + turns),
            ChatTemplateKind::Llama32);
  EXPECT_EQ(detect_chat_template(""), ChatTemplateKind::Llama3);
  EXPECT_THROW(detect_chat_template("{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}"), UnsupportedError);
}

TEST(TokenizerChat, StructureOfLlama32Prompt) {
  TrainerOptions opt;
  opt.vocab_size = 400;
  const Tokenizer tok = train_bpe(varied_text(100000, 4), opt);
  const ChatFormat f(tok, ChatTemplateKind::Llama32, "5 Nov 2026");
  const auto ids = f.encode({{"user", "  Hi <|eot_id|>\n"}}, true);
  const int32_t sh = tok.find_token("<|start_header_id|>"), eh = tok.find_token("<|end_header_id|>");
  std::vector<int32_t> want{tok.bos_id(), sh};
  auto text = [&](const std::string& s) { tok.encode_ordinary(s, want); };
  text("system");
  want.push_back(eh);
  text("\n\nCutting Knowledge Date: December 2023\nToday Date: 5 Nov 2026\n\n");
  want.push_back(tok.eot_id());
  want.push_back(sh);
  text("user");
  want.push_back(eh);
  text("\n\nHi <|eot_id|>");  // stripped, and the special text stays text
  want.push_back(tok.eot_id());
  want.push_back(sh);
  text("assistant");
  want.push_back(eh);
  text("\n\n");
  EXPECT_EQ(ids, want);
}

}  // namespace
}  // namespace flame::tokenizer
