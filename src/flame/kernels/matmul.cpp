// y[m,n] = x[m,k] . W[n,k]^T for F32/F16/BF16 weights; other types go to matmul_quant.
//
// Decode (m < kGemmMinRows) is bandwidth-bound: every weight row is streamed once and dotted with
// the m input rows (AVX2+FMA+F16C), rows split over the pool. Prompt processing (m >= kGemmMinRows)
// is compute-bound: each thread converts tiles of its rows to f32 and calls single-threaded
// OpenBLAS sgemm, so the pool (not OpenBLAS) owns the cores and the split stays deterministic.
#include "flame/kernels/matmul.h"

#include <cblas.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "flame/core/cpu.h"
#include "flame/core/error.h"
#include "flame/core/half.h"
#include "flame/kernels/matmul_detail.h"
#include "flame/kernels/quant.h"
#include "flame/kernels/quant_blocks.h"
#include "flame/kernels/quant_decode.h"
#include "flame/kernels/row_schedule.h"

extern "C" void openblas_set_num_threads(int num_threads);

namespace flame {
namespace detail {

void gemv_rows_scalar(DType type, const void* weights, size_t row_stride, const float* x, float* y, int64_t m,
                      int64_t k, int64_t ldy, int64_t row_begin, int64_t row_end) {
  std::vector<float> w(static_cast<size_t>(k));
  for (int64_t r = row_begin; r < row_end; ++r) {
    rows_to_f32_scalar(type, static_cast<const uint8_t*>(weights) + static_cast<size_t>(r) * row_stride, row_stride,
                       w.data(), 1, k);
    for (int64_t i = 0; i < m; ++i) {
      float acc = 0.0f;
      for (int64_t j = 0; j < k; ++j) acc += x[i * k + j] * w[j];
      y[i * ldy + r] = acc;
    }
  }
}

void rows_to_f32_scalar(DType type, const void* weights, size_t row_stride, float* dst, int64_t rows, int64_t k) {
  for (int64_t r = 0; r < rows; ++r) {
    const auto* row = static_cast<const uint8_t*>(weights) + static_cast<size_t>(r) * row_stride;
    float* d = dst + r * k;
    if (type == DType::F32) {
      const float* w = reinterpret_cast<const float*>(row);
      std::copy(w, w + k, d);
    } else if (type == DType::F16) {
      const uint16_t* w = reinterpret_cast<const uint16_t*>(row);
      for (int64_t j = 0; j < k; ++j) d[j] = f16_to_f32(w[j]);
    } else {
      const uint16_t* w = reinterpret_cast<const uint16_t*>(row);
      for (int64_t j = 0; j < k; ++j) d[j] = bf16_to_f32(w[j]);
    }
  }
}

}  // namespace detail

namespace {

// Products smaller than this many multiply-adds run on the calling thread: waking the pool costs
// more than the work (and much more on a loaded machine).
constexpr int64_t kMinParallelWork = int64_t{1} << 16;

template <class Fn>
void split_rows(ThreadPool& pool, int64_t n, int64_t work, Fn&& fn) {
  if (work < kMinParallelWork)
    fn(int64_t{0}, n);
  else
    pool.parallel_for(n, fn, 16);
}

// Below this many input rows the weights are streamed row by row (each row reused m times from L1).
constexpr int64_t kGemmMinRows = 8;
// The shortest run of rows a decode thread claims (row_schedule.h), in weight bytes.
constexpr size_t kMinRunBytes = size_t{64} << 10;

bool use_avx2() {
  return cpu().has_avx2_fma() && !force_scalar();
}

void gemm_rows(DType type, const void* weights, size_t row_stride, const float* x, float* y, int64_t m, int64_t k,
               int64_t n, int64_t row_begin, int64_t row_end) {
  const auto* base = static_cast<const uint8_t*>(weights);
  if (type == DType::F32) {  // rows are already floats: no conversion tile needed
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(row_end - row_begin),
                static_cast<int>(k), 1.0f, x, static_cast<int>(k),
                reinterpret_cast<const float*>(base + static_cast<size_t>(row_begin) * row_stride),
                static_cast<int>(row_stride / sizeof(float)), 0.0f, y + row_begin, static_cast<int>(n));
    return;
  }
  // A tile of about 2 MB of converted rows stays in L2/L3 while sgemm uses it.
  const int64_t tile = std::clamp<int64_t>((int64_t{2} << 20) / (k * 4), 16, 512);
  thread_local std::vector<float> buffer;
  buffer.resize(static_cast<size_t>(tile * k));
  const bool fast = use_avx2();
  for (int64_t r0 = row_begin; r0 < row_end; r0 += tile) {
    const int64_t rows = std::min(tile, row_end - r0);
    const void* src = base + static_cast<size_t>(r0) * row_stride;
    if (fast)
      detail::rows_to_f32_avx2(type, src, row_stride, buffer.data(), rows, k);
    else
      detail::rows_to_f32_scalar(type, src, row_stride, buffer.data(), rows, k);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(rows),
                static_cast<int>(k), 1.0f, x, static_cast<int>(k), buffer.data(), static_cast<int>(k), 0.0f, y + r0,
                static_cast<int>(n));
  }
}

