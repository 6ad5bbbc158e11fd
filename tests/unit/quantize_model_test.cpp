// `flame quantize` type choice (llama.cpp's mixes), fallbacks and bad input, on small GGUF files
// written by flame's gguf::Writer.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <set>

#include "flame/core/error.h"
#include "flame/io/gguf.h"
#include "flame/kernels/quant.h"
#include "flame/model/quantize_model.h"
#include "support/test_support.h"

namespace flame {
namespace {

Tensor random_tensor(DType type, Shape shape, uint32_t seed) {
  Tensor f = Tensor::empty(DType::F32, shape);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  for (int64_t i = 0; i < f.numel(); ++i) f.data<float>()[i] = dist(rng);
  Tensor t = Tensor::empty(type, shape);
  for (int64_t r = 0; r < f.rows(); ++r) quantize_row(type, f.row<float>(r), t.row<void>(r), f.cols());
  return t;
}

// A Llama-shaped file: 16 layers of tiny tensors (dim `dim`), tied embeddings unless `output`.
std::string write_model(const std::string& name, int64_t dim, bool output, DType type = DType::F16) {
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::string("llama"));
  w.set("llama.block_count", gguf::Value::u32(16));
  w.add_tensor("token_embd.weight", random_tensor(type, {64, dim}, 1));
  if (output) w.add_tensor("output.weight", random_tensor(type, {64, dim}, 2));
  w.add_tensor("output_norm.weight", random_tensor(DType::F32, {dim}, 3));
  for (int l = 0; l < 16; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    w.add_tensor(p + "attn_norm.weight", random_tensor(DType::F32, {dim}, 10 + l));
    w.add_tensor(p + "attn_q.weight", random_tensor(type, {dim, dim}, 100 + l));
    w.add_tensor(p + "attn_v.weight", random_tensor(type, {dim / 4, dim}, 200 + l));
    w.add_tensor(p + "ffn_down.weight", random_tensor(type, {dim, 2 * dim}, 300 + l));
  }
  const std::string path = test::scratch_dir("quantize_model") + "/" + name;
  w.write(path);
  return path;
}

std::map<std::string, DType> plan_types(const std::string& path, const std::string& target) {
  std::map<std::string, DType> out;
  for (const auto& p : plan_quantization(gguf::Reader::open(path), parse_quant_target(target))) out[p.name] = p.to;
  return out;
}

TEST(QuantizeModel, Q4KMMixMatchesLlamaCpp) {
  const auto types = plan_types(write_model("tied256.gguf", 256, false), "q4_k_m");
  EXPECT_EQ(types.at("token_embd.weight"), DType::Q6_K);  // tied: the embedding is the output
  EXPECT_EQ(types.at("output_norm.weight"), DType::F32);
  // 16 layers: more bits for layers < 2, >= 14, and (i - 2) % 3 == 2 -> 4, 7, 10, 13.
  const std::set<int> more_bits = {0, 1, 4, 7, 10, 13, 14, 15};
  for (int l = 0; l < 16; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const DType want = more_bits.count(l) ? DType::Q6_K : DType::Q4_K;
    EXPECT_EQ(types.at(p + "attn_v.weight"), want) << l;
    EXPECT_EQ(types.at(p + "ffn_down.weight"), want) << l;
    EXPECT_EQ(types.at(p + "attn_q.weight"), DType::Q4_K) << l;
    EXPECT_EQ(types.at(p + "attn_norm.weight"), DType::F32) << l;
  }
}

TEST(QuantizeModel, OutputRuleAndQ8_0) {
  const std::string path = write_model("untied256.gguf", 256, true);
  auto q40 = plan_types(path, "Q4_0");
  EXPECT_EQ(q40.at("output.weight"), DType::Q6_K);
  EXPECT_EQ(q40.at("token_embd.weight"), DType::Q4_0);  // not the output when untied
  EXPECT_EQ(q40.at("blk.3.attn_v.weight"), DType::Q4_0);
  auto q80 = plan_types(path, "Q8_0");
  EXPECT_EQ(q80.at("output.weight"), DType::Q8_0);
}

TEST(QuantizeModel, FallbackWhenRowsAreNotWholeBlocks) {
  const auto types = plan_types(write_model("dim96.gguf", 96, true), "Q4_K_M");
  EXPECT_EQ(types.at("blk.2.attn_q.weight"), DType::Q5_0);  // Q4_K -> Q5_0 (96 % 256 != 0)
  EXPECT_EQ(types.at("blk.0.attn_v.weight"), DType::Q8_0);  // Q6_K -> Q8_0
  EXPECT_EQ(types.at("output.weight"), DType::Q8_0);        // output rule: not a multiple of 256
  const auto q4_0 = plan_types(write_model("dim80.gguf", 80, true), "Q4_0");
  EXPECT_EQ(q4_0.at("blk.2.attn_q.weight"), DType::F16);  // 80 % 32 != 0: no block type fits
}

TEST(QuantizeModel, BadInputIsAClearError) {
  EXPECT_THROW(parse_quant_target("Q4_K_X"), ArgumentError);
  EXPECT_THROW(parse_quant_target("Q8_K"), ArgumentError);
  const std::string quantized = write_model("already_q8.gguf", 256, true, DType::Q8_0);
  try {
    plan_quantization(gguf::Reader::open(quantized), parse_quant_target("Q4_0"));
    FAIL() << "expected UnsupportedError";
  } catch (const UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("token_embd.weight"), std::string::npos) << e.what();
  }
  const auto r = test::run_cli("quantize " + test::shell_quote(quantized) + " /dev/null/out.gguf Q4_0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("q8_0"), std::string::npos) << r.err;
  const auto bad_type = test::run_cli("quantize in.gguf out.gguf nonsense");
  EXPECT_EQ(bad_type.exit_code, 1);
  EXPECT_NE(bad_type.err.find("nonsense"), std::string::npos) << bad_type.err;
}

// A target that makes no sense for a tensor (Q4_K or any block type for a 1-D norm weight) is not
// applied: norms are copied in their F32 and the plan says why, for every target.
TEST(QuantizeModel, OneDimensionalNormsAreCopiedUnderEveryTarget) {
  const std::string path = write_model("norms256.gguf", 256, true);
  for (const char* target : {"Q4_K", "Q2_K", "Q3_K", "Q5_K", "Q6_K", "Q4_K_M", "Q8_0", "Q4_0", "Q4_1", "Q5_0",
                             "Q5_1", "F16", "BF16"}) {
    int norms = 0;
    for (const auto& p : plan_quantization(gguf::Reader::open(path), parse_quant_target(target))) {
      if (p.name.find("norm") == std::string::npos) continue;
      ++norms;
      EXPECT_EQ(p.to, DType::F32) << target << " " << p.name;
      EXPECT_EQ(p.why, "1-D: copied") << target << " " << p.name;
    }
    EXPECT_EQ(norms, 17) << target;  // 16 attn_norm + output_norm
  }
}

// The written file: every tensor has its planned type, the data matches an independent row-wise
// quantization, metadata carries general.file_type (15 = MOSTLY_Q4_K_M) and the alignment.
TEST(QuantizeModel, WritesPlannedTypesAndMetadata) {
  const std::string in = write_model("write_tied256.gguf", 256, false);
  const std::string out = test::scratch_dir("quantize_model") + "/write_tied256.q4km.gguf";
  const auto r = test::run_cli("quantize -t 2 " + test::shell_quote(in) + " " + test::shell_quote(out) + " Q4_K_M");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto src = gguf::Reader::open(in);
  const auto dst = gguf::Reader::open(out);
  EXPECT_EQ(dst.get_int("general.file_type"), 15);
  EXPECT_EQ(dst.get_int("general.quantization_version"), 2);
  EXPECT_EQ(dst.get_string("general.architecture"), "llama");
  const auto types = plan_types(in, "Q4_K_M");
  ASSERT_EQ(dst.tensors().size(), src.tensors().size());
  for (const auto& info : dst.tensors()) {
    EXPECT_EQ(info.dtype, types.at(info.name)) << info.name;
    EXPECT_EQ(info.offset % dst.alignment(), 0u);
    const Tensor s = src.tensor(info.name), d = dst.tensor(info.name);
    ASSERT_EQ(s.shape(), d.shape());
    std::vector<float> row(s.cols());
    std::vector<uint8_t> expect(d.row_bytes());
    for (int64_t rr = 0; rr < s.rows(); ++rr) {
      dequantize_row(s.dtype(), s.row<void>(rr), row.data(), s.cols());
      quantize_row(d.dtype(), row.data(), expect.data(), s.cols());
      ASSERT_EQ(std::memcmp(expect.data(), d.row<void>(rr), expect.size()), 0) << info.name << " row " << rr;
    }
  }
}

}  // namespace
}  // namespace flame
