#include "util/safetensors_writer.h"

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace ember::testing {

std::vector<uint8_t> encode_floats(const std::vector<float>& v, DType dtype) {
  std::vector<uint8_t> out(v.size() * dtype_size(dtype));
  for (size_t i = 0; i < v.size(); ++i) {
    if (dtype == DType::F32) {
      std::memcpy(&out[4 * i], &v[i], 4);
    } else if (dtype == DType::BF16 || dtype == DType::F16) {
      uint16_t h = dtype == DType::BF16 ? f32_to_bf16(v[i]) : f32_to_f16(v[i]);
      std::memcpy(&out[2 * i], &h, 2);
    } else {
      throw std::invalid_argument("encode_floats: unsupported dtype");
    }
  }
  return out;
}

RawTensor float_tensor(std::vector<int64_t> shape, const std::vector<float>& v, DType dtype) {
  return RawTensor{dtype, std::move(shape), encode_floats(v, dtype)};
}

RawTensor u32_tensor(std::vector<int64_t> shape, const std::vector<uint8_t>& packed_bytes) {
  return RawTensor{DType::U32, std::move(shape), packed_bytes};
}

nlohmann::json SafetensorsWriter::header() const {
  nlohmann::json h = nlohmann::json::object();
  if (!metadata_.empty()) h["__metadata__"] = metadata_;
  uint64_t off = 0;
  for (const auto& [name, t] : tensors_) {
    h[name] = {{"dtype", std::string(dtype_name(t.dtype))},
               {"shape", t.shape},
               {"data_offsets", {off, off + t.bytes.size()}}};
    off += t.bytes.size();
  }
  return h;
}

std::vector<uint8_t> SafetensorsWriter::data() const {
  std::vector<uint8_t> d;
  for (const auto& [name, t] : tensors_) d.insert(d.end(), t.bytes.begin(), t.bytes.end());
  return d;
}

std::vector<uint8_t> SafetensorsWriter::assemble(const std::string& header_text,
                                                 const std::vector<uint8_t>& data, int64_t declared_len) {
  std::string h = header_text;
  while (h.size() % 8) h += ' ';
  uint64_t n = declared_len >= 0 ? uint64_t(declared_len) : h.size();
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(n >> (8 * i));
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void SafetensorsWriter::write(const std::string& path) const { write_file(path, bytes()); }

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw std::runtime_error("cannot write " + path);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!f) throw std::runtime_error("short write to " + path);
}

void write_text(const std::string& path, const std::string& text) {
  write_file(path, std::vector<uint8_t>(text.begin(), text.end()));
}

}  // namespace ember::testing
