// safetensors reader: mmapped, validated, single file or sharded (model.safetensors.index.json).
//
// Header validation (all failures are ember::Error kCorruptFile naming the file and tensor):
// 8-byte length within the file, JSON object, each entry {dtype, shape, data_offsets} well
// typed, known dtype, offsets inside the data section, begin <= end, byte length ==
// dtype size x shape product (overflow-checked), no two tensors overlapping.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"

namespace ember {

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // points into the mapping
  size_t nbytes = 0;
  std::string file;     // path of the file holding it (for error messages)
  uint64_t offset = 0;  // byte offset of the data within the file's data section

  int64_t numel() const;
  std::string shape_str() const;  // "[2048, 1536]"
};

class SafetensorsFile {
 public:
  // Opens and validates one .safetensors file.
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);
  // Parses an in-memory buffer (used by the fuzzer and tests; `name` labels errors).
  // The buffer must outlive the returned object.
  static std::unique_ptr<SafetensorsFile> parse(const uint8_t* data, size_t size, const std::string& name);

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const TensorInfo* find(const std::string& name) const;  // nullptr if absent

 private:
  std::string path_;
  std::shared_ptr<MappedFile> map_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a checkpoint directory: `model.safetensors.index.json` (weight_map) when
// present, else every `*.safetensors` in the directory. Tensor names must be unique across
// shards; the index must list only tensors the shards contain (and vice versa).
class SafetensorsCollection {
 public:
  static SafetensorsCollection open_dir(const std::string& dir);
  static SafetensorsCollection open_files(const std::vector<std::string>& paths);
  SafetensorsCollection() = default;
  SafetensorsCollection(SafetensorsCollection&&) = default;
  SafetensorsCollection& operator=(SafetensorsCollection&&) = default;

  const TensorInfo* find(const std::string& name) const;  // nullptr if absent
  const std::map<std::string, TensorInfo>& all() const { return by_name_; }
  const std::vector<std::string>& files() const { return files_; }
  uint64_t total_bytes() const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::map<std::string, TensorInfo> by_name_;
  std::vector<std::string> files_;
  void add_shard(std::unique_ptr<SafetensorsFile> shard);
};

}  // namespace ember
