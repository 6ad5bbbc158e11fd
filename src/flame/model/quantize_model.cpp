// Per-tensor type choice (llama.cpp's mixes) and the quantization pass; see quantize_model.h.
#include "flame/model/quantize_model.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <vector>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/core/progress.h"
#include "flame/kernels/quant.h"

namespace flame {
namespace {

// llama_ftype values llama.cpp writes as general.file_type.
constexpr uint32_t kFileTypeF32 = 0, kFileTypeF16 = 1, kFileTypeQ4_0 = 2, kFileTypeQ4_1 = 3, kFileTypeQ8_0 = 7,
                   kFileTypeQ5_0 = 8, kFileTypeQ5_1 = 9, kFileTypeQ2_K = 10, kFileTypeQ3_K_M = 12, kFileTypeQ4_K_M = 15,
                   kFileTypeQ5_K_M = 17, kFileTypeQ6_K = 18, kFileTypeBF16 = 32;
constexpr uint32_t kQuantizationVersion = 2;

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// llama.cpp's use_more_bits: the first and last eighth of the layers, and every third in between.
bool use_more_bits(int64_t layer, int64_t n_layers) {
  return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

// "blk.N.xxx" -> N, or -1.
int64_t layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  int64_t layer = 0;
  size_t i = 4;
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i)
    layer = layer * 10 + (name[i] - '0');
  return layer;
}

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

DType fallback_for(DType t) {
  switch (t) {
    case DType::Q4_K:
      return DType::Q5_0;
    case DType::Q5_K:
      return DType::Q5_1;
    case DType::Q6_K:
      return DType::Q8_0;
    case DType::Q2_K:
    case DType::Q3_K:
      return DType::Q4_0;
    default:
      return DType::F16;
  }
}

}  // namespace

QuantTarget parse_quant_target(std::string_view name) {
  const std::string u = upper(name);
  if (u == "Q4_K_M") return {"Q4_K_M", DType::Q4_K, true, kFileTypeQ4_K_M};
  if (u == "Q5_K_M") return {"Q5_K_M", DType::Q5_K, true, kFileTypeQ5_K_M};
  struct Single {
    const char* name;
    DType type;
    uint32_t file_type;
  };
  static const Single singles[] = {
      {"Q6_K", DType::Q6_K, kFileTypeQ6_K},   {"Q8_0", DType::Q8_0, kFileTypeQ8_0},
      {"Q4_0", DType::Q4_0, kFileTypeQ4_0},   {"Q4_1", DType::Q4_1, kFileTypeQ4_1},
      {"Q5_0", DType::Q5_0, kFileTypeQ5_0},   {"Q5_1", DType::Q5_1, kFileTypeQ5_1},
      {"Q2_K", DType::Q2_K, kFileTypeQ2_K},   {"Q3_K", DType::Q3_K, kFileTypeQ3_K_M},
      {"Q4_K", DType::Q4_K, kFileTypeQ4_K_M}, {"Q5_K", DType::Q5_K, kFileTypeQ5_K_M},
      {"F16", DType::F16, kFileTypeF16},      {"BF16", DType::BF16, kFileTypeBF16},
      {"F32", DType::F32, kFileTypeF32},
  };
  for (const auto& s : singles)
    if (u == s.name) return {s.name, s.type, false, s.file_type};
  throw ArgumentError("quantize", fmt::format("unknown quantization target \"{}\"; use one of Q4_K_M, Q5_K_M, Q6_K, "
                                              "Q8_0, Q4_0 (presets) or Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, "
                                              "F16, BF16, F32",
                                              name));
}

