// safetensors reader. Format: u64 little-endian header length N, N bytes of JSON
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}), then the
// data section; offsets are relative to the data section. Every check mirrors the reference
// `safetensors` crate (including "no holes": the tensors must tile the data section exactly)
// so a file ember accepts is one the reference accepts.
#include "io/safetensors.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/status.h"

namespace ember {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The reference crate refuses headers above 100 MB; a larger one is corruption, not a model.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

[[noreturn]] void corrupt(const std::string& file, const std::string& what) {
  fail(ErrorCode::kCorruptFile, file, ": ", what);
}

std::string tensor_ctx(const std::string& name) { return "tensor '" + name + "': "; }

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A non-negative JSON integer that fits in int64 (shape dims and offsets).
bool as_index(const json& j, uint64_t* out) {
  if (j.is_number_unsigned()) {
    *out = j.get<uint64_t>();
    return *out <= uint64_t(std::numeric_limits<int64_t>::max());
  }
  if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    if (v < 0) return false;
    *out = uint64_t(v);
    return true;
  }
  return false;
}

// Parses the header JSON, rejecting duplicate top-level names (nlohmann would keep the last).
json parse_header_json(const std::string& file, const char* begin, const char* end) {
  json j;
  try {
    j = json::parse(begin, end);
  } catch (const json::parse_error& e) {
    corrupt(file, std::string("header is not valid JSON (at header byte ") + std::to_string(e.byte) + ")");
  } catch (const json::exception& e) {  // e.g. a number literal out of range
    corrupt(file, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) corrupt(file, "header JSON is not an object");
  // Duplicate keys: re-scan top-level keys with the SAX interface.
  struct KeyCounter : nlohmann::json_sax<json> {
    int depth = 0;
    std::set<std::string> seen;
    std::string dup;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override {
      ++depth;
      return true;
    }
    bool end_object() override {
      --depth;
      return true;
    }
    bool start_array(std::size_t) override {
      ++depth;
      return true;
    }
    bool end_array() override {
      --depth;
      return true;
    }
    bool key(string_t& k) override {
      if (depth == 1 && !seen.insert(k).second && dup.empty()) dup = k;
      return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
      return false;
    }
  } counter;
  json::sax_parse(begin, end, &counter);
  if (!counter.dup.empty()) corrupt(file, "header lists tensor '" + counter.dup + "' twice");
  return j;
}

DType parse_dtype(const std::string& file, const std::string& name, const json& e) {
  auto it = e.find("dtype");
  if (it == e.end() || !it->is_string()) corrupt(file, tensor_ctx(name) + "missing or non-string \"dtype\"");
  auto t = dtype_from_name(it->get<std::string>());
  if (!t) corrupt(file, tensor_ctx(name) + "unknown dtype \"" + it->get<std::string>() + "\"");
  return *t;
}

std::vector<int64_t> parse_shape(const std::string& file, const std::string& name, const json& e) {
  auto it = e.find("shape");
  if (it == e.end() || !it->is_array()) corrupt(file, tensor_ctx(name) + "missing or non-array \"shape\"");
  std::vector<int64_t> shape;
  for (const auto& d : *it) {
    uint64_t v;
    if (!as_index(d, &v))
      corrupt(file, tensor_ctx(name) + "shape entry " + d.dump() + " is not a non-negative integer");
    shape.push_back(int64_t(v));
  }
  return shape;
}

// Byte length implied by dtype and shape; fails (instead of wrapping) on overflow.
uint64_t expected_nbytes(const std::string& file, const std::string& name, DType t,
                         const std::vector<int64_t>& shape) {
  uint64_t n = dtype_size(t);
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(n, uint64_t(d), &n))
      corrupt(file, tensor_ctx(name) + "shape " + json(shape).dump() + " overflows 64-bit byte count");
  }
  return n;
}

