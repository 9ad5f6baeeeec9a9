// Subcommand registry of the `ember` CLI. Each cmd_*.cc registers itself with a static
// Command object, so adding a subcommand touches only its own file.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI { class App; }

namespace ember::cli {

struct Command {
  // setup adds the subcommand to the app and returns a function to run when it is chosen;
  // that function returns the process exit code.
  using Setup = std::function<std::function<int()>(CLI::App& app)>;
  Command(const char* name, Setup setup);
};

struct RegisteredCommand {
  std::string name;
  Command::Setup setup;
};
std::vector<RegisteredCommand>& registered_commands();

}  // namespace ember::cli
