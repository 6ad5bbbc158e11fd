// `flame corpus-extract` (train/corpus_extract.h) on small hand-built inputs whose expected output
// is written out by hand here, and the Python text semantics it reproduces (train/py_text.h).
// The byte-identity with the former Python tool on the real packages is recorded in
// docs/corpus.md (sha256 of each part, both ways).
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "flame/core/error.h"
#include "flame/train/corpus_extract.h"
#include "flame/train/py_text.h"
#include "support/test_support.h"

namespace flame {
namespace {
namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void put(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// R's serialize(x, NULL, xdr = TRUE) of a character vector, format 3 ("NA" strings as nullptr).
std::string r_character_vector(const std::vector<const char*>& items) {
  std::string s = "X\n" + be32(3) + be32(0x040201) + be32(0x030500) + be32(5) + "UTF-8";
  s += be32(16) + be32(static_cast<uint32_t>(items.size()));  // STRSXP, length
  for (const char* item : items) {
    if (!item) {
      s += be32(9) + be32(0xFFFFFFFFu);  // CHARSXP, NA_STRING
      continue;
    }
    s += be32(0x00008009) + be32(static_cast<uint32_t>(std::strlen(item))) + item;  // CHARSXP, UTF8 flag
  }
  return s;
}

// One lazy-load record: 4-byte big-endian length, then a zlib stream.
std::string rdb_record(const std::string& payload) {
  uLongf size = compressBound(payload.size());
  std::string z(size, '\0');
  EXPECT_EQ(compress(reinterpret_cast<Bytef*>(z.data()), &size, reinterpret_cast<const Bytef*>(payload.data()),
                     payload.size()),
            Z_OK);
  z.resize(size);
  return be32(static_cast<uint32_t>(payload.size())) + z;
}

TEST(PyText, DecodeReplacesEachIllFormedSubsequenceAsPythonDoes) {
  using pytext::decode_utf8_replace;
  // Results of bytes.decode("utf-8", "replace") in CPython 3.11.
  EXPECT_EQ(decode_utf8_replace("caf\xc3\xa9"), U"caf\u00e9");
  EXPECT_EQ(decode_utf8_replace("\xe2\x82"
                                "A"),
            U"\uFFFDA");                                                  // truncated 3-byte sequence: one
  EXPECT_EQ(decode_utf8_replace("\xed\xa0\x80"), U"\uFFFD\uFFFD\uFFFD");  // surrogate: three
  EXPECT_EQ(decode_utf8_replace("\xc0\xaf"), U"\uFFFD\uFFFD");            // overlong: two
  EXPECT_EQ(decode_utf8_replace("\xf0\x9f\x98"), U"\uFFFD");              // truncated at the end: one
  EXPECT_EQ(decode_utf8_replace("\xf0\x9f\x98\x80!"), U"\U0001F600!");
  EXPECT_EQ(decode_utf8_replace("\xf4\x90\x80\x80"), U"\uFFFD\uFFFD\uFFFD\uFFFD");  // above U+10FFFF
  EXPECT_EQ(decode_utf8_replace("\x80x\xff"), U"\uFFFDx\uFFFD");
}

TEST(PyText, SplittingAndStrippingFollowPython) {
  using namespace pytext;
  EXPECT_EQ(universal_newlines(U"a\r\nb\rc\n"), U"a\nb\nc\n");
  // re.split(r"\n\s*\n", "a\n \t\n\nb\nc\n\u00a0\nd") == ["a", "b\nc", "d"]
  const auto parts = split_paragraphs(U"a\n \t\n\nb\nc\n\u00a0\nd");
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], U"a");
  EXPECT_EQ(parts[1], U"b\nc");
  EXPECT_EQ(parts[2], U"d");
  // "x\u2028y\x0cz\r\nw\n".splitlines() == ["x", "y", "z", "w"]
  const auto lines = splitlines(U"x\u2028y\x0cz\r\nw\n");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[3], U"w");
  EXPECT_EQ(py_strip(U"\u3000 \x1f text \u00a0\n"), U"text");
  EXPECT_EQ(py_strip(U"\n\n a \n", U'\n'), U" a ");
}

TEST(CorpusExtract, AustenFromAHandBuiltRDatabase) {
  const std::string dir = test::scratch_dir("corpus_extract/austen");
  const std::string rdb = dir + "/Rdata.rdb";
  put(rdb, rdb_record(r_character_vector({"CHAPTER I", "", "It is a truth universally", "acknowledged, that a",
                                          "single man", "", "", "  Indented  line in a caf\xe9", nullptr})) +
               rdb_record(r_character_vector({"Emma Woodhouse, handsome,", "clever, and rich"})));
  const auto books = read_rdb_character_vectors(rdb);
  ASSERT_EQ(books.size(), 2u);
  EXPECT_EQ(books[0].size(), 9u);
  EXPECT_EQ(books[0][8], "");  // NA
  extract_austen(rdb, dir + "/austen.txt");
  EXPECT_EQ(slurp(dir + "/austen.txt"),
            "CHAPTER I\n\nIt is a truth universally acknowledged, that a single man\n\n"
            "Indented  line in a caf\xef\xbf\xbd\n\n"
            "Emma Woodhouse, handsome, clever, and rich\n\n");
}

