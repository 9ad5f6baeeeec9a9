// GGUF reader (versions 2 and 3): mmapped, validated like hostile input.
//
// Layout: magic "GGUF", u32 version, u64 tensor_count, u64 kv_count, kv_count metadata
// entries (string key, u32 value type, value), tensor_count tensor infos (string name, u32
// n_dims, u64 ne[n_dims], u32 ggml type, u64 offset), padding to `general.alignment`
// (default 32), then the data section; tensor offsets are relative to its start.
//
// Validation (each failure is ember::Error kCorruptFile naming the file, the key or tensor
// and the byte offset): every length and count is bounds- and overflow-checked against the
// bytes that remain; arrays nest at most 8 deep; bools are 0/1; keys and tensor names are
// unique and non-empty; n_dims <= 4; the type is a known, live ggml type; ne[0] is a multiple
// of its block size; byte size = blocks x block bytes; data is aligned, inside the file and
// not overlapping another tensor; `general.alignment` is a u32 power of two.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/mapped_file.h"
#include "core/weights.h"

namespace ember {

enum class GgufValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
const char* gguf_value_type_name(GgufValueType t);

// One metadata value. Strings and fixed-size array elements point into the file's bytes
// (valid while the GgufFile lives); nested arrays are parsed into `items`.
struct GgufValue {
  GgufValueType type = GgufValueType::kU8;
  uint64_t offset = 0;  // byte offset of the value in the file (for messages)
  // Scalars: integers in `i` (signed types, bool) or `u` (unsigned types), floats in `f`.
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  std::string_view str;  // kString
  // kArray: element type and count. Numeric/bool elements: `raw` (count x element size,
  // possibly unaligned); strings: `strings`; arrays: `items`.
  GgufValueType elem_type = GgufValueType::kU8;
  uint64_t count = 0;
  const uint8_t* raw = nullptr;
  std::vector<std::string_view> strings;
  std::vector<GgufValue> items;

  bool is_integer() const;  // any integer type (not bool)
  bool is_float() const { return type == GgufValueType::kF32 || type == GgufValueType::kF64; }
  // Element `k` of a numeric array as int64 / double (any integer or float element type).
  int64_t int_at(uint64_t k) const;
  double float_at(uint64_t k) const;
  std::string to_string(size_t max_items = 8) const;  // for dumps: `[1, 2, ...] (262144)`
};

struct GgufTensor {
  std::string name;
  int type = 0;              // ggml type id (quant/gguf_types.h)
  std::vector<int64_t> ne;   // ggml order: ne[0] is contiguous (columns), ne[1] rows, ...
  uint64_t offset = 0;       // relative to the data section
  uint64_t info_offset = 0;  // byte offset of the tensor info in the file
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const;
  std::string shape_str() const;  // ggml order, "[640, 262144]"
  std::string type_name() const;
};

class GgufFile {
 public:
  // Maps and validates `path`.
  static std::unique_ptr<GgufFile> open(const std::string& path);
  // Parses an in-memory buffer (fuzzer, tests); `name` labels errors. The buffer must
  // outlive the returned object.
  static std::unique_ptr<GgufFile> parse(const uint8_t* data, size_t size, const std::string& name);

  const std::string& path() const { return path_; }
  // `general.architecture` ("gemma3"), and "<architecture>.<suffix>" for the per-arch keys
  // ("block_count" -> "gemma3.block_count").
  std::string architecture() const { return get_string("general.architecture"); }
  std::string arch_key(std::string_view suffix) const { return architecture() + "." + std::string(suffix); }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the data section
  size_t file_size() const { return size_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;  // nullptr if absent
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // Typed getters: kNotFound when absent, kInvalidCheckpoint naming key, expected and actual
  // type when the type does not fit. Integer getters accept any integer type whose value
  // fits the result (writers differ in u32/u64 choice); float getters accept F32 and F64.
  const GgufValue& get(std::string_view key) const;
  std::string get_string(std::string_view key) const;
  uint32_t get_u32(std::string_view key) const;
  int32_t get_i32(std::string_view key) const;
  uint64_t get_u64(std::string_view key) const;
  int64_t get_i64(std::string_view key) const;
  float get_f32(std::string_view key) const;
  double get_f64(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  const GgufValue& get_array(std::string_view key) const;
  // Array getters check the element type (strings; any float; any integer in range).
  std::vector<std::string> get_string_array(std::string_view key) const;
  std::vector<float> get_f32_array(std::string_view key) const;
  std::vector<int32_t> get_i32_array(std::string_view key) const;
  // Optional variants: std::nullopt when absent, same type checks when present.
  std::optional<std::string> opt_string(std::string_view key) const;
  std::optional<uint32_t> opt_u32(std::string_view key) const;
  std::optional<float> opt_f32(std::string_view key) const;
  std::optional<bool> opt_bool(std::string_view key) const;

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(std::string_view name) const;  // nullptr if absent
  const GgufTensor& tensor(std::string_view name) const;       // kNotFound if absent

  // Views (tensor data, Matrix, metadata strings) point into the mapping: keep the GgufFile
  // alive while they are used.
  // A Matrix view of a tensor: rows = ne[1], cols = ne[0] (1-D: one row). F32/F16/BF16 are
  // kDense with that dtype; block-quantized types are kGguf with gguf_type set. For a 3-D
  // tensor (stacked experts) `slice` picks ne[2] index; higher dims must be 1.
  Matrix matrix(const GgufTensor& t, int64_t slice = 0) const;
  Matrix matrix(std::string_view name, int64_t slice = 0) const { return matrix(tensor(name), slice); }

 private:
  class Parser;
  std::string path_;
  std::shared_ptr<MappedFile> map_;
  size_t size_ = 0;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

// The tokenizer as llama.cpp stores it (`tokenizer.ggml.*`, `tokenizer.chat_template`), in
// plain structs for the tokenizer to consume. Ids are -1 when the key is absent.
struct GgufTokenizerData {
  std::string model;                // tokenizer.ggml.model: "llama" (SentencePiece), "gpt2" (BPE), ...
  std::string pre;                  // tokenizer.ggml.pre (pre-tokenizer name), "" if absent
  std::vector<std::string> tokens;  // tokenizer.ggml.tokens [n_vocab]
  std::vector<float> scores;        // tokenizer.ggml.scores [n_vocab] or empty
  std::vector<int32_t> token_type;  // tokenizer.ggml.token_type [n_vocab] or empty
  std::vector<std::string> merges;  // tokenizer.ggml.merges ("a b") or empty
  int64_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1, sep_id = -1, mask_id = -1;
  int64_t eot_id = -1, eom_id = -1;
  std::vector<int64_t> eos_ids;  // tokenizer.ggml.eos_token_ids (if present)
  std::optional<bool> add_bos, add_eos, add_sep, add_space_prefix, remove_extra_whitespaces;
  std::optional<std::string> chat_template;  // tokenizer.chat_template
};

// Token types (llama.cpp `llama_token_type`).
enum GgufTokenType : int32_t {
  kTokUndefined = 0,
  kTokNormal = 1,
  kTokUnknown = 2,
  kTokControl = 3,
  kTokUserDefined = 4,
  kTokUnused = 5,
  kTokByte = 6,
};

// Extracts and cross-checks the tokenizer: tokens required; scores/token_type/ids sized and
// in range (kInvalidCheckpoint naming the key otherwise).
GgufTokenizerData gguf_tokenizer_data(const GgufFile& f);

}  // namespace ember
