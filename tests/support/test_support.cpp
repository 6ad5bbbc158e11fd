#include "support/test_support.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace flame::test {

std::string source_dir() {
  return FLAME_SOURCE_DIR;
}

std::string scratch_dir(const std::string& name) {
  // ctest runs the gtest shards as parallel processes: each shard gets its own tree, so two tests
  // that build the same fixture files in different shards never race on them.
  const char* shard = std::getenv("GTEST_SHARD_INDEX");
  const auto dir = std::filesystem::path(FLAME_TEST_SCRATCH) / (std::string("shard") + (shard ? shard : "0")) / name;
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::vector<float> gaussian(int64_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

CommandResult run_command(const std::string& command_line) {
  const auto dir = std::filesystem::path(FLAME_TEST_SCRATCH) / "cmd";
  std::filesystem::create_directories(dir);
  static int counter = 0;
  const auto err_path = dir / ("stderr." + std::to_string(::getpid()) + "." + std::to_string(counter++));
  const std::string full = command_line + " 2>" + shell_quote(err_path.string());
  FILE* pipe = ::popen(full.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed: " + command_line);
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = ::pclose(pipe);
  std::ifstream err_file(err_path);
  std::stringstream err;
  err << err_file.rdbuf();
  std::filesystem::remove(err_path);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return {code, out, err.str()};
}

CommandResult run_cli(const std::string& args) {
  return run_command(shell_quote(FLAME_CLI_PATH) + " " + args);
}

std::string run_python(const std::string& script, const std::string& args) {
  auto r = run_command("/usr/bin/python3 " + shell_quote(source_dir() + "/" + script) + " " + args);
  if (r.exit_code != 0)
    throw std::runtime_error("python " + script + " failed (" + std::to_string(r.exit_code) + "): " + r.err);
  return r.out;
}

}  // namespace flame::test
