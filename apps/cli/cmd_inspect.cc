// `ember inspect MODEL_DIR [--tensors]`: architecture, derived layer structure, quantization
// summary and sizes of a Gemma 4 checkpoint; exits non-zero with the full problem report when
// the checkpoint is invalid (the error propagates to main, which prints it).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "command.h"
#include "ember/inspect.hpp"

namespace ember::cli {
namespace {

std::string human(uint64_t b) {
  char buf[32];
  if (b >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.2f GiB", double(b) / double(1ull << 30));
  else if (b >= (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.2f MiB", double(b) / double(1ull << 20));
  else if (b >= (1ull << 10))
    std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  return buf;
}

void print_architecture(const CheckpointReport& r) {
  for (const auto& [label, value] : r.summary) {
    const std::string l = label + ":";
    std::printf("%-*s%s\n", int(std::max<size_t>(14, l.size() + 1)), l.c_str(), value.c_str());
  }
}

void print_layers(const CheckpointReport& r) {
  if (r.layers.empty()) return;  // GGUF: the file declares no layer structure of its own
  std::printf("\nlayers:\n  %-5s %-8s %-8s %-5s %-10s %-9s %s\n", "idx", "type", "head_dim", "n_kv", "kv",
              "mlp", "layer_scalar");
  for (const auto& l : r.layers)
    std::printf("  %-5lld %-8s %-8lld %-5lld %-10s %-9lld %.4g\n", (long long)l.index, l.type.c_str(),
                (long long)l.head_dim, (long long)l.n_kv_heads, l.kv.c_str(), (long long)l.mlp_width,
                l.layer_scalar);
}

// "layers.3.mlp.gate_proj" -> "layers.*.mlp.gate_proj" (GGUF: "blk.3.x" -> "blk.*.x") (with a count per
// pattern), so the summary reads "which modules at which bits/group" instead of listing every layer.
std::map<std::string, int> collapse_layers(const std::vector<std::string>& names) {
  std::map<std::string, int> out;
  for (const auto& n : names) {
    std::string k = n;
    for (const std::string p : {"layers.", "blk."}) {  // safetensors / GGUF layer prefixes
      if (k.rfind(p, 0) != 0) continue;
      size_t dot = k.find('.', p.size());
      if (dot != std::string::npos) k = p + "*" + k.substr(dot);
    }
    out[k]++;
  }
  return out;
}

void print_storage(const CheckpointReport& r) {
  std::printf("\nstorage (weights by format; xN = number of layers):\n");
  for (const auto& [what, names] : r.storage) {
    std::printf("  %s (%zu tensors):\n", what.c_str(), names.size());
    std::string line;
    for (const auto& [k, n] : collapse_layers(names)) {
      std::string item = n > 1 ? k + " x" + std::to_string(n) : k;
      if (line.size() + item.size() > 100) std::printf("    %s\n", line.c_str()), line.clear();
      line += (line.empty() ? "" : ", ") + item;
    }
    if (!line.empty()) std::printf("    %s\n", line.c_str());
  }
  if (!r.quantization.empty()) std::printf("  config quantization: %s\n", r.quantization.c_str());
  std::printf("\nbytes:        total %s (used %s, ignored %s, skipped towers %s) in %zu file(s)\n",
              human(r.total_bytes).c_str(), human(r.used_bytes).c_str(), human(r.ignored_bytes).c_str(),
              human(r.skipped_bytes).c_str(), r.n_files);
  for (const auto& n : r.notes) std::printf("note: %s\n", n.c_str());
}

void print_tensors(const CheckpointReport& r) {
  std::printf("\ntensors:\n");
  for (const auto& t : r.tensors)
    std::printf("  %-8s %-60s %-5s %-18s %s\n", t.status.c_str(), t.key.c_str(), t.dtype.c_str(),
                t.shape.c_str(), t.role.c_str());
}

struct Args {
  std::string dir;
  bool tensors = false;
};

Command inspect_cmd("inspect", [](CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand(
      "inspect", "Check a Gemma 4 checkpoint and describe it (a .gguf: its metadata and tensors)");
  sub->add_option("MODEL_DIR", args->dir, "checkpoint directory (config.json + safetensors) or .gguf file")
      ->required();
  sub->add_flag("--tensors", args->tensors, "list every tensor with its role");
  return [args] {
    const CheckpointReport r = inspect_checkpoint(args->dir, args->tensors);
    print_architecture(r);
    print_layers(r);
    print_storage(r);
    if (args->tensors) print_tensors(r);
    return 0;
  };
});

}  // namespace
}  // namespace ember::cli
