#pragma once
// Training checkpoints: one GGUF file (written atomically: temp file, fsync, rename, so the
// previous checkpoint survives any failure, a full disk included) holding the model in GGUF layout
// with its llama.* metadata (so `flame run` can load it), the AdamW moments ("adam_m.<name>",
// "adam_v.<name>"), and the run state under flame.train.* (step, data position, config and its
// trajectory hash, tokenizer hash).
//
//   save_checkpoint(dir, params, optimizer, state);          // dir/checkpoint.gguf
//   Checkpoint c = load_checkpoint(dir);                     // or a path to the .gguf
//   c.copy_optimizer_state(optimizer);
#include <cstdint>
#include <string>

#include "flame/io/gguf.h"
#include "flame/model/weights.h"
#include "flame/train/adamw.h"
#include "flame/train/train_config.h"

namespace flame {

struct TrainState {
  int64_t step = 0;            // completed optimizer updates
  uint64_t data_position = 0;  // DataLoader::position()
  uint64_t tokens_seen = 0;
  int64_t bad_steps = 0;       // consecutive skipped (non-finite) steps
  double elapsed_seconds = 0;  // training time before this invocation
  int64_t threads = 0;         // thread count (results are bitwise reproducible for a given thread count)
  std::string config_hash;     // TrainConfig::trajectory_hash()
  std::string config_toml;     // TrainConfig::to_toml()
  std::string tokenizer_hash;  // Manifest::tokenizer_hash
};

struct Checkpoint {
  std::string path;
  TrainState state;
  TrainConfig config;   // parsed from state.config_toml
  LlamaWeights params;  // owning F32 copies
  gguf::Reader reader;  // still open for optimizer tensors

  // Copies adam_m.* / adam_v.* into the optimizer and sets its step count; throws FormatError
  // naming a missing or misshapen tensor.
  void copy_optimizer_state(AdamW& optimizer);
};

// The checkpoint file for a run folder (a path ending in .gguf is taken as the file itself).
std::string checkpoint_path(const std::string& dir_or_file);

void save_checkpoint(const std::string& dir, const LlamaWeights& params, AdamW& optimizer, const TrainState& state);
// Throws IoError when absent, FormatError when it is not a flame training checkpoint.
Checkpoint load_checkpoint(const std::string& dir_or_file);

}  // namespace flame