void parse_metadata(const std::string& file, const json& m, std::map<std::string, std::string>* out) {
  if (!m.is_object()) corrupt(file, "\"__metadata__\" is not an object");
  for (const auto& [k, v] : m.items()) {
    if (!v.is_string()) corrupt(file, "\"__metadata__\" entry '" + k + "' is not a string");
    (*out)[k] = v.get<std::string>();
  }
}

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorInfo::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::parse(const uint8_t* data, size_t size,
                                                        const std::string& name) {
  if (size < 8)
    corrupt(name, "file is " + std::to_string(size) + " bytes, too short for the 8-byte header length");
  const uint64_t hlen = read_u64_le(data);
  if (hlen > size - 8)
    corrupt(name, "header length " + std::to_string(hlen) + " exceeds the file (" + std::to_string(size) +
                      " bytes): truncated file?");
  if (hlen > kMaxHeaderBytes) corrupt(name, "header length " + std::to_string(hlen) + " exceeds 100 MiB");
  if (hlen < 2) corrupt(name, "header length " + std::to_string(hlen) + " is too small for a JSON object");
  const char* hbeg = reinterpret_cast<const char*>(data + 8);
  json header = parse_header_json(name, hbeg, hbeg + hlen);

  auto file = std::unique_ptr<SafetensorsFile>(new SafetensorsFile());
  file->path_ = name;
  const uint8_t* base = data + 8 + hlen;
  const uint64_t data_size = size - 8 - hlen;
  for (const auto& [key, e] : header.items()) {
    if (key == "__metadata__") {
      parse_metadata(name, e, &file->metadata_);
      continue;
    }
    if (!e.is_object()) corrupt(name, tensor_ctx(key) + "entry is not an object");
    for (const auto& [field, unused] : e.items()) {
      if (field != "dtype" && field != "shape" && field != "data_offsets")
        corrupt(name, tensor_ctx(key) + "unexpected field \"" + field + "\"");
    }
    TensorInfo t;
    t.name = key;
    t.file = name;
    t.dtype = parse_dtype(name, key, e);
    t.shape = parse_shape(name, key, e);
    auto off = e.find("data_offsets");
    if (off == e.end() || !off->is_array() || off->size() != 2)
      corrupt(name, tensor_ctx(key) + "\"data_offsets\" must be an array [begin, end]");
    uint64_t b, en;
    if (!as_index((*off)[0], &b) || !as_index((*off)[1], &en))
      corrupt(name, tensor_ctx(key) + "\"data_offsets\" " + off->dump() + " are not non-negative integers");
    if (b > en) corrupt(name, tensor_ctx(key) + "data_offsets " + off->dump() + " has begin > end");
    if (en > data_size)
      corrupt(name, tensor_ctx(key) + "data_offsets " + off->dump() + " end beyond the data section (" +
                        std::to_string(data_size) + " bytes): truncated file?");
    const uint64_t want = expected_nbytes(name, key, t.dtype, t.shape);
    if (en - b != want)
      corrupt(name, tensor_ctx(key) + "holds " + std::to_string(en - b) + " bytes but " +
                        std::string(dtype_name(t.dtype)) + " " + t.shape_str() + " needs " +
                        std::to_string(want));
    t.offset = b;
    t.nbytes = size_t(want);
    t.data = base + b;
    file->tensors_.push_back(std::move(t));
  }
  // Tensors must tile the data section: sorted by offset, each begins where the last ended.
  std::vector<const TensorInfo*> order;
  for (const auto& t : file->tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->offset != b->offset ? a->offset < b->offset : a->nbytes < b->nbytes;
  });
  uint64_t pos = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo* t : order) {
    if (t->offset < pos)
      corrupt(name, tensor_ctx(t->name) + "data [" + std::to_string(t->offset) + ", " +
                        std::to_string(t->offset + t->nbytes) + ") overlaps tensor '" + prev->name + "'");
    if (t->offset > pos)
      corrupt(name, tensor_ctx(t->name) + "gap of " + std::to_string(t->offset - pos) +
                        " unindexed bytes before its data at offset " + std::to_string(t->offset));
    pos = t->offset + t->nbytes;
    prev = t;
  }
  if (pos != data_size)
    corrupt(name, "data section has " + std::to_string(data_size - pos) +
                      " trailing bytes not owned by any tensor");
  std::sort(file->tensors_.begin(), file->tensors_.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  return file;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto map = MappedFile::open(path);
  auto f = parse(map->data(), map->size(), path);
  f->map_ = std::move(map);
  return f;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorInfo& t, const std::string& n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

void SafetensorsCollection::add_shard(std::unique_ptr<SafetensorsFile> shard) {
  for (const auto& t : shard->tensors()) {
    auto [it, inserted] = by_name_.emplace(t.name, t);
    if (!inserted)
      fail(ErrorCode::kCorruptFile, shard->path(), ": tensor '", t.name, "' also appears in ",
           it->second.file);
  }
  files_.push_back(shard->path());
  shards_.push_back(std::move(shard));
}

SafetensorsCollection SafetensorsCollection::open_files(const std::vector<std::string>& paths) {
  SafetensorsCollection c;
  for (const auto& p : paths) c.add_shard(SafetensorsFile::open(p));
  return c;
}

namespace {

// weight_map of model.safetensors.index.json: tensor name -> shard file name.
std::map<std::string, std::string> read_index(const std::string& index_path) {
  auto map = MappedFile::open(index_path);
  const char* b = reinterpret_cast<const char*>(map->data());
  json j;
  try {
    j = json::parse(b, b + map->size());
  } catch (const json::parse_error& e) {
    corrupt(index_path, std::string("not valid JSON (at byte ") + std::to_string(e.byte) + ")");
  } catch (const json::exception& e) {
    corrupt(index_path, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    corrupt(index_path, "missing object \"weight_map\"");
  std::map<std::string, std::string> out;
  for (const auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string()) corrupt(index_path, "weight_map['" + name + "'] is not a string");
    std::string f = file.get<std::string>();
    // Shards are plain file names inside the checkpoint directory.
    if (f.empty() || f.find('/') != std::string::npos || f == "." || f == "..")
      corrupt(index_path, "weight_map['" + name + "'] names '" + f + "', not a file in the directory");
    out[name] = f;
  }
  return out;
}

}  // namespace

SafetensorsCollection SafetensorsCollection::open_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(ErrorCode::kNotFound, dir, ": not a directory");
  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  if (fs::exists(index_path, ec)) {
    auto weight_map = read_index(index_path);
    std::set<std::string> shard_names;
    for (const auto& [n, f] : weight_map) shard_names.insert(f);
    std::vector<std::string> paths;
    for (const auto& f : shard_names) paths.push_back((fs::path(dir) / f).string());
    SafetensorsCollection c = open_files(paths);
    // The index and the shards must agree exactly.
    for (const auto& [n, f] : weight_map) {
      const TensorInfo* t = c.find(n);
      if (!t) corrupt(index_path, "lists tensor '" + n + "' in " + f + ", which does not contain it");
      if (fs::path(t->file).filename() != f)
        corrupt(index_path, "lists tensor '" + n + "' in " + f + " but it is in " + t->file);
    }
    for (const auto& [n, t] : c.all()) {
      if (!weight_map.count(n)) corrupt(index_path, "does not list tensor '" + n + "' found in " + t.file);
    }
    return c;
  }
  std::vector<std::string> paths;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".safetensors") paths.push_back(e.path().string());
  }
  if (ec) fail(ErrorCode::kIo, dir, ": cannot list directory: ", ec.message());
  if (paths.empty())
    fail(ErrorCode::kNotFound, dir, ": no *.safetensors files and no model.safetensors.index.json");
  std::sort(paths.begin(), paths.end());
  return open_files(paths);
}

const TensorInfo* SafetensorsCollection::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

uint64_t SafetensorsCollection::total_bytes() const {
  uint64_t n = 0;
  for (const auto& [k, t] : by_name_) n += t.nbytes;
  return n;
}

}  // namespace ember
