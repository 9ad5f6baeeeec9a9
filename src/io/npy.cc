#include "io/npy.h"

#include <bit>
#include <cstdio>
#include <fstream>
#include <limits>
#include <optional>
#include <string_view>

#include "core/mapped_file.h"

namespace ember {

static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

const char* descr_of(DType t) {
  switch (t) {
    case DType::F32:
      return "<f4";
    case DType::I32:
      return "<i4";
    case DType::I64:
      return "<i8";
    default:
      return nullptr;
  }
}

// Overflow-checked product of the dims; nullopt if it does not fit int64.
std::optional<int64_t> checked_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return std::nullopt;
    n *= d;
  }
  return n;
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Parser for the header: a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (20, 256), }
// Exactly the three keys, each once; values a quoted string, True/False, a tuple of ints.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : s_(text), name_(name) {}

  void parse(std::string* descr, bool* fortran, std::vector<int64_t>* shape) {
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') break;
      std::string key = quoted();
      expect(':');
      if (key == "descr" && !seen_descr) {
        *descr = quoted(), seen_descr = true;
      } else if (key == "fortran_order" && !seen_fortran) {
        *fortran = boolean(), seen_fortran = true;
      } else if (key == "shape" && !seen_shape) {
        *shape = tuple(), seen_shape = true;
      } else {
        bad("unexpected or repeated key '" + key + "'");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_ws();
      if (peek() != '}') bad("expected ',' or '}'");
    }
    ++pos_;
    skip_ws();
    if (pos_ != s_.size()) bad("trailing characters after the dict");
    if (!seen_descr || !seen_fortran || !seen_shape) bad("missing 'descr', 'fortran_order' or 'shape'");
  }

 private:
  [[noreturn]] void bad(const std::string& what) {
    fail(ErrorCode::kCorruptFile, name_, ": npy header: ", what, " at offset ", pos_, " in \"",
         s_.substr(0, 160), "\"");
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string quoted() {
    skip_ws();
    char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string");
    size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_ws();
    if (s_.substr(pos_, 4) == "True") return pos_ += 4, true;
    if (s_.substr(pos_, 5) == "False") return pos_ += 5, false;
    bad("expected True or False");
  }
  int64_t integer() {
    skip_ws();
    int64_t v = 0;
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      int digit = s_[pos_++] - '0';
      if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) bad("dimension too large");
      v = v * 10 + digit;
    }
    if (pos_ == start) bad("expected a non-negative integer");
    if (peek() == 'L') ++pos_;  // Python 2 long suffix, still accepted by numpy
    return v;
  }
  // "()", "(5,)", "(2, 3)", "(2, 3,)". "(5)" is an int in Python, not a tuple: rejected.
  std::vector<int64_t> tuple() {
    std::vector<int64_t> dims;
    expect('(');
    skip_ws();
    if (peek() == ')') return ++pos_, dims;
    bool trailing_comma = false;
    while (true) {
      dims.push_back(integer());
      skip_ws();
      trailing_comma = peek() == ',';
      if (trailing_comma) ++pos_, skip_ws();
      if (peek() == ')') break;
      if (!trailing_comma) bad("expected ',' or ')' in shape");
    }
    ++pos_;
    if (dims.size() == 1 && !trailing_comma) bad("one-element shape must be written '(n,)'");
    return dims;
  }

  std::string_view s_;
  const std::string& name_;
  size_t pos_ = 0;
};

DType dtype_from_descr(const std::string& descr, const std::string& name) {
  if (descr == "<f4") return DType::F32;
  if (descr == "<i4") return DType::I32;
  if (descr == "<i8") return DType::I64;
  fail(ErrorCode::kUnsupported, name, ": npy dtype '", descr,
       "' is not supported (expected little-endian '<f4', '<i4' or '<i8')");
}

}  // namespace

int64_t NpyArray::numel() const { return checked_numel(shape).value_or(-1); }

std::string NpyArray::shape_str() const { return shape_to_string(shape); }

void NpyArray::check_type(size_t size, DType want) const {
  if (dtype != want || dtype_size(dtype) != size) {
    fail(ErrorCode::kInvalidArgument, "npy array holds ", dtype_name(dtype), ", requested ",
         dtype_name(want));
  }
}

