#include "flame/train/init.h"

#include <cmath>
#include <string>

#include "flame/core/thread_pool.h"
#include "flame/train/data_loader.h"
#include "flame/train/hash.h"

namespace flame {

float hashed_normal(uint64_t key, uint64_t index) {
  const uint64_t a = mix64(key ^ mix64(2 * index)), b = mix64(key ^ mix64(2 * index + 1));
  const double u1 = (static_cast<double>(a >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
  const double u2 = static_cast<double>(b >> 11) * 0x1.0p-53;          // [0, 1)
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
}

void init_random(LlamaWeights& weights, uint64_t seed, double std) {
  const double residual_std = std / std::sqrt(2.0 * static_cast<double>(weights.config.n_layers));
  weights.for_each([&](const std::string& name, Tensor& t) {
    float* data = t.data<float>();
    const int64_t n = t.numel();
    if (t.ndim() == 1) {  // RMSNorm gains
      for (int64_t i = 0; i < n; ++i) data[i] = 1.0f;
      return;
    }
    const bool residual = name.find("attn_output") != std::string::npos || name.find("ffn_down") != std::string::npos;
    const double s = residual ? residual_std : std;
    const uint64_t key = fnv1a64(name.data(), name.size(), mix64(seed));
    ThreadPool::global().parallel_for(n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        data[i] = static_cast<float>(s * hashed_normal(key, static_cast<uint64_t>(i)));
    });
  });
}

}  // namespace flame
