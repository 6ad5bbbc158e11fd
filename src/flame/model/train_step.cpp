// Training forward/backward of the Llama model, composed from the kernels' forward/backward pairs.
// Shape legend: B batch, T seq, N = B*T positions, C dim, H/KVH heads, hd head_dim, F ffn_dim,
// V vocab. Every buffer is row-major fp32.
#include "flame/model/train_step.h"

#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "flame/core/error.h"
#include "flame/kernels/attention_train.h"
#include "flame/kernels/cross_entropy_train.h"
#include "flame/kernels/embedding_train.h"
#include "flame/kernels/matmul_train.h"
#include "flame/kernels/rmsnorm_train.h"
#include "flame/kernels/rope_train.h"
#include "flame/kernels/swiglu_train.h"
#include "flame/model/train_profile.h"

namespace flame {

namespace {
using Buffer = std::vector<float>;

// What the forward pass keeps per layer for the backward pass.
// A layer's weight matrices packed for the GEMM (kernels/matmul_train.h), shared read-only by
// every shard and by forward and backward.
struct PackedLayer {
  PackedWeight wq, wk, wv, wo, w_gate, w_up, w_down;
};
struct PackedModel {
  std::vector<PackedLayer> layers;
  PackedWeight output;
};

struct LayerActivations {
  Buffer xn1, rstd1;   // attention RMSNorm output [N, C] and 1/rms [N]
  Buffer q, k, v;      // after RoPE: [N, H*hd], [N, KVH*hd], [N, KVH*hd]
  Buffer probs;        // softmax probabilities [B, H, T, T]
  Buffer att;          // attention output before wo [N, H*hd]
  Buffer x_mid;        // residual after attention [N, C]
  Buffer xn2, rstd2;   // FFN RMSNorm output [N, C], 1/rms [N]
  Buffer gate, up, h;  // [N, F] each; h = silu(gate) * up
};
}  // namespace

// The activations and scratch of a slice of the batch: whole sequences [b0, b0 + B), run by one
// thread (batch-parallel mode) or by the whole pool (kernel-parallel mode).
struct Shard {
  int64_t b0, B, T, N;
  std::vector<Buffer> x;  // residual stream entering layer l (x[n_layers] enters the final norm) [N, C]
  std::vector<LayerActivations> layers;
  Buffer xnf, rstdf;  // final RMSNorm output [N, C], 1/rms [N]
  int64_t chunk_rows;
  Buffer logits_chunk;  // [chunk_rows, V]
  // Gradient scratch, reused by every layer.
  Buffer dx, dxn, dq, dk, dv, datt, dh, dgate, dup;
  sgemm::PackedB x_packed;  // the activation of the dW products in flight (shared by q/k/v, gate/up)

  Shard(const LlamaConfig& c, int64_t first, int64_t batch, int64_t seq) : b0(first), B(batch), T(seq), N(batch * seq) {
    const int64_t C = c.dim, qd = c.n_heads * c.head_dim, kvd = c.n_kv_heads * c.head_dim, F = c.ffn_dim;
    x.assign(c.n_layers + 1, Buffer(N * C));
    layers.resize(c.n_layers);
    for (auto& a : layers) {
      a.xn1.resize(N * C), a.rstd1.resize(N), a.q.resize(N * qd), a.k.resize(N * kvd), a.v.resize(N * kvd);
      a.probs.resize(B * c.n_heads * T * T), a.att.resize(N * qd), a.x_mid.resize(N * C);
      a.xn2.resize(N * C), a.rstd2.resize(N), a.gate.resize(N * F), a.up.resize(N * F), a.h.resize(N * F);
    }
    xnf.resize(N * C), rstdf.resize(N);
    chunk_rows = classifier_chunk_rows(c.vocab_size, N);
    logits_chunk.resize(chunk_rows * c.vocab_size);
    dx.resize(N * C), dxn.resize(N * C), dq.resize(N * qd), dk.resize(N * kvd), dv.resize(N * kvd);
    datt.resize(N * qd), dh.resize(N * F), dgate.resize(N * F), dup.resize(N * F);
  }
};

struct TrainWorkspace::Impl {
  LlamaConfig config;
  int64_t B, T, N;
  // Batch-parallel when the pool has threads and the batch has at least one sequence per thread:
  // each thread runs forward and backward of its own sequences with single-threaded kernels, so a
  // step has two synchronisations instead of hundreds. Otherwise one shard, kernel-parallel.
  int pool_threads = 0;
  std::vector<std::unique_ptr<Shard>> shards;
  std::vector<LlamaWeights> private_grads;  // threads 1.. accumulate here, reduced in thread order
  PackedModel packed;
  RopeAngles rope;  // cos/sin of every position < T
  bool rope_built = false;