TEST(CorpusExtract, BadRDataIsAnErrorNamingTheFile) {
  const std::string dir = test::scratch_dir("corpus_extract/austen_bad");
  fs::remove(dir + "/out.txt");
  put(dir + "/list.rdb", rdb_record("X\n" + be32(3) + be32(0) + be32(0) + be32(0) + be32(19) + be32(0)));
  try {
    extract_austen(dir + "/list.rdb", dir + "/out.txt");
    ADD_FAILURE() << "expected an error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("not a character vector (type 19)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("list.rdb"), std::string::npos) << e.what();
  }
  put(dir + "/junk.rdb", std::string("\0\0\0\x10not zlib at all", 20));
  EXPECT_THROW(extract_austen(dir + "/junk.rdb", dir + "/out.txt"), FormatError);
  put(dir + "/empty.rdb", "");
  EXPECT_THROW(extract_austen(dir + "/empty.rdb", dir + "/out.txt"), FormatError);
  EXPECT_FALSE(fs::exists(dir + "/out.txt"));
}

TEST(CorpusExtract, BrownTagsStrippedAndDetokenized) {
  const std::string dir = test::scratch_dir("corpus_extract/brown");
  fs::remove_all(dir + "/package");
  put(dir + "/package/ca01",
      "\n\n\tThe/at Fulton/np-tl County/nn-tl said/vbd ``/`` it/pps did/dod n't/* find/vb ''/'' ./.\n\n\n"
      "\tHe/pps 's/bez a/at (/( good/jj )/) man/nn ,/, isn't/bez* he/pps ?/. 1/2/cd a/b/ xyz\n");
  put(dir + "/package/cb02", "\tHello/uh world/nn !/.\r\n");
  put(dir + "/package/README", "Not/nn a/at corpus/nn file/nn\n");
  put(dir + "/package/cs01", "Outside/jj the/at a-r/nn range/nn\n");
  extract_brown(dir + "/package", dir + "/brown.txt");
  EXPECT_EQ(slurp(dir + "/brown.txt"),
            "The Fulton County said \" it didn't find \".\n\n"
            "He's a (good) man, isn't he? 1/2 a\n\n"
            "Hello world!\n\n");
}

TEST(CorpusExtract, MergeDropsRepeatedLongParagraphsOnly) {
  const std::string dir = test::scratch_dir("corpus_extract/merge");
  const std::string long_paragraph(85, 'L');
  put(dir + "/a.txt", "Short\n\n" + long_paragraph + "\n\n\nx\n");
  put(dir + "/b.txt", long_paragraph + "\n\nShort\n");
  const MergeStats s = merge_corpus(dir + "/out.txt", {dir + "/a.txt", dir + "/b.txt"});
  EXPECT_EQ(s.kept, 4);
  EXPECT_EQ(s.dropped, 1);
  EXPECT_EQ(slurp(dir + "/out.txt"), "Short\n\n" + long_paragraph + "\n\nx\n\nShort\n\n");
}

TEST(CorpusExtract, FortunesTreeSotuAndDictd) {
  const std::string dir = test::scratch_dir("corpus_extract/misc");
  fs::remove_all(dir + "/in");
  put(dir + "/in/fortunes/art", "First fortune.\n%\n\n%\n  Second\r\nfortune.  \n%\n");
  put(dir + "/in/fortunes/art.dat", "binary index");
  extract_fortunes(dir + "/fortunes.txt", {dir + "/in/fortunes"});
  EXPECT_EQ(slurp(dir + "/fortunes.txt"), "First fortune.\n\nSecond\nfortune.\n\n");

  put(dir + "/in/tree/b.rst", "  B  \n");
  put(dir + "/in/tree/a/z.txt", "AZ");
  put(dir + "/in/tree/a.txt", "   ");
  put(dir + "/in/tree/c.py", "not matched");
  extract_tree(dir + "/in/tree", dir + "/tree.txt", {".rst", ".txt"});
  EXPECT_EQ(slurp(dir + "/tree.txt"), "B\n\nAZ\n\n");  // this folder's files, then subfolders

  put(dir + "/in/sotu/1790.txt", "\nWashington\n");
  put(dir + "/in/sotu/1791.txt", "Again");
  extract_sotu(dir + "/in/sotu", dir + "/sotu.txt");
  EXPECT_EQ(slurp(dir + "/sotu.txt"), "Washington\n\nAgain\n\n");

  const std::string dz = dir + "/in/words.dict.dz";
  gzFile gz = gzopen(dz.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  const std::string words = "apple\r\n  a fruit\n";
  gzwrite(gz, words.data(), static_cast<unsigned>(words.size()));
  gzclose(gz);
  extract_dictd(dir + "/dict.txt", {dz, dz});
  EXPECT_EQ(slurp(dir + "/dict.txt"), "apple\n  a fruit\n\napple\n  a fruit\n\n");
}

}  // namespace
}  // namespace flame
