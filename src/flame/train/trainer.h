#pragma once
// The training loop: data -> micro-batches -> forward/backward (model/train_step.h) -> gradient
// accumulation -> AdamW (train/adamw.h) with the configured schedule, periodic validation,
// JSONL metrics, a live progress line, checkpoints (train/checkpoint.h), an SVG loss curve.
//
//   TrainOptions o;
//   o.config = TrainConfig::from_toml_file("configs/small.toml");
//   o.resume_dir = "runs/small";            // optional: continue bit-exactly
//   TrainResult r = run_training(o);        // r.interrupted after Ctrl-C (checkpoint saved)
//
// Files in config.out_dir: checkpoint.gguf, config.toml, train.jsonl, loss.svg. train.jsonl opens
// each invocation with a {"event": "start", "peak_gflops", "peak_source", ...} record.
// Bitwise reproducible for a given config, seed and thread count; an interrupted and resumed run
// produces the same loss sequence as an uninterrupted one.
#include <cstdint>
#include <functional>
#include <string>

#include "flame/model/weights.h"
#include "flame/train/train_config.h"

namespace flame {

struct TrainOptions {
  TrainConfig config;
  std::string resume_dir;  // a run folder (or checkpoint .gguf) to continue from
  std::string dump_grads;  // after the first step's backward, write every gradient (HF names) here
  // fp32 GEMM peak for MFU: > 0 is used as given, else config.peak_gflops, else it is measured at
  // start (train/train_metrics.h). Logged in train.jsonl's first record of each invocation.
  double peak_gflops = 0.0;
  // Called after each validation with (step, validation loss, parameters); e.g. to print samples.
  std::function<void(int64_t step, double val_loss, const LlamaWeights& params)> on_eval;
};

struct TrainResult {
  int64_t step = 0;  // completed updates
  bool interrupted = false;
  bool time_limit = false;
  double last_loss = 0, last_val_loss = 0;
  std::string checkpoint;
};

TrainResult run_training(const TrainOptions& options);

// Prints a line above the live progress line (which redraws itself on its next update).
void print_above_progress(const std::string& text);

// FLOPs per trained token: 6 x matmul parameters + attention (12 x layers x attention width x seq).
double train_flops_per_token(const LlamaConfig& config, int64_t seq);

}  // namespace flame
