// safetensors: Writer -> Reader round trips and hand-assembled broken files, each refused with a
// FormatError naming the field.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "flame/core/error.h"
#include "flame/io/safetensors.h"
#include "support/test_support.h"

namespace flame {
namespace {

std::string dir() {
  return test::scratch_dir("safetensors");
}

// u64 header length + header text + `data_bytes` zero bytes.
void save_raw(const std::string& path, const std::string& header, size_t data_bytes, int64_t length_override = -1) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const uint64_t n = length_override >= 0 ? static_cast<uint64_t>(length_override) : header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  const std::string zeros(data_bytes, '\0');
  out.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
}

Tensor filled(DType dtype, Shape shape, int seed) {
  Tensor t = Tensor::empty(dtype, std::move(shape));
  for (size_t i = 0; i < t.nbytes(); ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return t;
}

TEST(Safetensors, RoundTrip) {
  const std::string path = dir() + "/rt.safetensors";
  safetensors::Writer w;
  w.set_metadata("format", "pt");
  w.set_metadata("note", "h\xC3\xA9");
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"a.f32", filled(DType::F32, {3, 5}, 1)},       {"b.f16", filled(DType::F16, {7}, 2)},
      {"c.bf16", filled(DType::BF16, {2, 2, 3}, 3)},  {"d.i32", filled(DType::I32, {4}, 4)},
      {"e.i64", filled(DType::I64, {1, 3}, 5)},       {"f.f64", filled(DType::F64, {2}, 6)},
      {"g.empty", Tensor::empty(DType::F32, {0, 4})}, {"h.i8", filled(DType::I8, {9}, 7)},
  };
  for (const auto& [n, t] : tensors) w.add_tensor(n, t);
  w.write(path);

  const auto r = safetensors::Reader::open(path);
  EXPECT_EQ(r.data_offset() % 8, 0u);
  EXPECT_EQ(r.metadata().at("format"), "pt");
  EXPECT_EQ(r.metadata().at("note"), "h\xC3\xA9");
  ASSERT_EQ(r.tensors().size(), tensors.size());
  for (const auto& [name, original] : tensors) {
    SCOPED_TRACE(name);
    const Tensor t = r.tensor(name);
    EXPECT_EQ(t.dtype(), original.dtype());
    EXPECT_EQ(t.shape(), original.shape());
    EXPECT_EQ(t.nbytes(), original.nbytes());
    if (t.nbytes()) {
      EXPECT_EQ(t.data<uint8_t>(), r.file()->data() + r.find(name)->offset);  // zero-copy
      EXPECT_EQ(std::memcmp(t.data(), original.data(), t.nbytes()), 0);
    }
  }
  EXPECT_THROW(r.tensor("missing"), FormatError);
}

TEST(Safetensors, WriterRejectsInvalidInput) {
  safetensors::Writer w;
  w.add_tensor("a", Tensor::empty(DType::F32, {1}));
  EXPECT_THROW(w.add_tensor("a", Tensor::empty(DType::F32, {1})), ArgumentError);
  EXPECT_THROW(w.add_tensor("__metadata__", Tensor::empty(DType::F32, {1})), ArgumentError);
  EXPECT_THROW(w.add_tensor("q", Tensor::empty(DType::Q8_0, {32})), UnsupportedError);
}

TEST(Safetensors, UnsupportedDtypeIsListedButNotViewable) {
  const std::string path = dir() + "/u8.safetensors";
  save_raw(path, R"({"m":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}})", 3);
  const auto r = safetensors::Reader::open(path);
  ASSERT_NE(r.find("m"), nullptr);
  EXPECT_EQ(r.find("m")->dtype_name, "U8");
  EXPECT_THROW(r.tensor("m"), UnsupportedError);
}

struct Bad {
  std::string name, header;
  size_t data_bytes;
  std::string field, why;
  int64_t length_override = -1;
};

TEST(Safetensors, BadFilesAreRefusedNamingTheField) {
  const std::string a4 = R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  const std::vector<Bad> cases = {
      {"short", "", 0, "header_size", "too short", -2},
      {"header_past_eof", "{}", 0, "header_size", "runs past the end", 1000},
      {"header_huge", "{}", 0, "header_size", "exceeds", int64_t{1} << 40},
      {"not_object_start", "[1, 2]", 0, "header", "does not start with '{'"},
      {"invalid_json", R"({"a": {"dtype": )", 0, "header", "invalid JSON"},
      {"duplicate_tensor", "{" + a4 + "," + a4 + "}", 4, "header[\"a\"]", "duplicate key"},
      {"metadata_not_string", R"({"__metadata__":{"k":1}})", 0, "header[\"__metadata__\"][\"k\"]", "not a string"},
      {"unknown_dtype", R"({"a":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}})", 4, "header[\"a\"].dtype",
       "unknown dtype"},
      {"missing_shape", R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4, "header[\"a\"].shape", "missing"},
      {"negative_dim", R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, "header[\"a\"].shape[0]",
       "non-negative"},
      {"too_many_dims", R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", 4,
       "header[\"a\"].shape", "9 dimensions"},
      {"shape_overflow", R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4,
       "header[\"a\"].shape", "overflows"},
      {"offsets_not_pair", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4, "header[\"a\"].data_offsets",
       "two offsets"},
      {"offsets_reversed", R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", 4, "header[\"a\"].data_offsets",
       "before begin"},
      {"offsets_past_eof", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 2, "header[\"a\"].data_offsets",
       "past the end"},
      {"size_mismatch", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4, "header[\"a\"].data_offsets",
       "needs 8"},
      {"overlap",
       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       8, "header[\"b\"].data_offsets", "overlaps"},
      {"gap",
       R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
       12, "header[\"b\"].data_offsets", "gap"},
      {"trailing_bytes", "{" + a4 + "}", 9, "data_section", "data section has 9"},
      {"unknown_field", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", 4, "header[\"a\"].x",
       "unknown field"},
      {"entry_not_object", R"({"a":3})", 0, "header[\"a\"]", "not an object"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir() + "/bad_" + c.name + ".safetensors";
    if (c.length_override == -2) {
      std::ofstream(path, std::ios::binary | std::ios::trunc).write("abc", 3);
    } else {
      save_raw(path, c.header, c.data_bytes, c.length_override);
    }
    try {
      safetensors::Reader::open(path);
      ADD_FAILURE() << "accepted";
    } catch (const FormatError& e) {
      EXPECT_EQ(e.field(), c.field) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.why), std::string::npos) << e.what();
    }
  }
}

TEST(Safetensors, TruncationAtEveryByteIsACleanError) {
  const std::string path = dir() + "/trunc_src.safetensors";
  safetensors::Writer w;
  w.set_metadata("format", "pt");
  w.add_tensor("x", filled(DType::F32, {2, 3}, 1));
  w.add_tensor("y", filled(DType::BF16, {5}, 2));
  w.write(path);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string cut_path = dir() + "/trunc.safetensors";
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    std::ofstream(cut_path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(cut));
    EXPECT_THROW(safetensors::Reader::open(cut_path), FormatError) << cut;
  }
}

}  // namespace
}  // namespace flame