  Impl(const LlamaConfig& c, int64_t batch, int64_t seq) : config(c), B(batch), T(seq), N(batch * seq) {}

  bool batch_parallel() const { return shards.size() > 1; }

  // Packs every weight matrix (once per call: the optimizer changes them between calls).
  const PackedModel& pack_weights(const LlamaWeights& p, ThreadPool& pool) {
    packed.layers.resize(p.layers.size());
    std::vector<WeightToPack> list;
    auto add = [&](PackedWeight& dst, const Tensor& w) {
      list.push_back({w.data<float>(), w.shape()[0], w.shape()[1], &dst});
    };
    for (size_t l = 0; l < p.layers.size(); ++l) {
      const LayerWeights& w = p.layers[l];
      PackedLayer& d = packed.layers[l];
      add(d.wq, w.wq), add(d.wk, w.wk), add(d.wv, w.wv), add(d.wo, w.wo);
      add(d.w_gate, w.w_gate), add(d.w_up, w.w_up), add(d.w_down, w.w_down);
    }
    add(packed.output, p.output_matrix());
    flame::pack_weights(list, pool);  // one pool call for the whole model
    return packed;
  }

  void prepare(ThreadPool& pool) {
    if (pool_threads == pool.size() && !shards.empty()) return;
    pool_threads = pool.size();
    shards.clear();
    private_grads.clear();
    const int nt = B >= pool.size() ? pool.size() : 1;
    for (int t = 0; t < nt; ++t) {
      const auto [b, e] = ThreadPool::split(B, t, nt);
      shards.push_back(std::make_unique<Shard>(config, b, e - b, T));
    }
  }

  void prepare_grads() {
    while (private_grads.size() + 1 < shards.size()) private_grads.push_back(LlamaWeights::allocate(config));
  }

  // Built on first use (the divisors come from the weights: rope_freqs, or the config's scaling).
  const RopeAngles& rope_for(const LlamaWeights& params) {
    if (!rope_built) {
      rope = RopeAngles::make(
          RopeTable::make(config.rope_dim, config.rope_theta, params.rope_freq_factors(), config.rope_position_scale),
          T);
      rope_built = true;
    }
    return rope;
  }