NpyArray parse_npy(const uint8_t* data, size_t size, const std::string& name) {
  if (size < kMagicLen + 2 || std::memcmp(data, kMagic, kMagicLen) != 0) {
    fail(ErrorCode::kCorruptFile, name, ": not a .npy file (missing \\x93NUMPY magic)");
  }
  const uint8_t major = data[6], minor = data[7];
  if (major < 1 || major > 3 || minor != 0) {
    fail(ErrorCode::kUnsupported, name, ": npy format version ", int(major), ".", int(minor),
         " is not supported");
  }
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t prefix = kMagicLen + 2 + len_bytes;
  if (size < prefix) fail(ErrorCode::kCorruptFile, name, ": truncated npy header length");
  uint64_t header_len = 0;
  for (size_t i = 0; i < len_bytes; ++i) header_len |= uint64_t(data[8 + i]) << (8 * i);
  if (header_len > size - prefix) {
    fail(ErrorCode::kCorruptFile, name, ": npy header length ", header_len, " exceeds the file (", size,
         " bytes)");
  }
  std::string_view header(reinterpret_cast<const char*>(data + prefix), header_len);
  if (header.empty() || header.back() != '\n') {
    fail(ErrorCode::kCorruptFile, name, ": npy header does not end with a newline");
  }
  std::string descr;
  bool fortran = false;
  NpyArray arr;
  HeaderParser(header, name).parse(&descr, &fortran, &arr.shape);
  arr.dtype = dtype_from_descr(descr, name);
  if (fortran) fail(ErrorCode::kUnsupported, name, ": Fortran-order npy arrays are not supported");
  auto n = checked_numel(arr.shape);
  const size_t data_size = size - prefix - header_len;
  const size_t item = dtype_size(arr.dtype);
  if (!n || uint64_t(*n) > std::numeric_limits<size_t>::max() / item || uint64_t(*n) * item != data_size) {
    fail(ErrorCode::kCorruptFile, name, ": npy shape ", shape_to_string(arr.shape), " of ", descr, " needs ",
         n ? std::to_string(uint64_t(*n) * item) : std::string("too many"), " data bytes, file has ",
         data_size);
  }
  const uint8_t* body = data + prefix + header_len;
  arr.bytes.assign(body, body + data_size);
  return arr;
}

NpyArray read_npy(const std::string& path) {
  auto file = MappedFile::open(path);
  return parse_npy(file->data(), file->size(), path);
}

std::vector<uint8_t> encode_npy(DType dtype, const void* data, const std::vector<int64_t>& shape) {
  const char* descr = descr_of(dtype);
  if (!descr) fail(ErrorCode::kInvalidArgument, "npy writer: unsupported dtype ", dtype_name(dtype));
  auto n = checked_numel(shape);
  if (!n) fail(ErrorCode::kInvalidArgument, "npy writer: invalid shape ", shape_to_string(shape));
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // "(2, 3)" but "(5,)" and "()"
  if (shape.size() == 1) dims.pop_back();
  std::string header =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad with spaces so magic + version + length + header is a multiple of 64, ending in '\n'.
  size_t prefix = kMagicLen + 2 + 2;
  if ((prefix + header.size() + 1 + 63) / 64 * 64 - prefix > 0xffff) prefix = kMagicLen + 2 + 4;
  const size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');

  const size_t nbytes = size_t(*n) * dtype_size(dtype);
  std::vector<uint8_t> out(total + nbytes);
  std::memcpy(out.data(), kMagic, kMagicLen);
  out[6] = prefix == 10 ? 1 : 2;  // version 1.0 (uint16 length) or 2.0 (uint32 length)
  out[7] = 0;
  for (size_t i = 0; i < prefix - 8; ++i) out[8 + i] = uint8_t(header.size() >> (8 * i));
  std::memcpy(out.data() + prefix, header.data(), header.size());
  if (nbytes) std::memcpy(out.data() + total, data, nbytes);
  return out;
}

void write_npy(const std::string& path, DType dtype, const void* data, const std::vector<int64_t>& shape) {
  std::vector<uint8_t> bytes = encode_npy(dtype, data, shape);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) fail(ErrorCode::kIo, path, ": cannot open for writing");
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  f.close();
  if (!f) fail(ErrorCode::kIo, path, ": write failed");
}

}  // namespace ember
