#pragma once
// AdamW over LlamaWeights (PyTorch's torch.optim.AdamW semantics): decoupled weight decay on 2-D
// weights only (embeddings and matrices, not norms), bias-corrected moments, and global gradient
// norm clipping (torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6), capped at 1).
//
//   AdamW opt(params.config, AdamWOptions{.weight_decay = 0.1f, .grad_clip = 1.0f});
//   float lr = schedule.lr(opt.step_count());
//   float grad_norm = opt.step(params, grads, lr);        // updates params (grads are read only)
//   opt.for_each_state([](const std::string& name, Tensor& t) { ... });  // checkpoint m, v
//   opt.set_step_count(saved_step);                      // restore
//
// State: m and v are LlamaWeights (same names and shapes as the parameters) plus the step count.
// Deterministic for a given thread count (static split, fixed reduction order).
#include <cstdint>
#include <functional>
#include <string>

#include "flame/core/thread_pool.h"
#include "flame/model/weights.h"

namespace flame {

struct AdamWOptions {
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;
  float grad_clip = 1.0f;  // max global L2 norm of the gradients; <= 0 turns clipping off
};

// The L2 norm of every gradient tensor together (summed in double, fixed order).
double global_grad_norm(const LlamaWeights& grads, ThreadPool& pool = ThreadPool::global());
// Multiplies every tensor by `factor`.
void scale_weights(LlamaWeights& weights, float factor, ThreadPool& pool = ThreadPool::global());

class AdamW {
 public:
  AdamW(const LlamaConfig& config, AdamWOptions options);

  // One update with learning rate lr: g = grad * clip (clip = min(1, max_norm / (norm + 1e-6))),
  // p -= lr * wd * p (2-D only); m, v updated with g; p -= lr * m_hat / (sqrt(v_hat) + eps).
  // `grads` is not modified (clipping is applied inside the update).
  // Returns the global gradient norm before clipping. Increments step_count().
  // A NaN or Inf norm (any non-finite gradient) changes nothing: params, m, v and step_count()
  // stay as they were, and the non-finite norm is returned for the caller to report.
  float step(LlamaWeights& params, const LlamaWeights& grads, float lr, ThreadPool& pool = ThreadPool::global());

  int64_t step_count() const { return step_; }
  void set_step_count(int64_t step) { step_ = step; }
  const AdamWOptions& options() const { return options_; }
  LlamaWeights& m() { return m_; }
  LlamaWeights& v() { return v_; }

  // Every state tensor, named "adam_m.<gguf name>" and "adam_v.<gguf name>" (for checkpoints; the
  // step count is separate).
  void for_each_state(const std::function<void(const std::string& name, Tensor& tensor)>& fn);

 private:
  AdamWOptions options_;
  LlamaWeights m_, v_;
  int64_t step_ = 0;
};

}  // namespace flame
