// Decode products with block-quantized weights (see quant_decode.h).
//
// Rows are handed out in runs by a RowSchedule (row_schedule.h): long runs of consecutive rows
// first, so the hardware prefetcher keeps streaming, then shorter ones, so the threads finish
// together; on a shared or noisy machine a descheduled thread holds back only its current run.
// Weights packed at load into the interleaved 8-row layout (quant_x8_tensor.h) are read only in that
// form, a run of whole groups per kernel call; other weights row by row, or 4 rows at a time where a
// 4-row kernel reads each activation block once for all 4.
#include "flame/kernels/quant_decode.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_x8.h"
#include "flame/kernels/quant_x8_tensor.h"
#include "flame/kernels/row_schedule.h"

namespace flame::detail {
namespace {

// The shortest run of rows a thread claims (row_schedule.h), in weight bytes.
constexpr size_t kMinRunBytes = size_t{64} << 10;
constexpr int kMaxActTypes = 2;  // Q8_0 and Q8_K

struct Segment {
  const quant::Kernels* kern;
  const uint8_t* w;
  size_t w_row_bytes;
  int64_t n;
  float* y;
  const uint8_t* act;  // m quantized rows of act_row_bytes
  size_t act_row_bytes;
  const X8Weight* x8;                 // the interleaved form, read instead of w when set
  quant::x8::GroupDotFn group_dot;    // its kernels: one group,
  quant::x8::GroupsDotFn groups_dot;  // a run of groups
};

// Grow-only scratch for the quantized activations, one per calling thread.
std::vector<uint8_t>& activation_scratch() {
  thread_local std::vector<uint8_t> buffer;
  return buffer;
}

void check_weight(const Tensor& weight) {
  const quant::Kernels* kern = quant::find_kernels(weight.dtype());
  if (!kern || !kern->dot_scalar)
    throw UnsupportedError(
        fmt::format("matmul: {} is an activation type, not a weight type", dtype_name(weight.dtype())));
  if (weight.ndim() != 2)
    throw ArgumentError("matmul", fmt::format("weight must be 2-D, got {}", shape_str(weight.shape())));
  const int64_t k = weight.dim(1);
  if (k % dtype_info(kern->act_type).block_size != 0 || k % dtype_info(weight.dtype()).block_size != 0)
    throw ArgumentError("matmul", fmt::format("inner dimension {} is not a multiple of the {} block size", k,
                                              dtype_name(weight.dtype())));
}

quant::QuantizeFn activation_quantizer(DType act_type) {
  if (!force_scalar() && cpu().has_avx2_fma()) {
    if (act_type == DType::Q8_0) return quant::quantize_q8_0_avx2;
    if (act_type == DType::Q8_K) return quant::quantize_q8_k_avx2;
  }
  return quant::kernels(act_type).quantize;
}

// Rows [begin, end) from the x8 groups; begin and end are multiples of 8 (n is, and runs are).
void run_groups(const Segment& s, int64_t m, int64_t k, int64_t begin, int64_t end) {
  if (m == 1) return s.groups_dot(k, s.x8->group(begin / 8), (end - begin) / 8, s.act, s.y + begin);
  // Several activation rows: each group is read once from memory for all of them.
  float out[quant::x8::kRows];
  for (int64_t g = begin / 8; g < end / 8; ++g) {
    const uint8_t* group = s.x8->group(g);
    for (int64_t i = 0; i < m; ++i) {
      s.group_dot(k, group, s.act + i * s.act_row_bytes, out);
      std::copy(out, out + 8, s.y + i * s.n + 8 * g);
    }
  }
}

void run_rows(const Segment& s, int64_t m, int64_t k, int64_t begin, int64_t end) {
  if (s.x8) return run_groups(s, m, k, begin, end);
  int64_t r = begin;
  if (const quant::Dot4Fn dot4 = quant::dot4_kernel(s.kern->type)) {
    float out[4];
    for (; r + 4 <= end; r += 4) {
      const uint8_t* wr = s.w + r * s.w_row_bytes;
      for (int64_t i = 0; i < m; ++i) {
        dot4(k, wr, s.w_row_bytes, s.act + i * s.act_row_bytes, out);
        for (int j = 0; j < 4; ++j) s.y[i * s.n + r + j] = out[j];
      }
    }
  }
  const quant::DotFn dot = s.kern->dot();
  for (; r < end; ++r) {
    const uint8_t* wr = s.w + r * s.w_row_bytes;
    for (int64_t i = 0; i < m; ++i) s.y[i * s.n + r] = dot(k, wr, s.act + i * s.act_row_bytes);
  }
}

}  // namespace

void matmul_quant_decode(const QuantProduct* products, size_t count, const float* x, int64_t m, ThreadPool& pool) {
  if (count == 0 || m <= 0) return;
  int64_t k = -1;
  for (size_t p = 0; p < count; ++p) {
    check_weight(*products[p].weight);
    const int64_t pk = products[p].weight->dim(1);
    if (k >= 0 && pk != k) throw ArgumentError("matmul", fmt::format("weights disagree on k: {} vs {}", k, pk));
    k = pk;
  }

  // Quantize the m input rows once per activation type on the calling thread (a pool round-trip
  // costs more than this work).
  DType act_types[kMaxActTypes];
  size_t act_offset[kMaxActTypes];
  int n_act = 0;
  size_t act_bytes = 0;
  for (size_t p = 0; p < count; ++p) {
    const DType t = quant::kernels(products[p].weight->dtype()).act_type;
    if (std::find(act_types, act_types + n_act, t) != act_types + n_act) continue;
    act_types[n_act] = t;
    act_offset[n_act++] = act_bytes;
    act_bytes += row_bytes(t, k) * static_cast<size_t>(m);
  }
  auto& scratch = activation_scratch();
  if (scratch.size() < act_bytes) scratch.resize(act_bytes);
  for (int a = 0; a < n_act; ++a) {
    const size_t arb = row_bytes(act_types[a], k);
    const quant::QuantizeFn quantize = activation_quantizer(act_types[a]);
    for (int64_t i = 0; i < m; ++i) quantize(x + i * k, scratch.data() + act_offset[a] + i * arb, k);
  }

  std::vector<Segment> segments;  // small: at most a few products
  segments.reserve(count);
  RowSchedule schedule(pool.size(), kMinRunBytes, quant::x8::kRows);
  for (size_t p = 0; p < count; ++p) {
    const Tensor& wt = *products[p].weight;
    const quant::Kernels& kern = quant::kernels(wt.dtype());
    const int a = static_cast<int>(std::find(act_types, act_types + n_act, kern.act_type) - act_types);
    const int64_t n = wt.dim(0);
    const X8Weight* x8 = x8_weight(wt);
    segments.push_back({&kern, static_cast<const uint8_t*>(wt.data()), wt.row_bytes(), n, products[p].y,
                        scratch.data() + act_offset[a], row_bytes(kern.act_type, k), x8,
                        x8 ? quant::x8::group_dot(wt.dtype()) : nullptr,
                        x8 ? quant::x8::groups_dot(wt.dtype()) : nullptr});
    schedule.add(n, x8 ? x8->group_bytes / quant::x8::kRows : wt.row_bytes());
  }

  auto work = [&](int, int) {
    for (RowSchedule::Run run; schedule.next(run);) run_rows(segments[run.segment], m, k, run.begin, run.end);
  };
  pool.run_claimed(work);
}

}  // namespace flame::detail

namespace flame::quant {

Dot4Fn dot4_kernel(DType type) {
  if (force_scalar() || !cpu().has_avx2_fma()) return nullptr;
  switch (type) {
    case DType::Q4_0:
      return dot4_q4_0_avx2;
    // Not Q8_0: its decode is memory-bound, and on a quiet machine the 4-row kernel
    // (removed) ran 5-8% slower than one row at a time: four short
    // streams prefetch worse than one long one.
    default:
      return nullptr;
  }
}

}  // namespace flame::quant
