// Checkpoint and GGUF reports for the public API (include/ember/inspect.hpp): the loader's
// own validation and report, copied into plain structs so nothing internal leaks out.
#include "ember/inspect.hpp"

#include <cstdio>
#include <map>

#include "api/model_impl.h"
#include "core/dtype.h"
#include "io/gguf.h"
#include "io/quant_config.h"
#include "models/gemma4_weights.h"

namespace ember {
namespace {

std::string ids_str(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return "[" + s + "]";
}

std::string fmt(const char* f, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, f, args...);
  return buf;
}

std::vector<std::pair<std::string, std::string>> gemma4_summary(const Gemma4Model& m) {
  const Gemma4Config& c = m.cfg;
  const Gemma4TextConfig& t = c.text;
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("model_type",
                   c.model_type + (c.multimodal ? " (multimodal wrapper; text model loaded)" : ""));
  out.emplace_back("layout", m.report.layout);
  out.emplace_back("text model", fmt("hidden %lld, layers %lld, heads %lld, vocab %lld, sliding window %lld",
                                     (long long)t.hidden_size, (long long)t.num_hidden_layers,
                                     (long long)t.num_attention_heads, (long long)t.vocab_size,
                                     (long long)t.sliding_window));
  out.emplace_back("rope",
                   fmt("sliding %s theta %g; full %s theta %g partial %g", t.rope_sliding.rope_type.c_str(),
                       t.rope_sliding.theta, t.rope_full.rope_type.c_str(), t.rope_full.theta,
                       t.rope_full.partial_rotary_factor));
  out.emplace_back("PLE", c.has_ple() ? fmt("%lld per layer (table [%lld, %lld])",
                                            (long long)t.hidden_size_per_layer_input,
                                            (long long)t.vocab_size_per_layer_input,
                                            (long long)(t.num_hidden_layers * t.hidden_size_per_layer_input))
                                      : std::string("none"));
  out.emplace_back("KV sharing", fmt("%lld shared layers (first shared layer %lld)",
                                     (long long)t.num_kv_shared_layers, (long long)c.first_kv_shared));
  out.emplace_back("MoE", t.enable_moe_block
                              ? fmt("%lld experts, top-%lld, expert width %lld (beside the dense MLP)",
                                    (long long)t.num_experts, (long long)t.top_k_experts,
                                    (long long)t.moe_intermediate_size)
                              : std::string("none"));
  out.emplace_back("K=V", t.attention_k_eq_v ? "yes (full layers)" : "no");
  out.emplace_back("LM head", m.lm_head_tied ? "tied to embed_tokens" : "untied");
  out.emplace_back("softcap",
                   t.final_logit_softcapping ? std::to_string(*t.final_logit_softcapping) : "none");
  out.emplace_back("stop tokens", ids_str(c.stop_token_ids()));
  if (c.has_vision || c.has_audio)
    out.emplace_back("towers", std::string(c.has_vision ? "vision " : "") + (c.has_audio ? "audio" : "") +
                                   " (not loaded)");
  return out;
}

std::vector<CheckpointLayer> gemma4_layers(const Gemma4Model& m) {
  std::vector<CheckpointLayer> out;
  for (const auto& l : m.layers) {
    CheckpointLayer r;
    r.index = l.index;
    r.type = l.info.type == LayerType::kFull ? "full" : "sliding";
    r.head_dim = l.info.head_dim;
    r.n_kv_heads = l.info.n_kv_heads;
    r.mlp_width = l.info.mlp_width;
    r.kv = l.info.kv_shared ? "<- " + std::to_string(l.info.kv_source) : "own";
    if (l.info.k_eq_v) r.kv += " K=V";
    r.layer_scalar = l.layer_scalar;
    out.push_back(std::move(r));
  }
  return out;
}

// A .gguf file: what its metadata declares (the per-architecture hyperparameters) and its
// tensor table as stored; the architecture's weight table is checked when a model loads it.
CheckpointReport gguf_checkpoint(const std::string& path, bool with_tensors) {
  auto f = GgufFile::open(path);
  CheckpointReport out;
  out.path = path;
  out.architecture = f->opt_string("general.architecture").value_or("?");
  out.summary.emplace_back("format", "GGUF v" + std::to_string(f->version()));
  out.summary.emplace_back("architecture", out.architecture);
  if (auto name = f->opt_string("general.name")) out.summary.emplace_back("name", *name);
  const std::string prefix = out.architecture + ".";
  for (const auto& [key, v] : f->metadata())
    if (key.rfind(prefix, 0) == 0) out.summary.emplace_back(key.substr(prefix.size()), v.to_string());
  std::map<std::string, std::vector<std::string>> by_type;
  for (const auto& t : f->tensors()) {
    by_type["GGUF " + t.type_name()].push_back(t.name);
    out.total_bytes += t.nbytes;
    if (with_tensors) out.tensors.push_back({"stored", t.name, t.type_name(), t.shape_str(), ""});
  }
  for (auto& [what, names] : by_type) out.storage.emplace_back(what, std::move(names));
  out.used_bytes = out.total_bytes;
  out.n_files = 1;
  return out;
}

}  // namespace

CheckpointReport inspect_checkpoint(const std::string& model_dir, bool with_tensors) {
  if (is_gguf_path(model_dir)) return gguf_checkpoint(model_dir, with_tensors);
  Gemma4Model m = load_gemma4(model_dir);
  const LoadReport& r = m.report;
  CheckpointReport out;
  out.path = model_dir;
  out.architecture = "gemma4";
  out.summary = gemma4_summary(m);
  out.layers = gemma4_layers(m);
  for (const auto& [what, names] : r.storage) out.storage.emplace_back(what, names);
  if (m.cfg.quant.present)
    out.quantization = m.cfg.quant.source_key + " global " + m.cfg.quant.global.str() + ", " +
                       std::to_string(m.cfg.quant.modules.size()) + " per-module entries";
  out.total_bytes = r.total_bytes;
  out.used_bytes = r.used_bytes;
  out.ignored_bytes = r.ignored_bytes;
  out.skipped_bytes = r.skipped_bytes;
  out.n_files = m.files->files().size();
  out.notes = r.notes;
  if (with_tensors)
    for (const auto& t : r.tensors)
      out.tensors.push_back({t.status, t.key, std::string(dtype_name(t.dtype)), shape_str(t.shape), t.role});
  return out;
}

GgufReport read_gguf_report(const std::string& path) {
  auto f = GgufFile::open(path);
  GgufReport out;
  out.path = path;
  out.version = f->version();
  out.alignment = f->alignment();
  out.data_offset = f->data_offset();
  for (const auto& [key, v] : f->metadata())
    out.metadata.push_back({key, gguf_value_type_name(v.type), v.to_string()});
  for (const auto& t : f->tensors())
    out.tensors.push_back({t.name, t.type_name(), t.shape_str(), t.offset, t.nbytes});
  return out;
}

}  // namespace ember
