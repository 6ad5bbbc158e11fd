#pragma once
// The settings of one training run, read from TOML, overridable with `--set key=value`, validated
// once with errors that name the offending key. One table of fields (train_config.cpp) drives
// parsing, overrides, printing and the checkpoint compatibility hash.
//
//   TrainConfig c = TrainConfig::from_toml_file("configs/small.toml");
//   c.apply_override("train.steps=200");   // or "steps=200" when the key name is unique
//   c.validate();                          // throws ArgumentError("train config", "model.dim ...")
//   LlamaConfig model = c.llama_config(vocab_size);
//
// [model] dim n_layers n_heads n_kv_heads ffn_dim head_dim(0: dim/n_heads) rope_theta norm_eps
//         tied_embeddings init_std init_from(safetensors with HF names, "" = random init)
// [data] dir tokenizer
// [train] batch seq grad_accum steps max_steps(0: steps; stop early, resumable) max_minutes seed
//         max_bad_steps
// [optim] lr min_lr_ratio warmup schedule(cosine|wsd) decay_fraction weight_decay beta1 beta2 eps clip
// [eval] interval batches      [checkpoint] interval      [run] out_dir peak_gflops(0: measure at start)
#include <cstdint>
#include <string>

#include "flame/model/config.h"

namespace flame {

struct TrainConfig {
  // [model]
  int64_t dim = 128, n_layers = 4, n_heads = 4, n_kv_heads = 4, ffn_dim = 384, head_dim = 0;
  double rope_theta = 10000.0, norm_eps = 1e-5;
  bool tied_embeddings = true;
  double init_std = 0.02;
  std::string init_from;
  // [data]
  std::string data_dir, tokenizer;
  // [train]
  int64_t batch = 8, seq = 128, grad_accum = 1, steps = 1000, max_steps = 0, seed = 1, max_bad_steps = 5;
  double max_minutes = 0.0;
  // [optim]
  double lr = 1e-3, min_lr_ratio = 0.1;
  int64_t warmup = 100;
  std::string schedule = "cosine";
  double decay_fraction = 0.2, weight_decay = 0.1, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, clip = 1.0;
  // [eval]
  int64_t eval_interval = 100, eval_batches = 8;
  // [checkpoint]
  int64_t checkpoint_interval = 200;
  // [run]
  std::string out_dir = "runs/default";
  double peak_gflops = 0.0;  // fp32 GEMM peak for MFU; 0 = measure it at train start (~0.3 s)

  // Throws ArgumentError naming the file, key and reason (unknown keys, wrong types, TOML syntax).
  static TrainConfig from_toml_file(const std::string& path);
  static TrainConfig from_toml_string(const std::string& text, const std::string& origin = "<string>");
  // "section.key=value" or "key=value" when `key` names exactly one field.
  void apply_override(const std::string& assignment);
  // Every inconsistency, with the key that causes it.
  void validate() const;
  // The TOML text of every field (written next to checkpoints; parses back to an equal config).
  std::string to_toml() const;
  // Hash of every field that changes the training trajectory (not max_steps, intervals, out_dir,
  // paths): a checkpoint resumes only under a config with the same hash.
  std::string trajectory_hash() const;
  // The steps this invocation runs to (max_steps when set, else steps).
  int64_t last_step() const { return max_steps > 0 ? max_steps : steps; }
  LlamaConfig llama_config(int64_t vocab_size) const;
};

}  // namespace flame
