// safetensors against an independent Python reader/writer (tests/reference/safetensors_reference.py):
// our files read the same in Python, Python's files read the same here (values decoded by numpy).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "flame/io/safetensors.h"
#include "support/test_support.h"

namespace flame {
namespace {

using nlohmann::json;

uint64_t fnv1a64(const uint8_t* p, size_t n) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

double value_sum(const Tensor& t) {
  double sum = 0;
  switch (t.dtype()) {
    case DType::I64:
      for (int64_t i = 0; i < t.numel(); ++i) sum += static_cast<double>(t.data<int64_t>()[i]);
      return sum;
    case DType::I32:
      for (int64_t i = 0; i < t.numel(); ++i) sum += t.data<int32_t>()[i];
      return sum;
    case DType::F64:
      for (int64_t i = 0; i < t.numel(); ++i) sum += t.data<double>()[i];
      return sum;
    default: {
      const Tensor f = t.to_f32();
      for (int64_t i = 0; i < f.numel(); ++i) sum += f.data<float>()[i];
      return sum;
    }
  }
}

// Compares everything the Python dump says with what the C++ reader sees.
void expect_matches_python(const std::string& path) {
  const json py =
      json::parse(test::run_python("tests/reference/safetensors_reference.py", "dump " + test::shell_quote(path)));
  const auto r = safetensors::Reader::open(path);
  json meta = json::object();
  for (const auto& [k, v] : r.metadata()) meta[k] = v;
  EXPECT_EQ(py["metadata"], meta);
  ASSERT_EQ(py["tensors"].size(), r.tensors().size());
  for (const auto& [name, info] : py["tensors"].items()) {
    SCOPED_TRACE(name);
    const auto* t = r.find(name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(info["dtype"], t->dtype_name);
    EXPECT_EQ(info["shape"], json(t->shape));
    EXPECT_EQ(info["data_offsets"][0].get<uint64_t>(), t->offset - r.data_offset());
    EXPECT_EQ(info["data_offsets"][1].get<uint64_t>(), t->offset - r.data_offset() + t->nbytes);
    EXPECT_EQ(info["fnv1a64"].get<uint64_t>(), fnv1a64(r.file()->data() + t->offset, t->nbytes));
    const double sum = value_sum(r.tensor(name));
    EXPECT_NEAR(info["sum"].get<double>(), sum, 1e-9 * (1 + std::abs(sum)));
  }
}

TEST(SafetensorsReference, WriterOutputReadsTheSameInPython) {
  const std::string path = test::scratch_dir("safetensors_reference") + "/from_writer.safetensors";
  safetensors::Writer w;
  w.set_metadata("format", "pt");
  Tensor a = Tensor::empty(DType::F32, {2, 3});
  for (int i = 0; i < 6; ++i) a.data<float>()[i] = 0.75f * static_cast<float>(i) - 2.0f;
  Tensor b = Tensor::empty(DType::BF16, {4});
  for (int i = 0; i < 4; ++i) b.data<uint16_t>()[i] = static_cast<uint16_t>(0x3F80 + 0x80 * i);
  Tensor c = Tensor::empty(DType::I64, {3});
  for (int i = 0; i < 3; ++i) c.data<int64_t>()[i] = int64_t{1} << (20 * i);
  Tensor d = Tensor::empty(DType::F16, {1, 2});
  d.data<uint16_t>()[0] = 0x3C00;  // 1.0
  d.data<uint16_t>()[1] = 0xC100;  // -2.5
  w.add_tensor("a", a);
  w.add_tensor("b", b);
  w.add_tensor("c", c);
  w.add_tensor("d", d);
  w.write(path);
  expect_matches_python(path);
}

TEST(SafetensorsReference, PythonWrittenFileReadsTheSameInCpp) {
  const std::string path = test::scratch_dir("safetensors_reference") + "/from_python.safetensors";
  test::run_python("tests/reference/safetensors_reference.py", "write " + test::shell_quote(path));
  expect_matches_python(path);
  const auto r = safetensors::Reader::open(path);
  EXPECT_EQ(r.metadata().at("source"), "python");
  const Tensor e = r.tensor("model.embed_tokens.weight");
  EXPECT_EQ(e.shape(), (Shape{4, 6}));
  EXPECT_EQ(e.data<float>()[0], -1.0f);
  EXPECT_EQ(e.data<float>()[23], 1.0f);
  EXPECT_EQ(r.tensor("lm_head.weight").to_f32().data<float>()[1], -2.0f);
}

}  // namespace
}  // namespace flame
