// `flame version`: build and CPU facts, useful in bug reports and benchmark records.
#include <fmt/format.h>

#include "command.h"
#include "flame/core/cpu.h"

namespace {
flame::cli::Registration reg{"version", "Print version, build and CPU features", [](CLI::App&) {
                               return [] {
                                 const auto& c = flame::cpu();
                                 fmt::print(
                                     "flame 0.1.0\ncompiler: g++ {}\ncpu: avx2={} fma={} f16c={} physical_cores={}\n",
                                     __VERSION__, c.avx2, c.fma, c.f16c, flame::physical_cores());
                                 return 0;
                               };
                             }};
}