  // Runs fn(shard, thread) for every shard: one per thread in batch-parallel mode, or the single
  // shard on the caller (its kernels then use the whole pool).
  template <class Fn>
  void for_shards(ThreadPool& pool, Fn&& fn) {
    if (!batch_parallel()) {
      fn(*shards[0], 0);
      return;
    }
    pool.run([&](int t, int) { fn(*shards[t], t); });
  }
};

TrainWorkspace::TrainWorkspace(const LlamaConfig& config, int64_t batch, int64_t seq) {
  config.validate();
  if (batch <= 0 || seq <= 0)
    throw ArgumentError("TrainWorkspace", fmt::format("batch ({}) and seq ({}) must be positive", batch, seq));
  if (seq > config.context_length)
    throw ArgumentError("TrainWorkspace",
                        fmt::format("seq ({}) exceeds the model's context_length ({})", seq, config.context_length));
  impl_ = std::make_unique<Impl>(config, batch, seq);
}
TrainWorkspace::~TrainWorkspace() = default;
TrainWorkspace::TrainWorkspace(TrainWorkspace&&) noexcept = default;
TrainWorkspace& TrainWorkspace::operator=(TrainWorkspace&&) noexcept = default;
int64_t TrainWorkspace::batch() const {
  return impl_->B;
}
int64_t TrainWorkspace::seq() const {
  return impl_->T;
}

namespace {

void check_tensor(const Tensor& t, const std::string& name, const Shape& shape, const char* op) {
  if (t.data() == nullptr) throw ArgumentError(op, fmt::format("{} is missing", name));
  if (t.dtype() != DType::F32) throw ArgumentError(op, fmt::format("{} must be F32 for training", name));
  if (t.shape() != shape)
    throw ArgumentError(op, fmt::format("{} has shape {}, expected {}", name, shape_str(t.shape()), shape_str(shape)));
}

void check_weights(const LlamaWeights& w, const LlamaConfig& c, const char* what, const char* op) {
  if (w.config.tied_embeddings != c.tied_embeddings || int64_t(w.layers.size()) != c.n_layers)
    throw ArgumentError(op, fmt::format("{} do not match the workspace's config", what));
  const int64_t C = c.dim, qd = c.n_heads * c.head_dim, kvd = c.n_kv_heads * c.head_dim, F = c.ffn_dim;
  const std::string p = what;
  check_tensor(w.token_embd, p + " token_embd.weight", {c.vocab_size, C}, op);
  check_tensor(w.output_norm, p + " output_norm.weight", {C}, op);
  if (!c.tied_embeddings) check_tensor(w.output, p + " output.weight", {c.vocab_size, C}, op);
  for (int64_t i = 0; i < c.n_layers; ++i) {
    const auto& l = w.layers[i];
    const std::string b = fmt::format("{} blk.{}.", p, i);
    check_tensor(l.attn_norm, b + "attn_norm.weight", {C}, op);
    check_tensor(l.wq, b + "attn_q.weight", {qd, C}, op);
    check_tensor(l.wk, b + "attn_k.weight", {kvd, C}, op);
    check_tensor(l.wv, b + "attn_v.weight", {kvd, C}, op);
    check_tensor(l.wo, b + "attn_output.weight", {C, qd}, op);
    check_tensor(l.ffn_norm, b + "ffn_norm.weight", {C}, op);
    check_tensor(l.w_gate, b + "ffn_gate.weight", {F, C}, op);
    check_tensor(l.w_up, b + "ffn_up.weight", {F, C}, op);
    check_tensor(l.w_down, b + "ffn_down.weight", {C, F}, op);
  }
  if (w.rope_freqs.data() != nullptr) check_tensor(w.rope_freqs, p + " rope_freqs.weight", {c.rope_dim / 2}, op);
}

void check_tokens(const uint32_t* ids, int64_t n, int64_t vocab, const char* which, const char* op) {
  if (ids == nullptr) throw ArgumentError(op, fmt::format("{} is null", which));
  for (int64_t i = 0; i < n; ++i)
    if (int64_t(ids[i]) >= vocab)
      throw ArgumentError(op, fmt::format("{}[{}] = {} is not below vocab_size {}", which, i, ids[i], vocab));
}

void check_call(const LlamaWeights& params, const uint32_t* inputs, const uint32_t* targets, int64_t batch, int64_t seq,
                TrainWorkspace::Impl& ws, const char* op) {
  if (batch != ws.B || seq != ws.T)
    throw ArgumentError(
        op, fmt::format("batch {} x seq {} does not match the workspace's {} x {}", batch, seq, ws.B, ws.T));
  const LlamaConfig& c = ws.config;
  if (params.config.dim != c.dim || params.config.vocab_size != c.vocab_size || params.config.ffn_dim != c.ffn_dim ||
      params.config.n_heads != c.n_heads || params.config.n_kv_heads != c.n_kv_heads ||
      params.config.head_dim != c.head_dim)
    throw ArgumentError(op, "params' config does not match the workspace's config");
  check_weights(params, c, "params", op);
  check_tokens(inputs, ws.N, c.vocab_size, "inputs", op);
  check_tokens(targets, ws.N, c.vocab_size, "targets", op);
}

// Runs the forward pass up to the final norm, saving activations in ws.
// inputs: this shard's B*T ids.
void forward_body(const LlamaWeights& p, const PackedModel& pm, const uint32_t* inputs, const LlamaConfig& c,
                  const RopeAngles& rope, Shard& ws, ThreadPool& pool, TrainOpTimer& tm) {
  const int64_t B = ws.B, T = ws.T, N = ws.N, C = c.dim, H = c.n_heads, KVH = c.n_kv_heads, hd = c.head_dim;
  const int64_t F = c.ffn_dim;
  embedding_forward(p.token_embd.data<float>(), inputs, ws.x[0].data(), N, C, pool);
  tm.lap(TrainOp::Embedding);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& w = p.layers[l];
    const PackedLayer& pw = pm.layers[l];
    LayerActivations& a = ws.layers[l];
    const float* x = ws.x[l].data();
    rmsnorm_forward(x, w.attn_norm.data<float>(), a.xn1.data(), a.rstd1.data(), N, C, c.norm_eps, pool);
    tm.lap(TrainOp::AttnNorm);
    matmul_forward(a.xn1.data(), pw.wq, a.q.data(), N, pool);
    matmul_forward(a.xn1.data(), pw.wk, a.k.data(), N, pool);
    matmul_forward(a.xn1.data(), pw.wv, a.v.data(), N, pool);
    tm.lap(TrainOp::QkvMatmul);
    rope_forward(a.q.data(), rope, B, T, H, hd, pool);
    rope_forward(a.k.data(), rope, B, T, KVH, hd, pool);
    tm.lap(TrainOp::Rope);
    attention_forward(a.q.data(), a.k.data(), a.v.data(), a.att.data(), a.probs.data(), B, T, H, KVH, hd, pool);
    tm.lap(TrainOp::Attention);
    std::memcpy(a.x_mid.data(), x, sizeof(float) * N * C);
    matmul_forward(a.att.data(), pw.wo, a.x_mid.data(), N, pool, /*accumulate=*/true);
    tm.lap(TrainOp::WoMatmul);
    rmsnorm_forward(a.x_mid.data(), w.ffn_norm.data<float>(), a.xn2.data(), a.rstd2.data(), N, C, c.norm_eps, pool);
    tm.lap(TrainOp::FfnNorm);
    matmul_forward(a.xn2.data(), pw.w_gate, a.gate.data(), N, pool);
    matmul_forward(a.xn2.data(), pw.w_up, a.up.data(), N, pool);
    tm.lap(TrainOp::GateUpMatmul);
    swiglu_forward(a.gate.data(), a.up.data(), a.h.data(), N * F, pool);
    tm.lap(TrainOp::Swiglu);
    float* x_next = ws.x[l + 1].data();
    std::memcpy(x_next, a.x_mid.data(), sizeof(float) * N * C);
    matmul_forward(a.h.data(), pw.w_down, x_next, N, pool, /*accumulate=*/true);
    tm.lap(TrainOp::DownMatmul);
  }
  rmsnorm_forward(ws.x[c.n_layers].data(), p.output_norm.data<float>(), ws.xnf.data(), ws.rstdf.data(), N, C,
                  c.norm_eps, pool);
  tm.lap(TrainOp::FinalNorm);
}

}  // namespace

