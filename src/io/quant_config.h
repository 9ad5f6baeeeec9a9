// MLX quantization settings from config.json (reference: gemma4-text.md §7.1-7.2):
//   "quantization": {"group_size": 64, "bits": 4, "mode": "affine",
//                    "<module path>": {"group_size": 64, "bits": 8} | false, ...}
// plus its "quantization_config" copy. Whether a weight IS quantized is decided by the
// checkpoint (`<name>.scales` present); this only says with which parameters.
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "core/weights.h"

namespace ember {

enum class QuantMode : uint8_t { kAffine, kMxfp4, kNvfp4, kMxfp8 };
const char* quant_mode_name(QuantMode m);
WeightFormat weight_format_of(QuantMode m);

struct QuantParams {
  QuantMode mode = QuantMode::kAffine;
  int bits = 4;
  int group_size = 64;
  bool operator==(const QuantParams&) const = default;
  std::string str() const;  // "affine 4-bit g64"
};

// Default group size / bits of a mode (mlx `to_quantized` defaults).
QuantParams quant_defaults(QuantMode m);

struct QuantConfig {
  bool present = false;
  std::string source_key;  // "quantization" or "quantization_config"
  QuantParams global;
  // Per-module entries: module path -> params, or nullopt for `false` (keep in float).
  std::map<std::string, std::optional<QuantParams>> modules;

  // What the config says for a module path: explicit entry (nullopt if `false`), else the
  // global parameters; nullopt too when there is no quantization section at all.
  struct Lookup {
    std::optional<QuantParams> params;
    bool explicit_entry = false;
    bool disabled = false;  // entry was `false`
  };
  Lookup lookup(const std::string& module_path) const;
};

// Parses the quantization section of a config.json root object (`source` labels errors).
// Invalid combinations (affine 7-bit, group 48, mxfp4 with group 64, ...) are kInvalidCheckpoint;
// a foreign `quant_method` (gptq, awq, ...) is kUnsupported.
QuantConfig parse_quant_config(const nlohmann::json& root, const std::string& source);

}  // namespace ember
