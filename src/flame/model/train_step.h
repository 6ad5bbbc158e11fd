#pragma once
// Training forward/backward of the Llama model over F32 LlamaWeights, as explicit x_forward /
// x_backward kernels (llm.c style). The same model as model/inference.h (checked by
// tests/unit/train_inference_parity_test.cpp).
//
//   TrainWorkspace ws(config, batch, seq);          // seq <= config.context_length
//   zero_weights(grads);                             // or keep accumulating across micro-batches
//   float loss = train_forward_backward(params, grads, inputs, targets, batch, seq, ws);
//   float eval = train_forward_loss(params, inputs, targets, batch, seq, ws);
//
// inputs/targets: batch*seq token ids, row-major [batch][seq]. Loss is the mean cross-entropy over
// all batch*seq positions. Gradients are ADDED into `grads` (accumulation), scaled by `grad_scale`
// (use 1/micro_batches for gradient accumulation). Deterministic for a given thread count.
//
// Threads (ThreadPool::global()): when batch >= threads, each thread runs forward and backward of
// its own sequences with single-threaded kernels (two synchronisations per step; one extra F32
// gradient copy per extra thread, reduced in thread order); otherwise every kernel is split over
// the pool. The weight matrices are packed once per call for flame's GEMM (kernels/matmul_train.h,
// sgemm.h) and shared by all threads; attention's products are OpenBLAS set to one thread.
// Kernels: kernels/{embedding,rmsnorm,matmul,rope,attention,swiglu,cross_entropy}_train.h.
#include <cstdint>
#include <memory>

#include "flame/model/weights.h"

namespace flame {

class TrainWorkspace {
 public:
  TrainWorkspace(const LlamaConfig& config, int64_t batch, int64_t seq);
  ~TrainWorkspace();
  TrainWorkspace(TrainWorkspace&&) noexcept;
  TrainWorkspace& operator=(TrainWorkspace&&) noexcept;
  int64_t batch() const;
  int64_t seq() const;
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

float train_forward_backward(const LlamaWeights& params, LlamaWeights& grads, const uint32_t* inputs,
                             const uint32_t* targets, int64_t batch, int64_t seq, TrainWorkspace& ws,
                             float grad_scale = 1.0f);
float train_forward_loss(const LlamaWeights& params, const uint32_t* inputs, const uint32_t* targets, int64_t batch,
                         int64_t seq, TrainWorkspace& ws);

// Logits of every position, [batch*seq, vocab] row-major (for checking export and inference against
// the training forward pass; training itself never materialises them).
void train_forward_logits(const LlamaWeights& params, const uint32_t* inputs, int64_t batch, int64_t seq,
                          TrainWorkspace& ws, float* logits);

// Sets every tensor of `weights` to zero.
void zero_weights(LlamaWeights& weights);

}  // namespace flame
