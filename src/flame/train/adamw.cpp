#include "flame/train/adamw.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "flame/core/error.h"
#include "flame/train/adamw_update.h"

namespace flame {
namespace {
std::vector<Tensor*> tensors_of(LlamaWeights& w) {
  std::vector<Tensor*> out;
  w.for_each([&](const std::string&, Tensor& t) { out.push_back(&t); });
  return out;
}
std::vector<const Tensor*> tensors_of(const LlamaWeights& w) {
  std::vector<const Tensor*> out;
  w.for_each([&](const std::string&, const Tensor& t) { out.push_back(&t); });
  return out;
}
}  // namespace

double global_grad_norm(const LlamaWeights& grads, ThreadPool& pool) {
  std::vector<const Tensor*> tensors;
  grads.for_each([&](const std::string&, const Tensor& t) { tensors.push_back(&t); });
  // One pool run over all tensors; each thread sums its share of every tensor, then the per-thread
  // sums are added in thread order.
  std::vector<double> partial(pool.size(), 0.0);
  pool.run([&](int tid, int nt) {
    double s = 0.0;
    for (const Tensor* t : tensors) {
      const auto [b, e] = ThreadPool::split(t->numel(), tid, nt, 64);
      if (b < e) s += sum_of_squares_f64(t->data<float>() + b, e - b);
    }
    partial[tid] = s;
  });
  double total = 0.0;
  for (double s : partial) total += s;
  return std::sqrt(total);
}

void scale_weights(LlamaWeights& weights, float factor, ThreadPool& pool) {
  weights.for_each([&](const std::string&, Tensor& t) {
    float* p = t.data<float>();
    pool.parallel_for(
        t.numel(),
        [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) p[i] *= factor;
        },
        64);
  });
}

AdamW::AdamW(const LlamaConfig& config, AdamWOptions options)
    : options_(options), m_(LlamaWeights::allocate(config)), v_(LlamaWeights::allocate(config)) {
  if (!(options.beta1 >= 0 && options.beta1 < 1) || !(options.beta2 >= 0 && options.beta2 < 1))
    throw ArgumentError("AdamW", fmt::format("betas ({}, {}) must be in [0, 1)", options.beta1, options.beta2));
  if (!(options.eps > 0)) throw ArgumentError("AdamW", fmt::format("eps must be positive, got {}", options.eps));
  if (!(options.weight_decay >= 0))
    throw ArgumentError("AdamW", fmt::format("weight_decay must be >= 0, got {}", options.weight_decay));
}

float AdamW::step(LlamaWeights& params, const LlamaWeights& grads, float lr, ThreadPool& pool) {
  std::vector<Tensor*> p = tensors_of(params), m = tensors_of(m_), v = tensors_of(v_);
  std::vector<const Tensor*> g = tensors_of(grads);
  if (p.size() != m.size() || g.size() != m.size())
    throw ArgumentError("AdamW", "params/grads do not have the optimizer's tensors (tied vs untied?)");
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i]->shape() != m[i]->shape() || g[i]->shape() != m[i]->shape() || p[i]->dtype() != DType::F32)
      throw ArgumentError(
          "AdamW", fmt::format("tensor {} has shape {} / grad {}, optimizer state {}", i, shape_str(p[i]->shape()),
                               shape_str(g[i]->shape()), shape_str(m[i]->shape())));
  const double norm = global_grad_norm(grads, pool);
  if (!std::isfinite(norm)) return float(norm);  // NaN/Inf gradients: no update, step not counted
  // Clipping multiplies the gradient inside the update instead of rewriting the gradients.
  float clip = 1.0f;
  if (options_.grad_clip > 0) clip = float(std::min(1.0, double(options_.grad_clip) / (norm + 1e-6)));
  ++step_;
  const float b1 = options_.beta1, b2 = options_.beta2, eps = options_.eps;
  const float bc1 = 1.0f - float(std::pow(double(b1), double(step_)));
  const float bc2_sqrt = float(std::sqrt(1.0 - std::pow(double(b2), double(step_))));
  const float step_size = lr / bc1;
  pool.run([&](int tid, int nt) {
    for (size_t i = 0; i < p.size(); ++i) {
      const float decay = p[i]->ndim() == 2 ? 1.0f - lr * options_.weight_decay : 1.0f;
      float* pw = p[i]->data<float>();
      const auto [b, e] = ThreadPool::split(p[i]->numel(), tid, nt, 64);
      if (b >= e) continue;
      const AdamWScalars scalars{clip, b1, b2, eps, decay, step_size, bc2_sqrt};
      adamw_update(pw + b, g[i]->data<float>() + b, m[i]->data<float>() + b, v[i]->data<float>() + b, e - b, scalars);
    }
  });
  return float(norm);
}

void AdamW::for_each_state(const std::function<void(const std::string& name, Tensor& tensor)>& fn) {
  m_.for_each([&](const std::string& name, Tensor& t) { fn("adam_m." + name, t); });
  v_.for_each([&](const std::string& name, Tensor& t) { fn("adam_v." + name, t); });
}

}  // namespace flame
