// Typed metadata getters of GgufFile and the tokenizer extraction.
#include <limits>

#include "core/status.h"
#include "io/gguf.h"

namespace ember {

namespace {

[[noreturn]] void wrong_type(const GgufFile& f, std::string_view key, const GgufValue& v, const char* want) {
  std::string got = gguf_value_type_name(v.type);
  if (v.type == GgufValueType::kArray) got = std::string("array of ") + gguf_value_type_name(v.elem_type);
  fail(ErrorCode::kInvalidCheckpoint, f.path(), ": metadata key '", key, "' (byte ", v.offset, ") is ", got,
       ", expected ", want);
}

bool unsigned_type(GgufValueType t) {
  return t == GgufValueType::kU8 || t == GgufValueType::kU16 || t == GgufValueType::kU32 ||
         t == GgufValueType::kU64;
}

// Integer value of v checked to lie in [lo, hi] (hi <= INT64_MAX except for u64 results).
int64_t checked_int(const GgufFile& f, std::string_view key, const GgufValue& v, int64_t lo, uint64_t hi,
                    const char* want) {
  if (!v.is_integer()) wrong_type(f, key, v, want);
  bool ok = unsigned_type(v.type) ? v.u <= hi : (v.i >= lo && (v.i < 0 || uint64_t(v.i) <= hi));
  if (!ok)
    fail(ErrorCode::kInvalidCheckpoint, f.path(), ": metadata key '", key, "' = ", v.to_string(),
         " is out of range for ", want);
  return unsigned_type(v.type) ? int64_t(v.u) : v.i;
}

}  // namespace

const GgufValue& GgufFile::get(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail(ErrorCode::kNotFound, path_, ": metadata key '", key, "' not found");
  return *v;
}

std::string GgufFile::get_string(std::string_view key) const {
  const GgufValue& v = get(key);
  if (v.type != GgufValueType::kString) wrong_type(*this, key, v, "string");
  return std::string(v.str);
}

uint32_t GgufFile::get_u32(std::string_view key) const {
  return uint32_t(checked_int(*this, key, get(key), 0, UINT32_MAX, "u32"));
}
int32_t GgufFile::get_i32(std::string_view key) const {
  return int32_t(checked_int(*this, key, get(key), INT32_MIN, INT32_MAX, "i32"));
}
uint64_t GgufFile::get_u64(std::string_view key) const {
  const GgufValue& v = get(key);
  if (v.type == GgufValueType::kU64) return v.u;
  return uint64_t(checked_int(*this, key, v, 0, INT64_MAX, "u64"));
}
int64_t GgufFile::get_i64(std::string_view key) const {
  return checked_int(*this, key, get(key), INT64_MIN, uint64_t(INT64_MAX), "i64");
}

float GgufFile::get_f32(std::string_view key) const { return float(get_f64(key)); }
double GgufFile::get_f64(std::string_view key) const {
  const GgufValue& v = get(key);
  if (!v.is_float()) wrong_type(*this, key, v, "f32 or f64");
  return v.f;
}

bool GgufFile::get_bool(std::string_view key) const {
  const GgufValue& v = get(key);
  if (v.type != GgufValueType::kBool) wrong_type(*this, key, v, "bool");
  return v.i != 0;
}

const GgufValue& GgufFile::get_array(std::string_view key) const {
  const GgufValue& v = get(key);
  if (v.type != GgufValueType::kArray) wrong_type(*this, key, v, "array");
  return v;
}

std::vector<std::string> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue& v = get_array(key);
  if (v.elem_type != GgufValueType::kString) wrong_type(*this, key, v, "array of string");
  return std::vector<std::string>(v.strings.begin(), v.strings.end());
}

std::vector<float> GgufFile::get_f32_array(std::string_view key) const {
  const GgufValue& v = get_array(key);
  if (v.elem_type != GgufValueType::kF32 && v.elem_type != GgufValueType::kF64)
    wrong_type(*this, key, v, "array of f32");
  std::vector<float> out(v.count);
  for (uint64_t k = 0; k < v.count; ++k) out[k] = float(v.float_at(k));
  return out;
}

