#include <CLI/CLI.hpp>
#include <cstdio>

#include "command.h"

namespace {
ember::cli::Command version_cmd("version", [](CLI::App& app) {
  app.add_subcommand("version", "Print the ember version");
  return [] {
    std::printf("ember 0.1.0\n");
    return 0;
  };
});
}  // namespace
