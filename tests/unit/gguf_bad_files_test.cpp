// Hostile and broken GGUF files: each is assembled by hand (tests/support/gguf_bytes.h), written
// to the scratch folder, and must be refused with a FormatError naming the right field and byte
// offset, by the library and by `flame info` (exit code 1, message on stderr). Truncating a valid
// file at every header byte, and flipping random header bytes, must never crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "flame/core/error.h"
#include "flame/io/gguf.h"
#include "support/gguf_bytes.h"
#include "support/test_support.h"

namespace flame {
namespace {

using test::GgufBytes;

constexpr uint32_t kU8 = 0, kU32 = 4, kI32 = 5, kBool = 7, kString = 8, kArray = 9;
constexpr uint32_t kF32 = 0, kF16 = 1, kQ8_0 = 8;
constexpr uint64_t kNoOffsetCheck = UINT64_MAX;

struct BadFile {
  std::string name;
  GgufBytes g;
  std::string field;                 // the FormatError's field must equal this
  uint64_t offset = kNoOffsetCheck;  // and its byte offset this (when given)
  std::string why;                   // and its message must contain this
};

std::vector<BadFile> bad_files() {
  std::vector<BadFile> out;
  auto add = [&](std::string name, GgufBytes g, std::string field, uint64_t offset, std::string why) {
    out.push_back({std::move(name), std::move(g), std::move(field), offset, std::move(why)});
  };
  { add("empty", GgufBytes{}, "magic", 0, "too short"); }
  {
    GgufBytes g;
    g.raw("GGUG", 4).u32(3).u64(0).u64(0);
    add("bad_magic", g, "magic", 0, "not a GGUF file");
  }
  {
    GgufBytes g;
    g.preamble(1, 0, 0);
    add("version_1", g, "version", 4, "v1 is not supported");
  }
  {
    GgufBytes g;
    g.preamble(99, 0, 0);
    add("version_99", g, "version", 4, "unsupported GGUF version 99");
  }
  {
    GgufBytes g;
    g.preamble(0x03000000u, 0, 0);
    add("big_endian", g, "version", 4, "big-endian");
  }
  {
    GgufBytes g;
    g.raw("GGUF", 4).u32(3).u32(0);
    add("truncated_counts", g, "tensor_count", 8, "truncated");
  }
  {
    GgufBytes g;
    g.preamble(3, uint64_t{1} << 62, 0).zeros(64);
    add("absurd_tensor_count", g, "tensor_count", 8, "cannot fit");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, ~uint64_t{0}).zeros(64);
    add("absurd_kv_count", g, "metadata_kv_count", 16, "cannot fit");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).u64(1000).raw("abc", 3).zeros(16);
    add("key_length_past_eof", g, "metadata[0].key", 24, "runs past the end");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).key("", kU8).u8(1).zeros(16);
    add("empty_key", g, "metadata[0].key", 24, "empty key");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).str("x.y");
    const size_t at = g.mark();
    g.u32(13).u64(0);
    add("unknown_value_type", g, "metadata[\"x.y\"].type", at, "unknown value type 13");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).key("general.name", kString);
    const size_t at = g.mark();
    g.u64(uint64_t{1} << 40).raw("llama", 5);
    add("string_length_past_eof", g, "metadata[\"general.name\"]", at, "runs past the end");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).key("tokenizer.ggml.tokens", kArray).u32(kString);
    const size_t at = g.mark();
    g.u64(1000000).str("a").str("b");
    add("array_count_past_eof", g, "metadata[\"tokenizer.ggml.tokens\"].count", at, "run past the end");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).key("tokenizer.ggml.tokens", kArray).u32(kString).u64(3).str("a").str("b");
    const size_t at = g.mark();
    g.u64(50).raw("c", 1);
    add("string_in_array_past_eof", g, "metadata[\"tokenizer.ggml.tokens\"][2]", at, "runs past the end");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).key("a", kArray);
    const size_t at = g.mark();
    g.u32(77).u64(1).u32(0);
    add("array_unknown_element_type", g, "metadata[\"a\"].element_type", at, "unknown array element type 77");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 2).key("k", kU32).u32(1);
    const size_t at = g.mark();
    g.key("k", kU32).u32(2);
    add("duplicate_key", g, "metadata[\"k\"]", at, "duplicate key");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).key("b", kBool);
    const size_t at = g.mark();
    g.u8(2).zeros(16);
    add("bool_not_0_or_1", g, "metadata[\"b\"]", at, "must be 0 or 1");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).key("deep", kArray);
    for (int i = 0; i < 40; ++i) g.u32(kArray).u64(1);  // element type ARRAY, one item
    g.u32(kU8).u64(0);
    add("arrays_nested_too_deep", g, "metadata[\"deep\"][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]",
        kNoOffsetCheck, "nested deeper");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).key("general.alignment", kU32).u32(0);
    add("alignment_zero", g, "metadata[\"general.alignment\"]", 24, "not a power of two");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).key("general.alignment", kU32).u32(48);
    add("alignment_not_power_of_two", g, "metadata[\"general.alignment\"]", 24, "not a power of two");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).key("general.alignment", kString).str("32");
    add("alignment_wrong_type", g, "metadata[\"general.alignment\"]", 24, "must be an unsigned integer");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).key("general.alignment", kI32).u32(static_cast<uint32_t>(-32));
    add("alignment_negative", g, "metadata[\"general.alignment\"]", 24, "not positive");
  }
  {
    GgufBytes g;
    g.preamble(3, 1, 0);
    const size_t at = g.mark();
    g.u64(5000).raw("tok", 3).zeros(64);
    add("tensor_name_past_eof", g, "tensor_infos[0].name", at, "runs past the end");
  }
  {
    GgufBytes g;
    g.preamble(3, 1, 0).str("t");
    const size_t at = g.mark();
    g.u32(5);
    for (int i = 0; i < 5; ++i) g.u64(1);
    g.u32(kF32).u64(0).pad_to(32).zeros(32);
    add("too_many_dims", g, "tensor_infos[0].n_dims", at, "5 dimensions");
  }
  {
    GgufBytes g;
    g.preamble(3, 1, 0).str("t").u32(2).u64(4);
    const size_t at = g.mark();
    g.u64(0).u32(kF32).u64(0).pad_to(32).zeros(32);
    add("zero_dimension", g, "tensor_infos[0].ne[1]", at, "zero");
  }
  {
    GgufBytes g;
    g.preamble(3, 1, 0).str("t").u32(1);
    const size_t at = g.mark();
    g.u64(~uint64_t{0} - 7).u32(kF32).u64(0).pad_to(32).zeros(32);
    add("negative_dimension", g, "tensor_infos[0].ne[0]", at, "negative");
  }
  {
    GgufBytes g;
    g.preamble(3, 1, 0).str("t").u32(2).u64(uint64_t{1} << 32);
    const size_t at = g.mark();
    g.u64(uint64_t{1} << 32).u32(kF32).u64(0).pad_to(32).zeros(32);
    add("element_count_overflow", g, "tensor_infos[0].ne[1]", at, "overflows");
  }
  {
    GgufBytes g;
    g.preamble(3, 1, 0).str("t").u32(2).u64(uint64_t{1} << 31).u64(uint64_t{1} << 31).u32(kF32).u64(0);
    g.pad_to(32).zeros(32);
    // 2^62 f32 elements fit in int64 but their 2^64 bytes do not.
    add("byte_size_overflow", g, "tensor_infos[0].ne", 37, "overflows 64 bits");
  }
  {
    GgufBytes g;
    g.preamble(3, 1, 0).str("t").u32(1).u64(4);
    const size_t at = g.mark();
    g.u32(99).u64(0).pad_to(32).zeros(32);
    add("unknown_tensor_type", g, "tensor_infos[0].type", at, "unknown tensor type id 99");
  }
  {
    GgufBytes g;
    g.preamble(3, 1, 0).str("t").u32(1).u64(256);
    const size_t at = g.mark();
    g.u32(20).u64(0).pad_to(32).zeros(256);
    add("unsupported_iq_type_named", g, "tensor_infos[0].type", at, "(iq4_nl) is not supported");
  }
  {
    GgufBytes g;
    g.preamble(3, 1, 0).str("q");
    const size_t at = g.mark() + 4;
    g.u32(1).u64(33).u32(kQ8_0).u64(0).pad_to(32).zeros(64);
    add("partial_block", g, "tensor_infos[0].ne[0]", at, "not a multiple of the q8_0 block size 32");
  }
  {
    GgufBytes g;
    g.preamble(3, 2, 0).tensor("w", {4}, kF32, 0);
    const size_t at = g.mark();
    g.tensor("w", {4}, kF32, 32).pad_to(32).zeros(64);
    add("duplicate_tensor_name", g, "tensor_infos[1].name", at, "duplicate tensor name");
  }
  {
    GgufBytes g;
    g.preamble(3, 1, 0).str("t").u32(1).u64(4).u32(kF32);
    const size_t at = g.mark();
    g.u64(8).pad_to(32).zeros(64);
    add("offset_not_aligned", g, "tensor_infos[0].offset", at, "not a multiple of the alignment 32");
  }
  {
    GgufBytes g;
    g.preamble(3, 1, 0).str("t").u32(1).u64(4).u32(kF32);
    const size_t at = g.mark();
    g.u64(uint64_t{1} << 40).pad_to(32).zeros(64);
    add("offset_past_eof", g, "tensor_infos[0].offset", at, "data section has only 64 bytes");
  }
  {
    GgufBytes g;
    g.preamble(3, 1, 0).str("t").u32(1).u64(4).u32(kF32);
    const size_t at = g.mark();
    g.u64(~uint64_t{0} - 31).pad_to(32).zeros(64);
    add("offset_plus_size_overflows", g, "tensor_infos[0].offset", at, "data section has only");
  }
  {
    GgufBytes g;
    g.preamble(3, 2, 0).tensor("a", {8}, kF32, 0);
    const size_t at = g.mark() + 8 + 1 + 4 + 8 + 4;
    g.tensor("b", {64}, kF16, 32).pad_to(32).zeros(32 + 100);
    add("tensor_data_truncated", g, "tensor_infos[1].offset", at, "data section has only 132 bytes");
  }
  {
    GgufBytes g;
    g.preamble(3, 2, 0).tensor("a", {16}, kF32, 0);  // bytes [0, 64)
    const size_t at = g.mark() + 8 + 1 + 4 + 8 + 4;
    g.tensor("b", {16}, kF32, 32).pad_to(32).zeros(128);  // [32, 96) overlaps a
    add("overlapping_tensors", g, "tensor_infos[1].offset", at, "overlaps \"a\"");
  }
  {
    GgufBytes g;
    g.preamble(3, 1, 0).tensor("a", {4}, kF32, 0);
    const size_t at = g.mark();
    add("data_section_missing", g, "data_section", at, "data section would start at");
  }
  {
    GgufBytes g;
    g.preamble(3, 2, 0).tensor("a", {4}, kF32, 0).str("b").u32(2).u64(4);
    const size_t at = g.mark();
    add("truncated_tensor_info", g, "tensor_infos[1].ne[1]", at, "truncated");
  }
  {
    GgufBytes g;
    g.preamble(3, 0, 1).key("general.alignment", kU32).u32(uint32_t{1} << 31);
    add("alignment_huge", g, "metadata[\"general.alignment\"]", 24, "exceeds the limit");
  }
  return out;
}

