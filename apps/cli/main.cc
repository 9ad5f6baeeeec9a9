// ember — command-line front end. Subcommands live in cmd_*.cc files.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>

#include "command.h"
#include "ember/error.hpp"

namespace ember::cli {

std::vector<RegisteredCommand>& registered_commands() {
  static std::vector<RegisteredCommand> commands;
  return commands;
}

Command::Command(const char* name, Setup setup) { registered_commands().push_back({name, std::move(setup)}); }

}  // namespace ember::cli

int main(int argc, char** argv) {
  CLI::App app{"ember — a Gemma 4 inference engine"};
  app.require_subcommand(1);
  auto& cmds = ember::cli::registered_commands();
  std::sort(cmds.begin(), cmds.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::map<std::string, std::function<int()>> runners;
  for (auto& c : cmds) runners[c.name] = c.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto* sub : app.get_subcommands()) return runners.at(sub->get_name())();
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "ember: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember: unexpected error: %s\n", e.what());
    return 2;
  }
  return 0;
}
