#include "flame/kernels/rope_train.h"

#include <algorithm>

namespace flame {
namespace {
// Rows [b, e) of the flattened [B*T] positions, cut where sequences end so each piece has
// consecutive positions.
void rotate(float* x, const RopeTable& table, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim, bool inverse,
            ThreadPool& pool) {
  const int64_t row = n_heads * head_dim;
  pool.parallel_for(B * T, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e;) {
      const int64_t pos = r % T, len = std::min(e - r, T - pos);
      rope_apply(x + r * row, len, n_heads, head_dim, table, pos, inverse);
      r += len;
    }
  });
}
}  // namespace

void rope_forward(float* x, const RopeTable& table, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                  ThreadPool& pool) {
  rotate(x, table, B, T, n_heads, head_dim, false, pool);
}

void rope_backward(float* dx, const RopeTable& table, int64_t B, int64_t T, int64_t n_heads, int64_t head_dim,
                   ThreadPool& pool) {
  rotate(dx, table, B, T, n_heads, head_dim, true, pool);
}

}  // namespace flame
