// `ember gguf-dump FILE [--tensors]`: a GGUF file's header, metadata and (optionally) tensor
// table, for debugging loaders. Long arrays are abbreviated.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "command.h"
#include "io/gguf.h"
#include "quant/gguf_types.h"

namespace {

struct Options {
  std::string file;
  bool tensors = false;
};

int dump(const Options& o) {
  auto f = ember::GgufFile::open(o.file);
  std::printf("%s: GGUF v%u, %zu metadata keys, %zu tensors, alignment %u, data at byte %llu\n",
              o.file.c_str(), f->version(), f->metadata().size(), f->tensors().size(), f->alignment(),
              (unsigned long long)f->data_offset());
  for (const auto& [key, v] : f->metadata())
    std::printf("  %-44s %-7s %s\n", key.c_str(), ember::gguf_value_type_name(v.type), v.to_string().c_str());
  std::map<std::string, std::pair<int, size_t>> by_type;  // type -> (count, bytes)
  for (const auto& t : f->tensors()) {
    auto& e = by_type[t.type_name()];
    e.first++;
    e.second += t.nbytes;
  }
  std::printf("tensor types:");
  for (const auto& [name, e] : by_type)
    std::printf(" %s x%d (%.1f MiB)", name.c_str(), e.first, e.second / 1048576.0);
  std::printf("\n");
  if (o.tensors) {
    std::printf("  %-40s %-6s %-20s %12s %12s\n", "name", "type", "ne (ggml order)", "offset", "bytes");
    for (const auto& t : f->tensors())
      std::printf("  %-40s %-6s %-20s %12llu %12zu\n", t.name.c_str(), t.type_name().c_str(),
                  t.shape_str().c_str(), (unsigned long long)t.offset, t.nbytes);
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