std::vector<PlannedTensor> plan_quantization(const gguf::Reader& reader, const QuantTarget& target) {
  const bool tied = reader.find_tensor("output.weight") == nullptr;
  int64_t n_layers = reader.get_int("llama.block_count").value_or(0);
  for (const auto& t : reader.tensors()) n_layers = std::max(n_layers, layer_of(t.name) + 1);
  const bool block_target = dtype_info(target.base).quantized;

  std::vector<PlannedTensor> plan;
  for (const auto& t : reader.tensors()) {
    PlannedTensor p{t.name, t.dtype, t.dtype, ""};
    const bool is_weight = t.name.size() >= 7 && t.name.compare(t.name.size() - 7, 7, ".weight") == 0;
    if (t.shape.size() < 2 || !is_weight) {
      p.why = "1-D: copied";
      plan.push_back(p);
      continue;
    }
    if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
      throw UnsupportedError(
          fmt::format("{}: tensor \"{}\" is {}; flame quantize needs F32, F16 or BF16 input "
                      "(requantizing an already quantized model is not supported)",
                      reader.path(), t.name, dtype_name(t.dtype)));
    const int64_t cols = t.shape.back();
    DType to = target.base;
    p.why = "base";
    const bool is_output = t.name == "output.weight" || (tied && t.name == "token_embd.weight");
    if (block_target && is_output) {
      if (cols % 256 != 0) {
        to = DType::Q8_0;
        p.why = "output: Q8_0 (row not a multiple of 256)";
      } else if (to != DType::Q8_0) {
        to = DType::Q6_K;
        p.why = "output: Q6_K";
      }
    } else if (target.k_mix && (contains(t.name, "attn_v.weight") || contains(t.name, "ffn_down.weight"))) {
      const int64_t layer = layer_of(t.name);
      if (layer >= 0 && use_more_bits(layer, n_layers)) {
        to = DType::Q6_K;
        p.why = "more bits layer: Q6_K";
      }
    }
    if (cols % dtype_info(to).block_size != 0) {
      const DType first = to;
      to = fallback_for(to);
      if (cols % dtype_info(to).block_size != 0) to = DType::F16;
      p.why = fmt::format("fallback {} -> {}: row of {} is not a multiple of {}", dtype_name(first), dtype_name(to),
                          cols, dtype_info(first).block_size);
    }
    p.to = to;
    plan.push_back(p);
  }
  return plan;
}

QuantizeStats quantize_model(const std::string& in, const std::string& out, const QuantTarget& target,
                             ThreadPool& pool) {
  const auto start = std::chrono::steady_clock::now();
  const gguf::Reader reader = gguf::Reader::open(in);
  const auto plan = plan_quantization(reader, target);

  gguf::Writer writer(static_cast<uint32_t>(reader.alignment()));
  for (const auto& [key, value] : reader.metadata()) writer.set(key, value);
  writer.set("general.file_type", gguf::Value::u32(target.file_type));
  writer.set("general.quantization_version", gguf::Value::u32(kQuantizationVersion));

  int64_t total = 0;
  for (const auto& t : reader.tensors()) total += static_cast<int64_t>(t.nbytes);
  Progress progress("quantize", total, "B");
  QuantizeStats stats;
  for (const auto& p : plan) {
    const Tensor src = reader.tensor(p.name);
    stats.bytes_in += src.nbytes();
    if (p.from == p.to) {
      writer.add_tensor(p.name, src);  // the writer keeps the mapping alive until write
      stats.bytes_out += src.nbytes();
      progress.add(static_cast<int64_t>(src.nbytes()));
      continue;
    }
    Tensor dst = Tensor::empty(p.to, src.shape());
    const int64_t rows = src.rows(), cols = src.cols();
    pool.parallel_for(rows, [&](int64_t begin, int64_t end) {
      std::vector<float> row(static_cast<size_t>(cols));
      for (int64_t r = begin; r < end; ++r) {
        dequantize_row(p.from, src.row<void>(r), row.data(), cols);
        quantize_row(p.to, row.data(), dst.row<void>(r), cols);
      }
    });
    stats.bytes_out += dst.nbytes();
    progress.add(static_cast<int64_t>(src.nbytes()));
    writer.add_tensor(p.name, dst);
  }
  progress.finish();
  writer.write(out);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace flame
