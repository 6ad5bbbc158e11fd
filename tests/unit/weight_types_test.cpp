// Issue 4's bad input on the loading side: a weight matrix whose type flame cannot compute with is a
// clear error naming the tensor and the type at load time, and a norm weight stored in a block type
// (a quantizer that wrongly quantized a 1-D tensor) is read as F32 instead of being rejected.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "flame/core/error.h"
#include "flame/io/gguf.h"
#include "flame/kernels/quant.h"
#include "flame/model/weights.h"
#include "support/test_support.h"

namespace flame {
namespace {

// `flame synth --shape tiny` (dim 64) rewritten with tensor `name` replaced by `replacement`.
std::string tiny_with(const std::string& file, const std::string& name, const Tensor& replacement) {
  const std::string dir = test::scratch_dir("weight_types");
  const std::string base = dir + "/tiny_f32.gguf";
  static const bool made = test::run_cli("synth --shape tiny --type f32 -o " + test::shell_quote(base)).exit_code == 0;
  EXPECT_TRUE(made);
  const auto reader = gguf::Reader::open(base);
  gguf::Writer w;
  for (const auto& [key, value] : reader.metadata())
    if (key != "general.alignment") w.set(key, value);
  for (const auto& info : reader.tensors())
    w.add_tensor(info.name, info.name == name ? replacement : reader.tensor(info.name));
  const std::string path = dir + "/" + file;
  w.write(path);
  return path;
}

TEST(WeightTypes, UnsupportedMatrixTypeIsAClearLoadError) {
  // Types the GGUF reader accepts but no matmul kernel takes (the tiny model's rows are 64 wide,
  // so Q8_K, another such type, cannot even hold them).
  for (DType type : {DType::Q8_1, DType::I32, DType::F64}) {
    Tensor t = Tensor::zeros(type, {64, 64});
    const std::string path = tiny_with("bad_" + std::string(dtype_name(type)) + ".gguf", "blk.1.attn_q.weight", t);
    try {
      LlamaWeights::from_gguf(gguf::Reader::open(path));
      ADD_FAILURE() << "loading a " << dtype_name(type) << " matrix succeeded";
    } catch (const UnsupportedError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("blk.1.attn_q.weight"), std::string::npos) << what;
      EXPECT_NE(what.find(std::string(dtype_name(type))), std::string::npos) << what;
    }
    const auto r = test::run_cli("bench -m " + test::shell_quote(path) + " -p 4 -n 1 -r 1 --membw-mib 16");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("blk.1.attn_q.weight"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(matmul_type_supported(DType::Q3_K));
  EXPECT_FALSE(matmul_type_supported(DType::Q8_K));
}

TEST(WeightTypes, BlockQuantizedNormIsReadAsF32) {
  const auto reader = gguf::Reader::open(tiny_with("plain.gguf", "", Tensor()));
  const Tensor norm = reader.tensor("blk.0.attn_norm.weight");
  Tensor q = Tensor::empty(DType::Q8_0, {64});
  quantize_row(DType::Q8_0, norm.data<float>(), q.data<void>(), 64);
  std::vector<float> want(64);
  dequantize_row(DType::Q8_0, q.data<void>(), want.data(), 64);
  const auto w = LlamaWeights::from_gguf(gguf::Reader::open(tiny_with("q8_norm.gguf", "blk.0.attn_norm.weight", q)));
  const Tensor& got = w.layers[0].attn_norm;
  ASSERT_EQ(got.dtype(), DType::F32);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(got.data<float>()[i], want[i]) << i;
}

}  // namespace
}  // namespace flame
