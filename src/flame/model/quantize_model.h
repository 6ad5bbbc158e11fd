#pragma once
// Quantizing a Llama GGUF (F32/F16/BF16 weights) to a preset mix of block types, the way
// llama.cpp's llama-quantize chooses per-tensor types, writing a GGUF llama.cpp reads.
//
//   auto preset = parse_quant_target("Q4_K_M");                  // throws ArgumentError if unknown
//   auto plan = plan_quantization(gguf::Reader::open(in), preset);  // per-tensor target types
//   quantize_model(in, out, preset, ThreadPool::global());
//
// Mixes (llama.cpp's, for Llama without an importance matrix):
//   every tensor: 1-D tensors (norms, rope_freqs) are copied unchanged;
//   output.weight (or token_embd.weight when embeddings are tied): Q6_K, unless the base is Q8_0
//     (stays Q8_0) or its rows are not a multiple of 256 (Q8_0);
//   Q4_K_M / Q5_K_M: base Q4_K / Q5_K; attn_v and ffn_down use Q6_K on "more bits" layers
//     (first and last eighth of the layers and every third layer in between);
//   Q6_K, Q8_0, Q4_0 and every single type name (q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, f16,
//     bf16, f32): that type for every 2-D weight, plus the output rule above for block types.
// Fallback when a tensor's row length is not a multiple of the chosen block size (llama.cpp's
// rule; IQ4_NL, which llama.cpp uses for Q2_K/Q3_K, is not implemented here, so those fall to
// Q4_0): Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K/Q3_K -> Q4_0, and F16 if still not divisible.
#include <string>
#include <string_view>
#include <vector>

#include "flame/core/dtype.h"
#include "flame/core/thread_pool.h"
#include "flame/io/gguf.h"

namespace flame {

struct QuantTarget {
  std::string name;        // as given, canonical case ("Q4_K_M", "q4_1")
  DType base;              // the type most weights get
  bool k_mix = false;      // Q4_K_M / Q5_K_M upgrades for attn_v / ffn_down
  uint32_t file_type = 0;  // general.file_type (llama_ftype)
};

// Accepts the presets Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0 and single types; ArgumentError otherwise
// (unknown names, activation-only Q8_K/Q8_1, integer types).
QuantTarget parse_quant_target(std::string_view name);

struct PlannedTensor {
  std::string name;
  DType from, to;
  std::string why;  // "base", "output: Q6_K", "more bits layer", "fallback: 100 % 256 != 0", "1-D: copied"
};

// Per-tensor target types. Throws UnsupportedError when a tensor to be quantized is not
// F32/F16/BF16 (flame does not requantize).
std::vector<PlannedTensor> plan_quantization(const gguf::Reader& reader, const QuantTarget& target);

struct QuantizeStats {
  uint64_t bytes_in = 0, bytes_out = 0;
  double seconds = 0;
};

// Reads `in`, quantizes per plan on the pool (rows split over threads), shows progress, writes
// `out` atomically with the input's metadata plus general.file_type and general.quantization_version.
QuantizeStats quantize_model(const std::string& in, const std::string& out, const QuantTarget& target,
                             ThreadPool& pool);

}  // namespace flame
