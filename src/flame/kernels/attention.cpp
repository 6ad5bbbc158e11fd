#include "flame/kernels/attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/core/half.h"

namespace flame {
namespace detail {

float dot_scalar(const float* a, const float* b, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy_scalar(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

namespace {

void score_tile_scalar(const float* q, int64_t rows, const float* keys, int64_t n_keys, int64_t k_stride, int64_t hd,
                       float* s, int64_t ld) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n_keys; ++j) s[r * ld + j] = dot_scalar(q + r * hd, keys + j * k_stride, hd);
}

float exp_shift_sum_scalar(float* x, int64_t n, float shift) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += (x[i] = std::exp(x[i] - shift));
  return sum;
}

void pv_tile_scalar(const float* p, int64_t rows, int64_t ld, const float* values, int64_t n_keys, int64_t v_stride,
                    int64_t hd, float* o) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n_keys; ++j) axpy_scalar(p[r * ld + j], values + j * v_stride, o + r * hd, hd);
}

void f16_rows_to_f32_scalar(const uint16_t* src, int64_t rows, int64_t src_stride, int64_t cols, float* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[r * cols + c] = f16_to_f32(src[r * src_stride + c]);
}

void f32_to_f16_scalar(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

}  // namespace

const AttentionKernels& attention_kernels_scalar() {
  static const AttentionKernels k{score_tile_scalar, exp_shift_sum_scalar, pv_tile_scalar, f16_rows_to_f32_scalar,
                                  f32_to_f16_scalar};
  return k;
}

}  // namespace detail

namespace {

constexpr int64_t kKeyChunk = 64;         // keys per online-softmax step
constexpr int64_t kRowsPerTask = 64;      // query rows (tokens x heads of a group) per task, at most
constexpr int64_t kMinSegmentKeys = 256;  // smallest key segment worth a task of its own

const detail::AttentionKernels& kernels() {
  return cpu().has_avx2_fma() && !force_scalar() ? detail::attention_kernels_avx2()
                                                 : detail::attention_kernels_scalar();
}

// Softmax state of one query row over the keys seen so far: running max m, sum l, and the
// unnormalised output o (head_dim floats elsewhere).
struct RowState {
  float m, l;
};

struct Plan {
  AttentionShape s;
  int64_t group, block_tokens, n_blocks, n_segments, segment_keys;
  int64_t q_stride, kv_stride, head_stride;  // kv_stride: between positions
  float scale;
};

// Per-thread scratch of one task.
struct TaskScratch {
  std::vector<float> q, o, s, k, v;
  std::vector<RowState> state;
};

// Runs query block `block` against KV head g over keys [key_begin, key_end) (clipped causally),
// leaving the unnormalised output rows in scratch.o and their states in scratch.state.
void run_tile(const Plan& p, const detail::AttentionKernels& kern, const float* q, const KvRows& kv, int64_t pos0,
              int64_t n_tokens, int64_t block, int64_t g, int64_t key_begin, int64_t key_end, TaskScratch& sc) {
  const int64_t hd = p.s.head_dim;
  const int64_t t0 = block * p.block_tokens, t1 = std::min(n_tokens, t0 + p.block_tokens);
  const int64_t rows = (t1 - t0) * p.group;
  sc.q.resize(static_cast<size_t>(rows * hd));
  sc.o.assign(static_cast<size_t>(rows * hd), 0.0f);
  sc.s.resize(static_cast<size_t>(rows * kKeyChunk));
  sc.state.assign(static_cast<size_t>(rows), RowState{-std::numeric_limits<float>::infinity(), 0.0f});
  // Query rows (token-major, then head of the group), pre-scaled by 1/sqrt(head_dim).
  for (int64_t t = t0; t < t1; ++t)
    for (int64_t h = 0; h < p.group; ++h) {
      const float* src = q + t * p.q_stride + (g * p.group + h) * hd;
      float* dst = sc.q.data() + ((t - t0) * p.group + h) * hd;
      for (int64_t i = 0; i < hd; ++i) dst[i] = src[i] * p.scale;
    }
  const bool f16 = kv.type == DType::F16;
  if (f16) {
    sc.k.resize(static_cast<size_t>(kKeyChunk * hd));
    sc.v.resize(static_cast<size_t>(kKeyChunk * hd));
  }
  const int64_t last_key = std::min(key_end, pos0 + t1);  // exclusive: the block's last token sees pos0 + t1 - 1
  for (int64_t c = key_begin; c < last_key; c += kKeyChunk) {
    const int64_t n = std::min(kKeyChunk, last_key - c);
    const float *keys, *values;
    int64_t stride;
    if (f16) {
      const auto* k16 = static_cast<const uint16_t*>(kv.keys) + c * p.kv_stride + g * p.head_stride;
      const auto* v16 = static_cast<const uint16_t*>(kv.values) + c * p.kv_stride + g * p.head_stride;
      kern.f16_rows_to_f32(k16, n, p.kv_stride, hd, sc.k.data());
      kern.f16_rows_to_f32(v16, n, p.kv_stride, hd, sc.v.data());
      keys = sc.k.data();
      values = sc.v.data();
      stride = hd;
    } else {
      keys = static_cast<const float*>(kv.keys) + c * p.kv_stride + g * p.head_stride;
      values = static_cast<const float*>(kv.values) + c * p.kv_stride + g * p.head_stride;
      stride = p.kv_stride;
    }
    kern.score_tile(sc.q.data(), rows, keys, n, stride, hd, sc.s.data(), kKeyChunk);
    for (int64_t r = 0; r < rows; ++r) {
      float* srow = sc.s.data() + r * kKeyChunk;
      const int64_t pos = pos0 + t0 + r / p.group;
      const int64_t valid = std::clamp<int64_t>(pos + 1 - c, 0, n);  // causal mask within the chunk
      std::fill(srow + valid, srow + n, 0.0f);
      if (valid == 0) continue;
      RowState& st = sc.state[static_cast<size_t>(r)];
      const float m_new = std::max(st.m, *std::max_element(srow, srow + valid));
      const float alpha = std::exp(st.m - m_new);  // 0 on the first chunk (m = -inf)
      if (alpha != 1.0f) {
        float* orow = sc.o.data() + r * hd;
        for (int64_t i = 0; i < hd; ++i) orow[i] *= alpha;
      }
      st.l = st.l * alpha + kern.exp_shift_sum(srow, valid, m_new);
      st.m = m_new;
    }
    kern.pv_tile(sc.s.data(), rows, kKeyChunk, values, n, stride, hd, sc.o.data());
  }
}

}  // namespace

