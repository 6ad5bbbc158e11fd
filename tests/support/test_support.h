#pragma once
// Helpers shared by tests: where the sources and a scratch folder are, and running the CLI or
// Debian's Python (/usr/bin/python3, which has torch and numpy) as independent references.
#include <cstdint>
#include <string>
#include <vector>

namespace flame::test {

std::string source_dir();
// A fresh-or-existing folder under the build tree: <build>/tests/scratch/shard<N>/<name>.
std::string scratch_dir(const std::string& name);

struct CommandResult {
  int exit_code;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs a shell command line, capturing stdout and stderr.
CommandResult run_command(const std::string& command_line);
// Runs `flame <args>` (args already shell-quoted as needed).
CommandResult run_cli(const std::string& args);
// Runs /usr/bin/python3 <source_dir>/<script> <args>; throws with stderr if it fails.
std::string run_python(const std::string& script, const std::string& args);
std::string shell_quote(const std::string& s);

// n seeded N(0, scale^2) floats (std::mt19937 + std::normal_distribution: the same for a seed).
std::vector<float> gaussian(int64_t n, uint32_t seed, float scale = 1.0f);

}  // namespace flame::test
