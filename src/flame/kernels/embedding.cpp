#include "flame/kernels/embedding.h"

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/kernels/quant.h"

namespace flame {

void embedding_lookup(const Tensor& table, const int32_t* tokens, int64_t n, float* out) {
  if (table.ndim() != 2)
    throw ArgumentError("embedding", fmt::format("table must be 2-D, got {}", shape_str(table.shape())));
  const int64_t rows = table.dim(0), dim = table.dim(1);
  for (int64_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= rows)
      throw ArgumentError(
          "embedding", fmt::format("token id {} at position {} is outside the vocabulary [0, {})", tokens[t], t, rows));
    dequantize_row(table.dtype(), table.row<void>(tokens[t]), out + t * dim, dim);
  }
}

}  // namespace flame