void attention_causal(const float* q, const KvRows& kv, float* out, int64_t n_tokens, int64_t pos0,
                      const AttentionShape& s, ThreadPool& pool) {
  if (s.n_heads <= 0 || s.n_kv_heads <= 0 || s.head_dim <= 0 || s.n_heads % s.n_kv_heads != 0)
    throw ArgumentError(
        "attention", fmt::format("bad shape: {} heads, {} kv heads, head_dim {}", s.n_heads, s.n_kv_heads, s.head_dim));
  if (kv.type != DType::F32 && kv.type != DType::F16)
    throw ArgumentError("attention", fmt::format("KV cache type {} is not F32 or F16", dtype_name(kv.type)));
  if (n_tokens <= 0) return;
  const detail::AttentionKernels& kern = kernels();
  Plan p;
  p.s = s;
  p.group = s.n_heads / s.n_kv_heads;
  p.block_tokens = std::max<int64_t>(1, kRowsPerTask / p.group);
  p.n_blocks = (n_tokens + p.block_tokens - 1) / p.block_tokens;
  p.q_stride = s.n_heads * s.head_dim;
  p.kv_stride = kv.position_stride > 0 ? kv.position_stride : s.n_kv_heads * s.head_dim;
  p.head_stride = kv.head_stride > 0 ? kv.head_stride : s.head_dim;
  p.scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  const int64_t n_keys = pos0 + n_tokens;
  // Few (block, head) tasks for the threads (decode): split the keys into segments too.
  const int64_t base_tasks = p.n_blocks * s.n_kv_heads;
  const int64_t want_tasks = 4 * static_cast<int64_t>(pool.size());
  p.n_segments = 1;
  if (base_tasks < want_tasks)
    p.n_segments = std::min((want_tasks + base_tasks - 1) / base_tasks, std::max<int64_t>(1, n_keys / kMinSegmentKeys));
  p.segment_keys = ((n_keys + p.n_segments - 1) / p.n_segments + kKeyChunk - 1) / kKeyChunk * kKeyChunk;
  p.n_segments = (n_keys + p.segment_keys - 1) / p.segment_keys;

  const int64_t hd = s.head_dim;
  const int64_t n_tasks = base_tasks * p.n_segments;
  // Partial states of split tasks: [task][row] state and [task][row][hd] output (decode-sized only).
  const int64_t rows_per_task = p.block_tokens * p.group;
  std::vector<RowState> part_state;
  std::vector<float> part_out;
  if (p.n_segments > 1) {
    part_state.resize(static_cast<size_t>(n_tasks * rows_per_task));
    part_out.resize(static_cast<size_t>(n_tasks * rows_per_task * hd));
  }

  std::atomic<int64_t> next{0};
  auto worker = [&](int, int) {
    thread_local TaskScratch sc;
    for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < n_tasks;
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      // Latest blocks (most keys) first.
      const int64_t block = p.n_blocks - 1 - i / (s.n_kv_heads * p.n_segments);
      const int64_t g = (i / p.n_segments) % s.n_kv_heads, seg = i % p.n_segments;
      const int64_t kb = seg * p.segment_keys, ke = std::min(n_keys, kb + p.segment_keys);
      run_tile(p, kern, q, kv, pos0, n_tokens, block, g, kb, ke, sc);
      const int64_t t0 = block * p.block_tokens, rows = static_cast<int64_t>(sc.state.size());
      if (p.n_segments == 1) {
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t t = t0 + r / p.group, h = g * p.group + r % p.group;
          const float inv = 1.0f / sc.state[static_cast<size_t>(r)].l;
          const float* o = sc.o.data() + r * hd;
          float* dst = out + t * p.q_stride + h * hd;
          for (int64_t d = 0; d < hd; ++d) dst[d] = o[d] * inv;
        }
      } else {
        std::copy(sc.state.begin(), sc.state.end(), part_state.begin() + i * rows_per_task);
        std::copy(sc.o.begin(), sc.o.end(), part_out.begin() + i * rows_per_task * hd);
      }
    }
  };
  // Work ~ tokens * heads * keys * head_dim; small problems stay on the calling thread.
  const int64_t work = n_tokens * s.n_heads * n_keys * hd;
  if (work < (int64_t{1} << 15) || pool.size() == 1)
    worker(0, 1);
  else
    pool.run_claimed(worker);  // tasks are claimed from `next`: a descheduled worker cannot stall it
  if (p.n_segments == 1) return;

  // Merge segment partials: o = sum_s exp(m_s - M) o_s / sum_s exp(m_s - M) l_s.
  std::vector<float> acc(static_cast<size_t>(hd));
  for (int64_t block = 0; block < p.n_blocks; ++block) {
    const int64_t t0 = block * p.block_tokens, t1 = std::min(n_tokens, t0 + p.block_tokens);
    for (int64_t g = 0; g < s.n_kv_heads; ++g) {
      const int64_t first = ((p.n_blocks - 1 - block) * s.n_kv_heads + g) * p.n_segments;
      for (int64_t r = 0; r < (t1 - t0) * p.group; ++r) {
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t seg = 0; seg < p.n_segments; ++seg)
          m = std::max(m, part_state[static_cast<size_t>((first + seg) * rows_per_task + r)].m);
        float l = 0.0f;
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t seg = 0; seg < p.n_segments; ++seg) {
          const RowState& st = part_state[static_cast<size_t>((first + seg) * rows_per_task + r)];
          if (st.l == 0.0f) continue;  // segment past this row's causal end
          const float w = std::exp(st.m - m);
          l += w * st.l;
          const float* o = part_out.data() + ((first + seg) * rows_per_task + r) * hd;
          for (int64_t d = 0; d < hd; ++d) acc[static_cast<size_t>(d)] += w * o[d];
        }
        const int64_t t = t0 + r / p.group, h = g * p.group + r % p.group;
        float* dst = out + t * p.q_stride + h * hd;
        for (int64_t d = 0; d < hd; ++d) dst[d] = acc[static_cast<size_t>(d)] / l;
      }
    }
  }
}

void f32_to_f16_rows(const float* src, uint16_t* dst, int64_t n) {
  kernels().f32_to_f16(src, dst, n);
}

}  // namespace flame
