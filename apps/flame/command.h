#pragma once
// Subcommand registry. Each cmd_<name>.cpp defines one subcommand and registers it at static-init
// time, so adding a subcommand touches no shared file:
//
//   static flame::cli::Registration reg{"info", "Show a model's architecture and tensors",
//     [](CLI::App& app) {
//       auto opts = std::make_shared<Options>();
//       app.add_option("-m,--model", opts->model)->required();
//       return [opts] { return run_info(*opts); };  // returns the process exit code
//     }};
//
// Exit codes: 0 success, 1 a flame::Error (message on stderr), 2 bad usage (CLI11), 130 interrupted.
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace flame::cli {

using Runner = std::function<int()>;
using Setup = std::function<Runner(CLI::App&)>;

struct Registration {
  Registration(std::string name, std::string description, Setup setup);
};

struct CommandSpec {
  std::string name, description;
  Setup setup;
};
std::vector<CommandSpec>& registry();

// Adds `-t,--threads` to a subcommand and applies it before the command runs.
void add_threads_option(CLI::App& app, int& threads);
void apply_threads(int threads);

}  // namespace flame::cli