std::string bad_dir() {
  return test::scratch_dir("gguf_bad_files");
}

TEST(GgufBadFiles, EachIsRefusedNamingFieldAndOffset) {
  const auto cases = bad_files();
  ASSERT_GE(cases.size(), 20u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = bad_dir() + "/" + c.name + ".gguf";
    c.g.save(path);
    try {
      gguf::Reader::open(path);
      ADD_FAILURE() << "accepted a bad file";
    } catch (const FormatError& e) {
      EXPECT_EQ(e.path(), path);
      EXPECT_EQ(e.field(), c.field) << e.what();
      if (c.offset != kNoOffsetCheck) EXPECT_EQ(e.offset(), c.offset) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.why), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TEST(GgufBadFiles, CliExitsWithOneAndAClearMessage) {
  for (const auto& c : bad_files()) {
    SCOPED_TRACE(c.name);
    const std::string path = bad_dir() + "/cli_" + c.name + ".gguf";
    c.g.save(path);
    const auto r = test::run_cli("info -m " + test::shell_quote(path));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("flame: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.field), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.why), std::string::npos) << r.err;
  }
}

TEST(GgufBadFiles, MissingFileIsAnIoError) {
  EXPECT_THROW(gguf::Reader::open(bad_dir() + "/does_not_exist.gguf"), IoError);
  EXPECT_THROW(gguf::Reader::open(bad_dir()), IoError);  // a folder
  const auto r = test::run_cli("info -m " + test::shell_quote(bad_dir() + "/does_not_exist.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
}

// A valid file exercising every value type and a few tensors, assembled by hand.
GgufBytes valid_file() {
  GgufBytes g;
  g.preamble(2, 2, 6);
  g.key("general.architecture", kString).str("llama");
  g.key("llama.block_count", kU32).u32(2);
  g.key("b", kBool).u8(1);
  g.key("f", 6).f32(1.5f);
  g.key("tokenizer.ggml.tokens", kArray).u32(kString).u64(3).str("a").str("bc").str("");
  g.key("nested", kArray).u32(kArray).u64(2).u32(kI32).u64(1).u32(7).u32(kU8).u64(2).u8(1).u8(2);
  g.tensor("token_embd.weight", {4, 2}, kF32, 0).tensor("blk.0.attn_q.weight", {32, 1}, kQ8_0, 32);
  g.pad_to(32).zeros(32 + 34);
  return g;
}

TEST(GgufBadFiles, ValidHandAssembledFileIsAccepted) {
  const std::string path = bad_dir() + "/valid.gguf";
  valid_file().save(path);
  auto r = gguf::Reader::open(path);
  EXPECT_EQ(r.version(), 2u);
  EXPECT_EQ(r.tensors().size(), 2u);
  EXPECT_EQ(r.tensor("token_embd.weight").shape(), (Shape{2, 4}));
  EXPECT_EQ(r.tensor("blk.0.attn_q.weight").shape(), (Shape{1, 32}));
  EXPECT_EQ(r.at("nested").items()[1].as_ints(), (std::vector<int64_t>{1, 2}));
}

TEST(GgufBadFiles, TruncationAtEveryByteIsACleanError) {
  const GgufBytes g = valid_file();
  const std::string path = bad_dir() + "/truncated.gguf";
  for (size_t cut = 0; cut < g.bytes.size(); ++cut) {
    g.save(path, cut);
    try {
      gguf::Reader::open(path);
      ADD_FAILURE() << "accepted a file truncated to " << cut << " bytes";
    } catch (const FormatError& e) {
      EXPECT_LE(e.offset(), cut) << e.what();
    }
  }
}

TEST(GgufBadFiles, RandomByteCorruptionNeverCrashes) {
  const GgufBytes valid = valid_file();
  const std::string path = bad_dir() + "/corrupt.gguf";
  std::mt19937 rng(1234);
  int refused = 0, accepted = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    GgufBytes g = valid;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      const size_t at = rng() % (g.bytes.size() - 66);  // the header, not the tensor bytes
      g.bytes[at] = static_cast<uint8_t>(rng() % 3 == 0 ? 0xFF : rng());
    }
    g.save(path);
    try {
      auto r = gguf::Reader::open(path);
      for (const auto& t : r.tensors()) {
        EXPECT_LE(t.offset + t.nbytes, g.bytes.size());
        r.tensor(t.name);
      }
      ++accepted;
    } catch (const FormatError&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 1000);
  EXPECT_EQ(refused + accepted, 1500);
}

}  // namespace
}  // namespace flame
