// Writes .safetensors files from named tensors, for tests and tools. Besides valid files it can
// produce deliberately corrupt ones: tests edit the header JSON (`header()`) and the data bytes,
// then `assemble` them with an optional wrong header length or truncation.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace ember::testing {

struct RawTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // exactly dtype_size * prod(shape) for a valid file
};

// Encodes f32 values as `dtype` (F32, F16 or BF16) bytes.
std::vector<uint8_t> encode_floats(const std::vector<float>& v, DType dtype);
RawTensor float_tensor(std::vector<int64_t> shape, const std::vector<float>& v, DType dtype);
RawTensor u32_tensor(std::vector<int64_t> shape, const std::vector<uint8_t>& packed_bytes);

class SafetensorsWriter {
 public:
  void add(const std::string& name, RawTensor t) { tensors_[name] = std::move(t); }
  void set_metadata(const std::string& k, const std::string& v) { metadata_[k] = v; }
  const std::map<std::string, RawTensor>& tensors() const { return tensors_; }

  // Header JSON and data section of a valid file (tensors in name order, contiguous).
  nlohmann::json header() const;
  std::vector<uint8_t> data() const;

  // A whole file: 8-byte length (the real one unless `declared_len` is given), header text
  // padded with spaces to a multiple of 8 as the reference writer does, then `data`.
  static std::vector<uint8_t> assemble(const std::string& header_text, const std::vector<uint8_t>& data,
                                       int64_t declared_len = -1);
  std::vector<uint8_t> bytes() const { return assemble(header().dump(), data()); }
  void write(const std::string& path) const;

 private:
  std::map<std::string, RawTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

void write_file(const std::string& path, const std::vector<uint8_t>& bytes);
void write_text(const std::string& path, const std::string& text);

}  // namespace ember::testing