namespace {
// Forward (and backward when grads is non-null) of one shard; returns its summed loss.
double shard_step(const LlamaWeights& params, const PackedModel& pm, LlamaWeights* grads, const uint32_t* inputs,
                  const uint32_t* targets, const LlamaConfig& c, const RopeAngles& rope, Shard& ws, float dlogit_scale,
                  ThreadPool& pool) {
  inputs += ws.b0 * ws.T;
  targets += ws.b0 * ws.T;
  TrainOpTimer tm(ws.b0 == 0 && train_profile_enabled());
  forward_body(params, pm, inputs, c, rope, ws, pool, tm);
  if (grads == nullptr)
    return classifier_forward(ws.xnf.data(), pm.output, targets, ws.N, ws.logits_chunk.data(), ws.chunk_rows, pool);
  const int64_t B = ws.B, T = ws.T, N = ws.N, C = c.dim, H = c.n_heads, KVH = c.n_kv_heads, hd = c.head_dim;
  const int64_t qd = H * hd, F = c.ffn_dim;
  float* d_output = c.tied_embeddings ? grads->token_embd.data<float>() : grads->output.data<float>();
  const double sum = classifier_forward_backward(ws.xnf.data(), pm.output, targets, N, ws.logits_chunk.data(),
                                                 ws.chunk_rows, ws.dxn.data(), d_output, dlogit_scale, pool);
  tm.lap(TrainOp::Classifier);
  std::fill(ws.dx.begin(), ws.dx.end(), 0.0f);
  rmsnorm_backward(ws.dxn.data(), ws.x[c.n_layers].data(), params.output_norm.data<float>(), ws.rstdf.data(),
                   ws.dx.data(), grads->output_norm.data<float>(), N, C, pool);
  tm.lap(TrainOp::FinalNormBackward);
  for (int64_t l = c.n_layers - 1; l >= 0; --l) {
    const LayerWeights& w = params.layers[l];
    const PackedLayer& pw = pm.layers[l];
    sgemm::PackedB& xp = ws.x_packed;
    LayerWeights& g = grads->layers[l];
    LayerActivations& a = ws.layers[l];
    // x_next = x_mid + h W_down^T: dx flows through unchanged to x_mid.
    pack_activation(a.h.data(), N, F, xp, pool);
    matmul_backward(ws.dx.data(), &xp, pw.w_down, ws.dh.data(), g.w_down.data<float>(), N, pool);
    tm.lap(TrainOp::DownMatmulBackward);
    swiglu_backward(ws.dh.data(), a.gate.data(), a.up.data(), ws.dgate.data(), ws.dup.data(), N * F, pool);
    tm.lap(TrainOp::SwigluBackward);
    pack_activation(a.xn2.data(), N, C, xp, pool);
    matmul_backward(ws.dgate.data(), &xp, pw.w_gate, ws.dxn.data(), g.w_gate.data<float>(), N, pool);
    matmul_backward(ws.dup.data(), &xp, pw.w_up, ws.dxn.data(), g.w_up.data<float>(), N, pool, /*accumulate_dx=*/true);
    tm.lap(TrainOp::GateUpMatmulBackward);
    rmsnorm_backward(ws.dxn.data(), a.x_mid.data(), w.ffn_norm.data<float>(), a.rstd2.data(), ws.dx.data(),
                     g.ffn_norm.data<float>(), N, C, pool);
    tm.lap(TrainOp::FfnNormBackward);
    // x_mid = x + att W_o^T: dx flows through unchanged to x.
    pack_activation(a.att.data(), N, qd, xp, pool);
    matmul_backward(ws.dx.data(), &xp, pw.wo, ws.datt.data(), g.wo.data<float>(), N, pool);
    tm.lap(TrainOp::WoMatmulBackward);
    attention_backward(ws.datt.data(), a.q.data(), a.k.data(), a.v.data(), a.att.data(), a.probs.data(), ws.dq.data(),
                       ws.dk.data(), ws.dv.data(), B, T, H, KVH, hd, pool);
    tm.lap(TrainOp::AttentionBackward);
    rope_backward(ws.dq.data(), rope, B, T, H, hd, pool);
    rope_backward(ws.dk.data(), rope, B, T, KVH, hd, pool);
    tm.lap(TrainOp::RopeBackward);
    pack_activation(a.xn1.data(), N, C, xp, pool);
    matmul_backward(ws.dq.data(), &xp, pw.wq, ws.dxn.data(), g.wq.data<float>(), N, pool);
    matmul_backward(ws.dk.data(), &xp, pw.wk, ws.dxn.data(), g.wk.data<float>(), N, pool, true);
    matmul_backward(ws.dv.data(), &xp, pw.wv, ws.dxn.data(), g.wv.data<float>(), N, pool, true);
    tm.lap(TrainOp::QkvMatmulBackward);
    rmsnorm_backward(ws.dxn.data(), ws.x[l].data(), w.attn_norm.data<float>(), a.rstd1.data(), ws.dx.data(),
                     g.attn_norm.data<float>(), N, C, pool);
    tm.lap(TrainOp::AttnNormBackward);
  }
  embedding_backward(ws.dx.data(), inputs, grads->token_embd.data<float>(), N, C, pool);
  tm.lap(TrainOp::EmbeddingBackward);
  return sum;
}

// grads += private_grads[0] + private_grads[1] + ..., element by element in that order.
void reduce_private_grads(LlamaWeights& grads, std::vector<LlamaWeights>& parts, ThreadPool& pool) {
  std::vector<float*> dst;
  grads.for_each([&](const std::string&, Tensor& t) { dst.push_back(t.data<float>()); });
  std::vector<int64_t> sizes;
  grads.for_each([&](const std::string&, Tensor& t) { sizes.push_back(t.numel()); });
  std::vector<std::vector<const float*>> src(parts.size());
  for (size_t p = 0; p < parts.size(); ++p)
    parts[p].for_each([&](const std::string&, Tensor& t) { src[p].push_back(t.data<float>()); });
  pool.run([&](int tid, int nt) {
    for (size_t i = 0; i < dst.size(); ++i) {
      const auto [b, e] = ThreadPool::split(sizes[i], tid, nt, 64);
      for (size_t p = 0; p < parts.size(); ++p)
        for (int64_t j = b; j < e; ++j) dst[i][j] += src[p][i][j];
    }
  });
}
}  // namespace

