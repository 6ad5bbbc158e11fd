// Writer -> Reader round trips: every metadata value type, nested arrays, several tensor types
// (raw bytes compared), non-default alignment, zero-copy views.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "flame/core/error.h"
#include "flame/core/half.h"
#include "flame/io/gguf.h"
#include "support/test_support.h"

namespace flame {
namespace {

using gguf::Value;
using gguf::ValueType;

Tensor patterned(DType dtype, Shape shape, uint8_t seed) {
  Tensor t = Tensor::empty(dtype, std::move(shape));
  auto* p = t.data<uint8_t>();
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return t;
}

gguf::Writer every_value_type_writer(uint32_t alignment) {
  gguf::Writer w(alignment);
  w.set("general.architecture", Value::string("llama"));
  w.set("t.u8", Value::u8(250));
  w.set("t.i8", Value::i8(-100));
  w.set("t.u16", Value::u16(65000));
  w.set("t.i16", Value::i16(-32000));
  w.set("t.u32", Value::u32(4000000000u));
  w.set("t.i32", Value::i32(-2000000000));
  w.set("t.u64", Value::u64(18000000000000000000ull));
  w.set("t.i64", Value::i64(-9000000000000000000ll));
  w.set("t.f32", Value::f32(0.1f));
  w.set("t.f64", Value::f64(-1.0 / 3.0));
  w.set("t.bool_true", Value::boolean(true));
  w.set("t.bool_false", Value::boolean(false));
  w.set("t.string_empty", Value::string(""));
  w.set("t.string_utf8", Value::string("h\xC3\xA9llo \xE2\x96\x81world\n"));
  w.set("t.strings", Value::strings({"a", "", "\xC4\xA0the", "<|begin_of_text|>"}));
  w.set("t.i32s", Value::i32s({1, -2, 3}));
  w.set("t.f32s", Value::f32s({0.5f, -1e-6f, 3e38f}));
  w.set("t.empty_array", Value::array(ValueType::U16, {}));
  w.set("t.nested", Value::array(ValueType::ARRAY, {Value::i32s({1, 2}), Value::strings({"x"}),
                                                    Value::array(ValueType::ARRAY, {Value::f32s({2.0f})})}));
  return w;
}

TEST(GgufRoundTrip, EveryValueTypeAndTensorType) {
  const std::string path = test::scratch_dir("gguf_roundtrip") + "/all.gguf";
  auto w = every_value_type_writer(32);
  Tensor f32 = patterned(DType::F32, {3, 5}, 1);
  Tensor f16 = patterned(DType::F16, {7}, 2);
  Tensor bf16 = patterned(DType::BF16, {2, 3, 4}, 3);
  Tensor q8 = patterned(DType::Q8_0, {2, 64}, 4);
  Tensor q4k = patterned(DType::Q4_K, {1, 1, 2, 256}, 5);
  w.add_tensor("a.f32", f32);
  w.add_tensor("b.f16", f16);
  w.add_tensor("c.bf16", bf16);
  w.add_tensor("d.q8_0", q8);
  w.add_tensor("e.q4_k", q4k);
  w.write(path);

  auto r = gguf::Reader::open(path);
  EXPECT_EQ(r.version(), 3u);
  EXPECT_EQ(r.alignment(), 32u);
  EXPECT_EQ(r.data_offset() % 32, 0u);
  EXPECT_EQ(r.get_string("general.architecture"), "llama");
  EXPECT_EQ(r.at("t.u8").type(), ValueType::U8);
  EXPECT_EQ(r.at("t.u8").as_uint(), 250u);
  EXPECT_EQ(r.at("t.i8").as_int(), -100);
  EXPECT_EQ(r.at("t.u16").as_uint(), 65000u);
  EXPECT_EQ(r.at("t.i16").as_int(), -32000);
  EXPECT_EQ(r.at("t.u32").as_uint(), 4000000000u);
  EXPECT_EQ(r.at("t.i32").as_int(), -2000000000);
  EXPECT_EQ(r.at("t.u64").as_uint(), 18000000000000000000ull);
  EXPECT_THROW(r.at("t.u64").as_int(), ArgumentError);
  EXPECT_EQ(r.at("t.i64").as_int(), -9000000000000000000ll);
  EXPECT_EQ(r.at("t.f32").type(), ValueType::F32);
  EXPECT_EQ(r.at("t.f32").as_float(), static_cast<double>(0.1f));
  EXPECT_EQ(r.at("t.f64").as_float(), -1.0 / 3.0);
  EXPECT_TRUE(r.at("t.bool_true").as_bool());
  EXPECT_FALSE(r.at("t.bool_false").as_bool());
  EXPECT_EQ(r.at("t.string_empty").as_string(), "");
  EXPECT_EQ(r.at("t.string_utf8").as_string(), "h\xC3\xA9llo \xE2\x96\x81world\n");
  EXPECT_EQ(r.at("t.strings").as_strings(), (std::vector<std::string>{"a", "", "\xC4\xA0the", "<|begin_of_text|>"}));
  EXPECT_EQ(r.at("t.i32s").array_type(), ValueType::I32);
  EXPECT_EQ(r.at("t.i32s").as_ints(), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(r.at("t.f32s").as_floats(), (std::vector<double>{0.5f, -1e-6f, 3e38f}));
  EXPECT_EQ(r.at("t.empty_array").array_type(), ValueType::U16);
  EXPECT_EQ(r.at("t.empty_array").array_size(), 0u);
  const auto& nested = r.at("t.nested");
  ASSERT_EQ(nested.array_type(), ValueType::ARRAY);
  ASSERT_EQ(nested.array_size(), 3u);
  EXPECT_EQ(nested.items()[0].as_ints(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(nested.items()[1].as_strings(), (std::vector<std::string>{"x"}));
  EXPECT_EQ(nested.items()[2].items()[0].as_floats(), (std::vector<double>{2.0}));
  EXPECT_EQ(r.get_int("missing"), std::nullopt);
  EXPECT_THROW(r.at("missing"), FormatError);
  EXPECT_THROW(r.get_int("general.architecture"), FormatError);
  // Metadata keeps the order it was written in.
  ASSERT_EQ(r.metadata().size(), 20u);
  EXPECT_EQ(r.metadata()[0].first, "general.architecture");
  EXPECT_EQ(r.metadata()[19].first, "t.nested");

  ASSERT_EQ(r.tensors().size(), 5u);
  for (const auto& [name, original] : std::vector<std::pair<std::string, Tensor>>{
           {"a.f32", f32}, {"b.f16", f16}, {"c.bf16", bf16}, {"d.q8_0", q8}, {"e.q4_k", q4k}}) {
    SCOPED_TRACE(name);
    const auto* info = r.find_tensor(name);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->dtype, original.dtype());
    EXPECT_EQ(info->shape, original.shape());
    EXPECT_EQ(info->nbytes, original.nbytes());
    EXPECT_EQ(info->offset % 32, 0u);
    Tensor t = r.tensor(name);
    EXPECT_EQ(t.shape(), original.shape());
    EXPECT_TRUE(t.is_view());
    // Zero-copy: the view points into the mapping.
    EXPECT_EQ(t.data<uint8_t>(), r.file()->data() + info->offset);
    EXPECT_EQ(std::memcmp(t.data(), original.data(), original.nbytes()), 0);
  }
  EXPECT_EQ(r.find_tensor("nope"), nullptr);
  EXPECT_THROW(r.tensor("nope"), FormatError);
}

TEST(GgufRoundTrip, ViewOutlivesReader) {
  const std::string path = test::scratch_dir("gguf_roundtrip") + "/outlive.gguf";
  gguf::Writer w;
  Tensor x = patterned(DType::F32, {4, 4}, 9);
  w.add_tensor("x", x);
  w.write(path);
  Tensor view;
  {
    auto r = gguf::Reader::open(path);
    view = r.tensor("x");
  }
  EXPECT_EQ(std::memcmp(view.data(), x.data(), x.nbytes()), 0);
}

TEST(GgufRoundTrip, CustomAlignmentIsWrittenAndHonoured) {
  const std::string path = test::scratch_dir("gguf_roundtrip") + "/align.gguf";
  gguf::Writer w(256);
  w.add_tensor("a", patterned(DType::F32, {3}, 1));
  w.add_tensor("b", patterned(DType::F16, {5}, 2));
  w.write(path);
  auto r = gguf::Reader::open(path);
  EXPECT_EQ(r.alignment(), 256u);
  EXPECT_EQ(r.at("general.alignment").type(), ValueType::U32);
  EXPECT_EQ(r.data_offset() % 256, 0u);
  for (const auto& t : r.tensors()) EXPECT_EQ(t.offset % 256, 0u) << t.name;
}

TEST(GgufRoundTrip, MisalignedDataIsCopiedAlignedNotViewed) {
  const std::string path = test::scratch_dir("gguf_roundtrip") + "/align1.gguf";
  gguf::Writer w(1);  // legal: alignment 1 packs tensors back to back
  Tensor byte = patterned(DType::I8, {1}, 3);
  Tensor f32 = patterned(DType::F32, {2, 3}, 4);
  w.add_tensor("byte", byte);
  w.add_tensor("f32", f32);
  w.write(path);
  auto r = gguf::Reader::open(path);
  EXPECT_EQ(r.alignment(), 1u);
  ASSERT_NE(r.find_tensor("f32")->offset % 4, 0u);
  const Tensor t = r.tensor("f32");
  EXPECT_FALSE(t.is_view());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 4, 0u);
  EXPECT_EQ(std::memcmp(t.data(), f32.data(), f32.nbytes()), 0);
  EXPECT_TRUE(r.tensor("byte").is_view());
}

TEST(GgufRoundTrip, AtomicWriteLeavesNoTempFilesAndReplaces) {
  const std::string dir = test::scratch_dir("gguf_atomic");
  for (const auto& e : std::filesystem::directory_iterator(dir)) std::filesystem::remove(e.path());
  const std::string path = dir + "/m.gguf";
  gguf::Writer a;
  a.set("k", Value::u32(1));
  a.write(path);
  gguf::Writer b;
  b.set("k", Value::u32(2));
  b.write(path);
  EXPECT_EQ(gguf::Reader::open(path).get_int("k"), 2);
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
}

TEST(GgufRoundTrip, WriterRejectsInvalidInput) {
  EXPECT_THROW(gguf::Writer(24), ArgumentError);
  gguf::Writer w;
  w.add_tensor("a", Tensor::empty(DType::F32, {2}));
  EXPECT_THROW(w.add_tensor("a", Tensor::empty(DType::F32, {2})), ArgumentError);
  EXPECT_THROW(w.add_tensor("z", Tensor::empty(DType::F32, {1, 1, 1, 1, 1})), ArgumentError);
  EXPECT_THROW(w.add_tensor("z", Tensor::empty(DType::F32, {0, 3})), ArgumentError);
  EXPECT_THROW(w.set("general.alignment", Value::u32(64)), ArgumentError);
  EXPECT_THROW(Value::array(ValueType::I32, {Value::u8(1)}), ArgumentError);
  EXPECT_THROW(w.write(test::scratch_dir("gguf_atomic") + "/no/such/dir/x.gguf"), IoError);
}

}  // namespace
}  // namespace flame
