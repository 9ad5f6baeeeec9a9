// `ember inspect MODEL_DIR [--tensors]`: architecture, derived layer structure, quantization
// summary and sizes of a Gemma 4 checkpoint; exits non-zero with the full problem report when
// the checkpoint is invalid (the error propagates to main, which prints it).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "command.h"
#include "models/gemma4_weights.h"

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

std::string ids(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return "[" + s + "]";
}

void print_architecture(const Gemma4Model& m) {
  const Gemma4Config& c = m.cfg;
  const Gemma4TextConfig& t = c.text;
  std::printf("model_type:   %s%s\n", c.model_type.c_str(),
              c.multimodal ? " (multimodal wrapper; text model loaded)" : "");
  std::printf("layout:       %s\n", m.report.layout.c_str());
  std::printf("text model:   hidden %lld, layers %lld, heads %lld, vocab %lld, sliding window %lld\n",
              (long long)t.hidden_size, (long long)t.num_hidden_layers, (long long)t.num_attention_heads,
              (long long)t.vocab_size, (long long)t.sliding_window);
  std::printf("rope:         sliding %s theta %g; full %s theta %g partial %g\n",
              t.rope_sliding.rope_type.c_str(), t.rope_sliding.theta, t.rope_full.rope_type.c_str(),
              t.rope_full.theta, t.rope_full.partial_rotary_factor);
  if (c.has_ple())
    std::printf("PLE:          %lld per layer (table [%lld, %lld])\n",
                (long long)t.hidden_size_per_layer_input, (long long)t.vocab_size_per_layer_input,
                (long long)(t.num_hidden_layers * t.hidden_size_per_layer_input));
  else
    std::printf("PLE:          none\n");
  std::printf("KV sharing:   %lld shared layers (first shared layer %lld)\n",
              (long long)t.num_kv_shared_layers, (long long)c.first_kv_shared);
  if (t.enable_moe_block)
    std::printf("MoE:          %lld experts, top-%lld, expert width %lld (beside the dense MLP)\n",
                (long long)t.num_experts, (long long)t.top_k_experts, (long long)t.moe_intermediate_size);
  else
    std::printf("MoE:          none\n");
  std::printf("K=V:          %s\n", t.attention_k_eq_v ? "yes (full layers)" : "no");
  std::printf("LM head:      %s\n", m.lm_head_tied ? "tied to embed_tokens" : "untied");
  std::printf("softcap:      %s\n",
              t.final_logit_softcapping ? std::to_string(*t.final_logit_softcapping).c_str() : "none");
  std::printf("stop tokens:  %s\n", ids(c.stop_token_ids()).c_str());
  if (c.has_vision || c.has_audio)
    std::printf("towers:       %s%s (not loaded)\n", c.has_vision ? "vision " : "",
                c.has_audio ? "audio" : "");
}

void print_layers(const Gemma4Model& m) {
  std::printf("\nlayers:\n  %-5s %-8s %-8s %-5s %-10s %-9s %s\n", "idx", "type", "head_dim", "n_kv", "kv",
              "mlp", "layer_scalar");
  for (const auto& l : m.layers) {
    std::string kv = l.info.kv_shared ? "<- " + std::to_string(l.info.kv_source) : "own";
    if (l.info.k_eq_v) kv += " K=V";
    std::printf("  %-5lld %-8s %-8lld %-5lld %-10s %-9lld %.4g\n", (long long)l.index,
                l.info.type == LayerType::kFull ? "full" : "sliding", (long long)l.info.head_dim,
                (long long)l.info.n_kv_heads, kv.c_str(), (long long)l.info.mlp_width, l.layer_scalar);
  }
}

// "layers.3.mlp.gate_proj" -> "layers.*.mlp.gate_proj" (with a count per pattern), so the
// summary reads "which modules at which bits/group" instead of listing every layer.
std::map<std::string, int> collapse_layers(const std::vector<std::string>& names) {
  std::map<std::string, int> out;
  for (const auto& n : names) {
    std::string k = n;
    if (k.rfind("layers.", 0) == 0) {
      size_t dot = k.find('.', 7);
      if (dot != std::string::npos) k = "layers.*" + k.substr(dot);
    }
    out[k]++;
  }
  return out;
}

void print_storage(const Gemma4Model& m) {
  std::printf("\nstorage (weights by format; xN = number of layers):\n");
  for (const auto& [what, names] : m.report.storage) {
    std::printf("  %s (%zu tensors):\n", what.c_str(), names.size());
    std::string line;
    for (const auto& [k, n] : collapse_layers(names)) {
      std::string item = n > 1 ? k + " x" + std::to_string(n) : k;
      if (line.size() + item.size() > 100) std::printf("    %s\n", line.c_str()), line.clear();
      line += (line.empty() ? "" : ", ") + item;
    }
    if (!line.empty()) std::printf("    %s\n", line.c_str());
  }
  if (m.cfg.quant.present) {
    std::printf("  config quantization: %s global %s, %zu per-module entries\n",
                m.cfg.quant.source_key.c_str(), m.cfg.quant.global.str().c_str(), m.cfg.quant.modules.size());
  }
  const LoadReport& r = m.report;
  std::printf("\nbytes:        total %s (used %s, ignored %s, skipped towers %s) in %zu file(s)\n",
              human(r.total_bytes).c_str(), human(r.used_bytes).c_str(), human(r.ignored_bytes).c_str(),
              human(r.skipped_bytes).c_str(), m.files->files().size());
  for (const auto& n : r.notes) std::printf("note: %s\n", n.c_str());
}

void print_tensors(const Gemma4Model& m) {
  std::printf("\ntensors:\n");
  for (const auto& t : m.report.tensors)
    std::printf("  %-8s %-60s %-5s %-18s %s\n", t.status.c_str(), t.key.c_str(),
                std::string(dtype_name(t.dtype)).c_str(), shape_str(t.shape).c_str(), t.role.c_str());
}

struct Args {
  std::string dir;
  bool tensors = false;
};

Command inspect_cmd("inspect", [](CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("inspect", "Check a Gemma 4 checkpoint and describe it");
  sub->add_option("MODEL_DIR", args->dir, "checkpoint directory (config.json + safetensors)")->required();
  sub->add_flag("--tensors", args->tensors, "list every tensor with its role");
  return [args] {
    Gemma4Model m = load_gemma4(args->dir);
    print_architecture(m);
    print_layers(m);
    print_storage(m);
    if (args->tensors) print_tensors(m);
    return 0;
  };
});

}  // namespace
}  // namespace ember::cli