float train_forward_loss(const LlamaWeights& params, const uint32_t* inputs, const uint32_t* targets, int64_t batch,
                         int64_t seq, TrainWorkspace& workspace) {
  TrainWorkspace::Impl& ws = workspace.impl();
  check_call(params, inputs, targets, batch, seq, ws, "train_forward_loss");
  ThreadPool& pool = ThreadPool::global();
  ws.prepare(pool);
  const RopeAngles& rope = ws.rope_for(params);
  const PackedModel& packed = ws.pack_weights(params, pool);
  std::vector<double> sums(ws.shards.size());
  ws.for_shards(pool, [&](Shard& shard, int t) {
    sums[t] = shard_step(params, packed, nullptr, inputs, targets, ws.config, rope, shard, 0.0f, pool);
  });
  double sum = 0;
  for (double s : sums) sum += s;
  return float(sum / double(ws.N));
}

float train_forward_backward(const LlamaWeights& params, LlamaWeights& grads, const uint32_t* inputs,
                             const uint32_t* targets, int64_t batch, int64_t seq, TrainWorkspace& workspace,
                             float grad_scale) {
  TrainWorkspace::Impl& ws = workspace.impl();
  const char* op = "train_forward_backward";
  check_call(params, inputs, targets, batch, seq, ws, op);
  check_weights(grads, ws.config, "grads", op);
  ThreadPool& pool = ThreadPool::global();
  ws.prepare(pool);
  ws.prepare_grads();
  const RopeAngles& rope = ws.rope_for(params);
  const PackedModel& packed = ws.pack_weights(params, pool);
  // Loss = mean over all N positions; grad_scale scales every gradient (micro-batch accumulation).
  const float dlogit_scale = grad_scale / float(ws.N);
  std::vector<double> sums(ws.shards.size());
  ws.for_shards(pool, [&](Shard& shard, int t) {
    LlamaWeights* target = &grads;
    if (t > 0) {
      target = &ws.private_grads[t - 1];
      zero_weights(*target);
    }
    sums[t] = shard_step(params, packed, target, inputs, targets, ws.config, rope, shard, dlogit_scale, pool);
  });
  TrainOpTimer tm(train_profile_enabled());
  if (ws.batch_parallel()) reduce_private_grads(grads, ws.private_grads, pool);
  tm.lap(TrainOp::GradZeroAndReduce);
  double sum = 0;
  for (double s : sums) sum += s;
  return float(sum / double(ws.N));
}

void train_forward_logits(const LlamaWeights& params, const uint32_t* inputs, int64_t batch, int64_t seq,
                          TrainWorkspace& workspace, float* logits) {
  TrainWorkspace::Impl& ws = workspace.impl();
  check_call(params, inputs, inputs, batch, seq, ws, "train_forward_logits");
  ThreadPool& pool = ThreadPool::global();
  ws.prepare(pool);
  const RopeAngles& rope = ws.rope_for(params);
  const PackedModel& packed = ws.pack_weights(params, pool);
  const LlamaConfig& c = ws.config;
  ws.for_shards(pool, [&](Shard& shard, int) {
    TrainOpTimer tm(false);
    forward_body(params, packed, inputs + shard.b0 * ws.T, c, rope, shard, pool, tm);
    matmul_forward(shard.xnf.data(), packed.output, logits + shard.b0 * ws.T * c.vocab_size, shard.N, pool);
  });
}

void zero_weights(LlamaWeights& weights) {
  weights.for_each([](const std::string&, Tensor& t) {
    if (t.data() != nullptr) std::memset(t.data(), 0, t.nbytes());
  });
}

}  // namespace flame
