// The C++ GGUF reader and writer against an independent Python implementation written from the
// spec (tests/reference/gguf_reader.py, gguf_write_sample.py): files our Writer produced must read
// the same in Python, and files Python produced must read the same in C++.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "flame/core/half.h"
#include "flame/io/gguf.h"
#include "support/test_support.h"

namespace flame {
namespace {

using gguf::Value;
using gguf::ValueType;
using nlohmann::json;

json typed_json(const Value& v) {
  if (v.type() == ValueType::ARRAY) {
    json items = json::array();
    for (const auto& item : v.items()) items.push_back(typed_json(item));
    return {{"t", "array"}, {"et", gguf::value_type_name(v.array_type())}, {"v", items}};
  }
  json value;
  switch (v.type()) {
    case ValueType::STRING:
      value = v.as_string();
      break;
    case ValueType::BOOL:
      value = v.as_bool();
      break;
    case ValueType::F32:
    case ValueType::F64:
      value = v.as_float();
      break;
    case ValueType::U8:
    case ValueType::U16:
    case ValueType::U32:
    case ValueType::U64:
      value = v.as_uint();
      break;
    default:
      value = v.as_int();
      break;
  }
  return {{"t", gguf::value_type_name(v.type())}, {"v", value}};
}

uint64_t fnv1a64(const uint8_t* p, size_t n) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

// What the C++ reader sees, in the Python script's JSON layout.
json cpp_view(const gguf::Reader& r) {
  json out = {{"version", r.version()}, {"alignment", r.alignment()}, {"data_offset", r.data_offset()}};
  json metadata = json::array();
  for (const auto& [k, v] : r.metadata()) metadata.push_back({{"key", k}, {"value", typed_json(v)}});
  out["metadata"] = metadata;
  json tensors = json::array();
  for (const auto& t : r.tensors()) {
    std::vector<int64_t> ne(t.shape.rbegin(), t.shape.rend());
    tensors.push_back({{"name", t.name},
                       {"ne", ne},
                       {"type", dtype_name(t.dtype)},
                       {"offset", t.offset - r.data_offset()},
                       {"abs_offset", t.offset},
                       {"nbytes", t.nbytes},
                       {"fnv1a64", fnv1a64(r.file()->data() + t.offset, t.nbytes)}});
  }
  out["tensors"] = tensors;
  return out;
}

void expect_same(const json& python, const json& cpp) {
  EXPECT_EQ(python, cpp) << "differences (python -> c++): " << json::diff(python, cpp).dump(1);
}

TEST(GgufReference, WriterOutputReadsTheSameInPython) {
  const std::string path = test::scratch_dir("gguf_reference") + "/from_writer.gguf";
  gguf::Writer w(64);
  w.set("general.architecture", Value::string("llama"));
  w.set("a.u8", Value::u8(255));
  w.set("a.i8", Value::i8(-128));
  w.set("a.u16", Value::u16(1));
  w.set("a.i16", Value::i16(-2));
  w.set("a.u32", Value::u32(123456));
  w.set("a.i32", Value::i32(-123456));
  w.set("a.u64", Value::u64(~uint64_t{0}));
  w.set("a.i64", Value::i64(INT64_MIN));
  w.set("a.f32", Value::f32(-3.25e-7f));
  w.set("a.f64", Value::f64(1e300));
  w.set("a.bool", Value::boolean(false));
  w.set("a.string", Value::string("{% for m in messages %}\xE2\x80\x94{% endfor %}"));
  w.set("tokenizer.ggml.tokens", Value::strings({"<s>", "\xC4\xA0", "abc"}));
  w.set("tokenizer.ggml.scores", Value::f32s({0.0f, -1.5f, 2.25f}));
  w.set("tokenizer.ggml.token_type", Value::i32s({3, 1, 1}));
  w.set("a.nested", Value::array(ValueType::ARRAY,
                                 {Value::strings({"p", "q"}), Value::array(ValueType::BOOL, {Value::boolean(true)})}));
  Tensor f32 = Tensor::empty(DType::F32, {2, 3});
  for (int i = 0; i < 6; ++i) f32.data<float>()[i] = 0.5f * static_cast<float>(i) - 1.0f;
  Tensor f16 = Tensor::empty(DType::F16, {5});
  for (int i = 0; i < 5; ++i) f16.data<uint16_t>()[i] = static_cast<uint16_t>(0x3C00 + i);
  Tensor bf16 = Tensor::empty(DType::BF16, {1, 4});
  for (int i = 0; i < 4; ++i) bf16.data<uint16_t>()[i] = static_cast<uint16_t>(0x3F80 + 3 * i);
  Tensor q8 = Tensor::empty(DType::Q8_0, {3, 32});
  for (size_t i = 0; i < q8.nbytes(); ++i) q8.data<uint8_t>()[i] = static_cast<uint8_t>(i * 13);
  w.add_tensor("token_embd.weight", f32);
  w.add_tensor("blk.0.attn_norm.weight", f16);
  w.add_tensor("blk.0.ffn_up.weight", bf16);
  w.add_tensor("output.weight", q8);
  w.write(path);

  const json python = json::parse(test::run_python("tests/reference/gguf_reader.py", test::shell_quote(path)));
  EXPECT_EQ(python["version"], 3);
  EXPECT_EQ(python["alignment"], 64);
  ASSERT_EQ(python["tensors"].size(), 4u);
  EXPECT_EQ(python["tensors"][0]["ne"], json::array({3, 2}));  // ne is innermost first on disk
  expect_same(python, cpp_view(gguf::Reader::open(path)));
}

TEST(GgufReference, PythonWrittenFileReadsTheSameInCpp) {
  const std::string path = test::scratch_dir("gguf_reference") + "/from_python.gguf";
  test::run_python("tests/reference/gguf_write_sample.py", test::shell_quote(path));
  const json python = json::parse(test::run_python("tests/reference/gguf_reader.py", test::shell_quote(path)));
  const auto r = gguf::Reader::open(path);
  expect_same(python, cpp_view(r));

  // Spot-check values against what the script wrote, independently of either reader.
  EXPECT_EQ(r.version(), 2u);
  EXPECT_EQ(r.alignment(), 64u);
  EXPECT_EQ(r.at("v.u64").as_uint(), (uint64_t{1} << 63) + 5);
  EXPECT_EQ(r.at("v.f32").as_float(), static_cast<double>(1e-5f));
  EXPECT_EQ(r.at("v.string").as_string(), "\xC4\xA0hello \xE2\x96\x81w\xC3\xB6rld");
  EXPECT_EQ(r.at("v.strings").as_strings(), (std::vector<std::string>{"<|eot_id|>", "", "\xC4\x8A"}));
  EXPECT_EQ(r.at("v.nested").items()[0].as_ints(), (std::vector<int64_t>{1, -1}));
  EXPECT_FALSE(r.at("v.nested").items()[1].items()[0].as_bool());
  const Tensor w = r.tensor("w.f32");
  ASSERT_EQ(w.shape(), (Shape{3, 4}));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(w.data<float>()[i], static_cast<float>(i) * 0.25f - 1.0f);
  const Tensor h = r.tensor("w.f16").to_f32();
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(h.data<float>()[i], i / 3.0f, 2e-3f * (1 + i / 3.0f));
  for (const auto& t : r.tensors()) EXPECT_EQ(t.offset % 64, 0u) << t.name;
}

}  // namespace
}  // namespace flame
