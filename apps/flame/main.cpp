// flame: thin CLI over libflame. Parsing and exit codes only; the work is in the library.
#include <algorithm>
#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "command.h"
#include "flame/core/error.h"
#include "flame/core/thread_pool.h"

namespace flame::cli {

std::vector<CommandSpec>& registry() {
  static std::vector<CommandSpec> commands;
  return commands;
}

Registration::Registration(std::string name, std::string description, Setup setup) {
  registry().push_back({std::move(name), std::move(description), std::move(setup)});
}

void add_threads_option(CLI::App& app, int& threads) {
  app.add_option("-t,--threads", threads, "Threads (default: physical cores)")->check(CLI::Range(0, 1024));
}

void apply_threads(int threads) {
  ThreadPool::set_global_threads(threads);
}

}  // namespace flame::cli

int main(int argc, char** argv) {
  using namespace flame::cli;
  CLI::App app{"flame: run, train and study Llama-architecture language models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "flame 0.1.0");
  auto commands = registry();
  std::sort(commands.begin(), commands.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::map<CLI::App*, Runner> runners;
  for (auto& spec : commands) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    runners[sub] = spec.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, runner] : runners)
      if (sub->parsed()) return runner();
  } catch (const flame::Error& e) {
    fmt::print(stderr, "flame: error: {}\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "flame: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "flame: error: {}\n", e.what());
    return 1;
  }
  return 2;
}
