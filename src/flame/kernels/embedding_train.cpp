#include "flame/kernels/embedding_train.h"

#include <cstring>

namespace flame {

void embedding_forward(const float* table, const uint32_t* tokens, float* x, int64_t N, int64_t C, ThreadPool& pool) {
  pool.parallel_for(N, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) std::memcpy(x + n * C, table + int64_t(tokens[n]) * C, sizeof(float) * C);
  });
}

void embedding_backward(const float* dx, const uint32_t* tokens, float* dtable, int64_t N, int64_t C,
                        ThreadPool& pool) {
  pool.parallel_for(
      C,
      [&](int64_t cb, int64_t ce) {
        for (int64_t n = 0; n < N; ++n) {
          float* dst = dtable + int64_t(tokens[n]) * C;
          const float* src = dx + n * C;
          for (int64_t c = cb; c < ce; ++c) dst[c] += src[c];
        }
      },
      16);
}

}  // namespace flame
