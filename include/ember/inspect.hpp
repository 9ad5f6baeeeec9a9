// ember — checkpoint and GGUF reports, read without building a backend (for `ember inspect`,
// `ember gguf-dump` and apps that list or validate models before loading them).
//
// Everything here is plain data: the functions open the files, copy what they report into the
// returned structs and close them again; nothing keeps a reference into the files.
// The functions are thread-safe (they share no state). Bad input (a missing directory, a
// truncated file, weights that contradict the config) throws ember::Error with the full
// problem report.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ember/error.hpp"

namespace ember {

// One decoder layer as the checkpoint's config and weights define it.
struct CheckpointLayer {
  int64_t index = 0;
  std::string type;  // "full" or "sliding"
  int64_t head_dim = 0, n_kv_heads = 0, mlp_width = 0;
  std::string kv;  // "own", or "<- N" (KV shared from layer N), with " K=V" when keys are values
  double layer_scalar = 1.0;
};

// One tensor of the checkpoint and what the loader did with it.
struct CheckpointTensor {
  std::string status;  // "used", "ignored", "skipped" ("stored" for GGUF)
  std::string key;     // the name as stored in the file
  std::string dtype;   // stored dtype ("BF16", "U32", ...)
  std::string shape;   // stored shape, "[256, 128]"
  std::string role;    // the declared weight slot it binds to, or why it is not used
};

struct CheckpointReport {
  std::string path;
  std::string architecture;  // "gemma4"
  // Architecture summary as ordered (label, value) lines: "model_type", "layout", "text model",
  // "rope", "PLE", "KV sharing", "MoE", "K=V", "LM head", "softcap", "stop tokens", "towers".
  // Labels depend on the architecture, so apps print them rather than parse them.
  std::vector<std::pair<std::string, std::string>> summary;
  std::vector<CheckpointLayer> layers;
  // Weights by storage format ("affine 4-bit g64", "dense BF16") -> canonical slot names.
  std::vector<std::pair<std::string, std::vector<std::string>>> storage;
  std::string quantization;  // config.json quantization summary, "" when absent
  uint64_t total_bytes = 0, used_bytes = 0, ignored_bytes = 0, skipped_bytes = 0;
  size_t n_files = 0;
  std::vector<std::string> notes;
  std::vector<CheckpointTensor> tensors;  // every tensor of the checkpoint (when asked for)
};

// Validates a checkpoint directory against its architecture's weight table (as Model::load
// does, but without a backend or any weight conversion) and describes it. Throws ember::Error
// (kInvalidCheckpoint with every problem listed) when the checkpoint does not fit.
// A .gguf file is described from its metadata and tensor table (format, architecture and its
// hyperparameter keys; storage by ggml type; no layers), without the weight-table check.
CheckpointReport inspect_checkpoint(const std::string& path, bool with_tensors = false);

// A GGUF file's header, metadata and tensor table.
struct GgufMetadataEntry {
  std::string key;
  std::string type;   // "u32", "string", "array", ...
  std::string value;  // printable form (long arrays abbreviated)
};
struct GgufTensorEntry {
  std::string name;
  std::string type;     // ggml type name ("Q4_K", "F32")
  std::string shape;    // ggml order (ne[0] first): "[640, 262144]"
  uint64_t offset = 0;  // relative to the data section
  uint64_t bytes = 0;
};
struct GgufReport {
  std::string path;
  uint32_t version = 0, alignment = 0;
  uint64_t data_offset = 0;                 // absolute byte offset of the data section
  std::vector<GgufMetadataEntry> metadata;  // file order
  std::vector<GgufTensorEntry> tensors;     // file order
};

// Parses and validates a .gguf file (kCorruptFile naming the byte offset when it is not one).
GgufReport read_gguf_report(const std::string& path);

}  // namespace ember
