#include "io/quant_config.h"

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "io/json_util.h"

namespace ember {

using nlohmann::json;

const char* quant_mode_name(QuantMode m) {
  switch (m) {
    case QuantMode::kAffine:
      return "affine";
    case QuantMode::kMxfp4:
      return "mxfp4";
    case QuantMode::kNvfp4:
      return "nvfp4";
    case QuantMode::kMxfp8:
      return "mxfp8";
  }
  return "?";
}

WeightFormat weight_format_of(QuantMode m) {
  switch (m) {
    case QuantMode::kAffine:
      return WeightFormat::kMlxAffine;
    case QuantMode::kMxfp4:
      return WeightFormat::kMlxFp4;
    case QuantMode::kNvfp4:
      return WeightFormat::kNvFp4;
    case QuantMode::kMxfp8:
      return WeightFormat::kMlxFp8;
  }
  return WeightFormat::kDense;
}

std::string QuantParams::str() const {
  return std::string(quant_mode_name(mode)) + " " + std::to_string(bits) + "-bit g" +
         std::to_string(group_size);
}

QuantParams quant_defaults(QuantMode m) {
  switch (m) {
    case QuantMode::kAffine:
      return {m, 4, 64};
    case QuantMode::kMxfp4:
      return {m, 4, 32};
    case QuantMode::kNvfp4:
      return {m, 4, 16};
    case QuantMode::kMxfp8:
      return {m, 8, 32};
  }
  return {};
}

namespace {

// Keys of a quantization dict that are settings, not module paths (mlx-lm / mlx-swift-lm).
bool is_setting_key(const std::string& k) {
  return k == "group_size" || k == "bits" || k == "mode" || k == "quant_method" || k == "linear_class" ||
         k == "quantization_mode";
}

QuantMode parse_mode(const JsonObj& o, const std::string& key, const std::string& s) {
  if (s == "affine") return QuantMode::kAffine;
  if (s == "mxfp4") return QuantMode::kMxfp4;
  if (s == "nvfp4") return QuantMode::kNvfp4;
  if (s == "mxfp8") return QuantMode::kMxfp8;
  o.fail_key(key, "unknown quantization mode \"" + s + "\" (known: affine, mxfp4, nvfp4, mxfp8)");
}

// The table of §7.2: which (mode, bits, group) combinations exist.
void validate(const JsonObj& o, const QuantParams& p) {
  bool ok = false;
  switch (p.mode) {
    case QuantMode::kAffine:
      ok = (p.bits >= 2 && p.bits <= 8 && p.bits != 7) &&
           (p.group_size == 32 || p.group_size == 64 || p.group_size == 128);
      break;
    case QuantMode::kMxfp4:
      ok = p.bits == 4 && p.group_size == 32;
      break;
    case QuantMode::kMxfp8:
      ok = p.bits == 8 && p.group_size == 32;
      break;
    case QuantMode::kNvfp4:
      ok = p.bits == 4 && p.group_size == 16;
      break;
  }
  if (!ok)
    o.fail_here(
        "unsupported quantization " + p.str() +
        " (affine: bits 2/3/4/5/6/8, group 32/64/128; mxfp4: 4-bit g32; mxfp8: 8-bit g32; nvfp4: 4-bit g16)");
}

// A dict of to_quantized kwargs. `default_mode` is the global mode for the top-level dict;
// per-module dicts without "mode" are affine (mlx passes them as kwargs to
// to_quantized(mode="affine")), see §7.1.
QuantParams parse_params(const JsonObj& o, QuantMode default_mode) {
  QuantMode mode = default_mode;
  if (auto m = o.opt_str("mode")) mode = parse_mode(o, "mode", *m);
  QuantParams p = quant_defaults(mode);
  p.bits = int(o.get_int("bits", p.bits));
  p.group_size = int(o.get_int("group_size", p.group_size));
  validate(o, p);
  return p;
}

QuantConfig parse_section(const JsonObj& q, const std::string& key) {
  QuantConfig c;
  c.present = true;
  c.source_key = key;
  if (auto qm = q.opt_str("quant_method")) {
    // HF-style quantization_config of another toolchain: only the mxfp4 form maps onto MLX.
    if (*qm == "mxfp4" && !q.has("bits")) {
      c.global = quant_defaults(QuantMode::kMxfp4);
      return c;
    }
    if (!q.has("bits") && !q.has("group_size"))
      fail(ErrorCode::kUnsupported, q.source(), ": ", q.key_path("quant_method"), ": quantization method \"",
           *qm, "\" is not supported (ember reads MLX affine/mxfp4/nvfp4/mxfp8 checkpoints)");
  }
  c.global = parse_params(q, QuantMode::kAffine);
  for (const auto& [k, v] : q.raw().items()) {
    if (is_setting_key(k)) continue;
    if (v.is_boolean() && !v.get<bool>()) {
      c.modules[k] = std::nullopt;
    } else if (v.is_object()) {
      c.modules[k] = parse_params(JsonObj(v, q.source(), q.key_path(k)), QuantMode::kAffine);
    } else if (v.is_boolean()) {
      c.modules[k] = c.global;  // `true`: quantize with the global parameters
    } else {
      q.fail_key(k, "per-module entry must be an object or false, got " + std::string(v.type_name()));
    }
  }
  return c;
}

}  // namespace

QuantConfig parse_quant_config(const json& root, const std::string& source) {
  JsonObj r(root, source);
  if (auto q = r.opt_obj("quantization")) return parse_section(*q, "quantization");
  if (auto q = r.opt_obj("quantization_config")) return parse_section(*q, "quantization_config");
  return {};
}

QuantConfig::Lookup QuantConfig::lookup(const std::string& module_path) const {
  Lookup l;
  if (!present) return l;
  auto it = modules.find(module_path);
  if (it != modules.end()) {
    l.explicit_entry = true;
    l.params = it->second;
    l.disabled = !it->second.has_value();
    return l;
  }
  l.params = global;
  return l;
}

}  // namespace ember
