#include "flame/core/cpu.h"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

namespace flame {
namespace {

std::atomic<bool> g_force_scalar{[] {
  const char* env = std::getenv("FLAME_FORCE_SCALAR");
  return env && env[0] == '1';
}()};

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  unsigned eax, ebx, ecx, edx;
  __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
  f.f16c = (ecx >> 29) & 1;
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu() {
  static const CpuFeatures detected = detect();
  static const CpuFeatures none{};
  return g_force_scalar.load(std::memory_order_relaxed) ? none : detected;
}

void set_force_scalar(bool force) { g_force_scalar.store(force); }
bool force_scalar() { return g_force_scalar.load(); }

int physical_cores() {
  std::set<std::pair<std::string, std::string>> cores;
  for (unsigned i = 0; i < 4096; ++i) {
    const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(i) + "/topology/";
    std::ifstream core(base + "core_id"), pkg(base + "physical_package_id");
    if (!core) break;
    std::string c, p;
    core >> c;
    pkg >> p;
    cores.emplace(p, c);
  }
  if (!cores.empty()) return static_cast<int>(cores.size());
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

}  // namespace flame