bool all_block_quantized(std::initializer_list<MatmulOutput> products) {
  for (const auto& p : products) {
    const quant::Kernels* kern = quant::find_kernels(p.weight.dtype());
    if (!kern || !kern->dot_scalar || p.weight.ndim() != 2) return false;
  }
  return true;
}

}  // namespace

void use_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

void matmul(const Tensor& weight, const float* x, float* y, int64_t m, ThreadPool& pool) {
  if (weight.ndim() != 2)
    throw ArgumentError("matmul", fmt::format("weight must be 2-D, got shape {}", shape_str(weight.shape())));
  if (m <= 0) return;
  const DType type = weight.dtype();
  if (type != DType::F32 && type != DType::F16 && type != DType::BF16) {
    matmul_quant(weight, x, y, m, pool);
    return;
  }
  const int64_t n = weight.dim(0), k = weight.dim(1);
  const size_t stride = weight.row_bytes();
  const void* w = weight.data();
  const int64_t work = m * n * k;
  if (force_scalar()) {  // the oracle: plain loops for every m
    split_rows(pool, n, work,
               [&](int64_t b, int64_t e) { detail::gemv_rows_scalar(type, w, stride, x, y, m, k, n, b, e); });
    return;
  }
  if (m < kGemmMinRows) {
    matmul_shared_input({{weight, y}}, x, m, pool);
    return;
  }
  use_single_threaded_blas();
  pool.parallel_for(
      n, [&](int64_t b, int64_t e) { gemm_rows(type, w, stride, x, y, m, k, n, b, e); }, 16);
}

void matmul_shared_input(std::initializer_list<MatmulOutput> products, const float* x, int64_t m, ThreadPool& pool) {
  bool streamable = m < kGemmMinRows && !force_scalar();
  int64_t k = -1, total_rows = 0;
  for (const auto& p : products) {
    const DType t = p.weight.dtype();
    streamable &= p.weight.ndim() == 2 && (t == DType::F32 || t == DType::F16 || t == DType::BF16);
    if (p.weight.ndim() == 2) {
      if (k >= 0 && p.weight.dim(1) != k)
        throw ArgumentError("matmul_shared_input", fmt::format("weights disagree on k: {} vs {}", k, p.weight.dim(1)));
      k = p.weight.dim(1);
      total_rows += p.weight.dim(0);
    }
  }
  if (!streamable) {
    if (m < kGemmMinRows && all_block_quantized(products)) {  // quantized decode: one pool call for all
      std::vector<detail::QuantProduct> quant_products;
      for (const auto& p : products) quant_products.push_back({&p.weight, p.y});
      detail::matmul_quant_decode(quant_products.data(), quant_products.size(), x, m, pool);
      return;
    }
    for (const auto& p : products) matmul(p.weight, x, p.y, m, pool);  // prompt or oracle: one at a time
    return;
  }
  // Decode: rows of every weight form one schedule of runs (row_schedule.h) that threads claim.
  struct Segment {
    const Tensor* weight;
    float* y;
  };
  std::vector<Segment> segments;
  RowSchedule schedule(pool.size(), kMinRunBytes, 8);
  for (const auto& p : products) {
    segments.push_back({&p.weight, p.y});
    schedule.add(p.weight.dim(0), p.weight.row_bytes());
  }
  const bool fast = use_avx2();
  auto work = [&](int, int) {
    for (RowSchedule::Run run; schedule.next(run);) {
      const Segment& s = segments[run.segment];
      const int64_t n = s.weight->dim(0);
      if (fast)
        detail::gemv_rows_avx2(s.weight->dtype(), s.weight->data(), s.weight->row_bytes(), x, s.y, m, k, n, run.begin,
                               run.end);
      else
        detail::gemv_rows_scalar(s.weight->dtype(), s.weight->data(), s.weight->row_bytes(), x, s.y, m, k, n, run.begin,
                                 run.end);
    }
  };
  if (m * total_rows * k < kMinParallelWork)
    work(0, 1);
  else
    pool.run_claimed(work);
}

}  // namespace flame
