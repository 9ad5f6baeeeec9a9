// `ember gguf-dump FILE [--tensors]`: a GGUF file's header, metadata and (optionally) tensor
// table, for debugging loaders. Long arrays are abbreviated.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "command.h"
#include "ember/inspect.hpp"

namespace {

struct Options {
  std::string file;
  bool tensors = false;
};

int dump(const Options& o) {
  const ember::GgufReport f = ember::read_gguf_report(o.file);
  std::printf("%s: GGUF v%u, %zu metadata keys, %zu tensors, alignment %u, data at byte %llu\n",
              o.file.c_str(), f.version, f.metadata.size(), f.tensors.size(), f.alignment,
              (unsigned long long)f.data_offset);
  for (const auto& m : f.metadata)
    std::printf("  %-44s %-7s %s\n", m.key.c_str(), m.type.c_str(), m.value.c_str());
  std::map<std::string, std::pair<int, uint64_t>> by_type;  // type -> (count, bytes)
  for (const auto& t : f.tensors) {
    auto& e = by_type[t.type];
    e.first++;
    e.second += t.bytes;
  }
  std::printf("tensor types:");
  for (const auto& [name, e] : by_type)
    std::printf(" %s x%d (%.1f MiB)", name.c_str(), e.first, double(e.second) / 1048576.0);
  std::printf("\n");
  if (o.tensors) {
    std::printf("  %-40s %-6s %-20s %12s %12s\n", "name", "type", "ne (ggml order)", "offset", "bytes");
    for (const auto& t : f.tensors)
      std::printf("  %-40s %-6s %-20s %12llu %12llu\n", t.name.c_str(), t.type.c_str(), t.shape.c_str(),
                  (unsigned long long)t.offset, (unsigned long long)t.bytes);
  }
  return 0;
}

ember::cli::Command gguf_dump_cmd("gguf-dump", [](CLI::App& app) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand("gguf-dump", "Print a GGUF file's metadata and tensor table");
  sub->add_option("file", opts->file, "the .gguf file")->required();
  sub->add_flag("--tensors", opts->tensors, "also list every tensor");
  return [opts] { return dump(*opts); };
});

}  // namespace