std::vector<int32_t> GgufFile::get_i32_array(std::string_view key) const {
  const GgufValue& v = get_array(key);
  GgufValue probe;
  probe.type = v.elem_type;
  if (!probe.is_integer()) wrong_type(*this, key, v, "array of integers");
  std::vector<int32_t> out(v.count);
  for (uint64_t k = 0; k < v.count; ++k) {
    int64_t x = v.int_at(k);
    if (x < INT32_MIN || x > INT32_MAX)
      fail(ErrorCode::kInvalidCheckpoint, path_, ": metadata key '", key, "' element ", k, " = ", x,
           " is out of i32 range");
    out[k] = int32_t(x);
  }
  return out;
}

std::optional<std::string> GgufFile::opt_string(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_string(key);
}
std::optional<uint32_t> GgufFile::opt_u32(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_u32(key);
}
std::optional<float> GgufFile::opt_f32(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_f32(key);
}
std::optional<bool> GgufFile::opt_bool(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_bool(key);
}

GgufTokenizerData gguf_tokenizer_data(const GgufFile& f) {
  GgufTokenizerData t;
  t.model = f.get_string("tokenizer.ggml.model");
  t.pre = f.opt_string("tokenizer.ggml.pre").value_or("");
  t.tokens = f.get_string_array("tokenizer.ggml.tokens");
  const size_t n = t.tokens.size();
  auto check_len = [&](const char* key, size_t got) {
    if (got != n)
      fail(ErrorCode::kInvalidCheckpoint, f.path(), ": metadata key '", key, "' has ", got, " entries but ",
           "tokenizer.ggml.tokens has ", n);
  };
  if (f.has("tokenizer.ggml.scores")) {
    t.scores = f.get_f32_array("tokenizer.ggml.scores");
    check_len("tokenizer.ggml.scores", t.scores.size());
  }
  if (f.has("tokenizer.ggml.token_type")) {
    t.token_type = f.get_i32_array("tokenizer.ggml.token_type");
    check_len("tokenizer.ggml.token_type", t.token_type.size());
  }
  if (f.has("tokenizer.ggml.merges")) t.merges = f.get_string_array("tokenizer.ggml.merges");
  auto id = [&](const char* key) -> int64_t {
    if (!f.has(key)) return -1;
    int64_t v = f.get_i64(key);
    if (v < 0 || uint64_t(v) >= n)
      fail(ErrorCode::kInvalidCheckpoint, f.path(), ": metadata key '", key, "' = ", v,
           " is not a token id (vocabulary has ", n, " tokens)");
    return v;
  };
  t.bos_id = id("tokenizer.ggml.bos_token_id");
  t.eos_id = id("tokenizer.ggml.eos_token_id");
  t.unk_id = id("tokenizer.ggml.unknown_token_id");
  t.pad_id = id("tokenizer.ggml.padding_token_id");
  t.sep_id = id("tokenizer.ggml.seperator_token_id");  // llama.cpp's spelling
  t.mask_id = id("tokenizer.ggml.mask_token_id");
  t.eot_id = id("tokenizer.ggml.eot_token_id");
  t.eom_id = id("tokenizer.ggml.eom_token_id");
  if (f.has("tokenizer.ggml.eos_token_ids")) {
    for (int32_t e : f.get_i32_array("tokenizer.ggml.eos_token_ids")) {
      if (e < 0 || size_t(e) >= n)
        fail(ErrorCode::kInvalidCheckpoint, f.path(), ": tokenizer.ggml.eos_token_ids holds ", e,
             ", not a token id");
      t.eos_ids.push_back(e);
    }
  }
  t.add_bos = f.opt_bool("tokenizer.ggml.add_bos_token");
  t.add_eos = f.opt_bool("tokenizer.ggml.add_eos_token");
  t.add_sep = f.opt_bool("tokenizer.ggml.add_sep_token");
  t.add_space_prefix = f.opt_bool("tokenizer.ggml.add_space_prefix");
  t.remove_extra_whitespaces = f.opt_bool("tokenizer.ggml.remove_extra_whitespaces");
  t.chat_template = f.opt_string("tokenizer.chat_template");
  return t;
}

}  // namespace ember
