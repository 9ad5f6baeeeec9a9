// NumPy .npy files: reader and writer for the few array kinds ember exchanges with Python
// (golden logits from the reference implementations, `ember logits --out x.npy`, dumps).
//
// Supported: format versions 1.0, 2.0 and 3.0 (3.0 = 2.0 with a UTF-8 header), little-endian
// float32 ('<f4'), int32 ('<i4') and int64 ('<i8'), C order, any rank (0-d included).
// Anything else is rejected with an ember::Error naming the file and what was wrong:
// kCorruptFile for malformed bytes (bad magic, truncated header, unparsable header dict,
// data size that does not match the shape), kUnsupported for valid but unhandled files
// (big-endian, Fortran order, other dtypes). The writer emits version 1.0 (2.0 only when the
// header would not fit 64 KiB), padded to a multiple of 64 bytes as numpy does.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace ember {

struct NpyArray {
  DType dtype = DType::F32;    // F32, I32 or I64
  std::vector<int64_t> shape;  // empty for a 0-d array
  std::vector<uint8_t> bytes;  // little-endian elements, C order

  int64_t numel() const;
  std::string shape_str() const;  // "[20, 256]"

  // A copy of the elements; throws kInvalidArgument if T does not match dtype.
  template <typename T>
  std::vector<T> values() const {
    check_type(sizeof(T), type_tag<T>());
    std::vector<T> out(bytes.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }

 private:
  template <typename T>
  static DType type_tag();
  void check_type(size_t size, DType want) const;
};

template <>
inline DType NpyArray::type_tag<float>() {
  return DType::F32;
}
template <>
inline DType NpyArray::type_tag<int32_t>() {
  return DType::I32;
}
template <>
inline DType NpyArray::type_tag<int64_t>() {
  return DType::I64;
}

// Reads and validates a .npy file.
NpyArray read_npy(const std::string& path);
// Parses .npy bytes held in memory; `name` labels errors (a path, "<fuzz input>").
NpyArray parse_npy(const uint8_t* data, size_t size, const std::string& name);

// Encodes `numel(shape)` elements of `dtype` (F32, I32 or I64) as .npy bytes.
std::vector<uint8_t> encode_npy(DType dtype, const void* data, const std::vector<int64_t>& shape);

// Writes a .npy file (throws kIo naming the path if it cannot be written).
void write_npy(const std::string& path, DType dtype, const void* data, const std::vector<int64_t>& shape);
inline void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  write_npy(path, DType::F32, data, shape);
}
inline void write_npy(const std::string& path, const int32_t* data, const std::vector<int64_t>& shape) {
  write_npy(path, DType::I32, data, shape);
}
inline void write_npy(const std::string& path, const int64_t* data, const std::vector<int64_t>& shape) {
  write_npy(path, DType::I64, data, shape);
}

}  // namespace ember
