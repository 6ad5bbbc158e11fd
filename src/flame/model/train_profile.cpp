#include "flame/model/train_profile.h"

#include <atomic>

namespace flame {
namespace {
std::atomic<bool> g_enabled{false};
std::array<double, kTrainOpCount> g_seconds{};
constexpr const char* kNames[kTrainOpCount] = {
    "fwd embedding",     "fwd attn rmsnorm", "fwd q/k/v matmul",  "fwd rope",
    "fwd attention",     "fwd wo matmul",    "fwd ffn rmsnorm",   "fwd gate/up matmul",
    "fwd swiglu",        "fwd down matmul",  "fwd final rmsnorm", "classifier fwd+bwd (out proj + CE)",
    "bwd final rmsnorm", "bwd down matmul",  "bwd swiglu",        "bwd gate/up matmul",
    "bwd ffn rmsnorm",   "bwd wo matmul",    "bwd attention",     "bwd rope",
    "bwd q/k/v matmul",  "bwd attn rmsnorm", "bwd embedding",     "grad zero + reduce"};
}  // namespace

const char* train_op_name(TrainOp op) {
  return kNames[int(op)];
}
void train_profile_enable(bool on) {
  g_enabled = on;
}
bool train_profile_enabled() {
  return g_enabled.load(std::memory_order_relaxed);
}
void train_profile_reset() {
  g_seconds.fill(0.0);
}
const std::array<double, kTrainOpCount>& train_profile() {
  return g_seconds;
}
void train_profile_add(TrainOp op, double seconds) {
  g_seconds[int(op)] += seconds;
}

}  // namespace flame
