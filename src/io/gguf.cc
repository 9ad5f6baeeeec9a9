#include "io/gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <sstream>

#include "core/status.h"
#include "quant/gguf_types.h"

namespace ember {

const char* gguf_value_type_name(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
      return "u8";
    case GgufValueType::kI8:
      return "i8";
    case GgufValueType::kU16:
      return "u16";
    case GgufValueType::kI16:
      return "i16";
    case GgufValueType::kU32:
      return "u32";
    case GgufValueType::kI32:
      return "i32";
    case GgufValueType::kF32:
      return "f32";
    case GgufValueType::kBool:
      return "bool";
    case GgufValueType::kString:
      return "string";
    case GgufValueType::kArray:
      return "array";
    case GgufValueType::kU64:
      return "u64";
    case GgufValueType::kI64:
      return "i64";
    case GgufValueType::kF64:
      return "f64";
  }
  return "?";
}

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian u32
constexpr int kMaxArrayDepth = 8;
// Nested arrays are parsed into GgufValue nodes (~150 bytes for a 12-byte minimum on disk);
// capping their total keeps a hostile file from turning its size into 12x as much memory.
constexpr uint64_t kMaxNestedArrays = uint64_t(1) << 20;
constexpr int kMaxDims = 4;  // GGML_MAX_DIMS

// Bytes of one fixed-size value; 0 for string/array (variable) and unknown types.
size_t fixed_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kU16:
    case GgufValueType::kI16:
      return 2;
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kF32:
      return 4;
    case GgufValueType::kU64:
    case GgufValueType::kI64:
    case GgufValueType::kF64:
      return 8;
    default:
      return 0;
  }
}

bool known_value_type(uint32_t t) { return t <= uint32_t(GgufValueType::kF64); }

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Reads a fixed-size scalar of type t at p into v.
void decode_scalar(GgufValueType t, const uint8_t* p, GgufValue& v) {
  switch (t) {
    case GgufValueType::kU8:
      v.u = p[0];
      break;
    case GgufValueType::kI8:
      v.i = int8_t(p[0]);
      break;
    case GgufValueType::kBool:
      v.i = p[0];
      break;
    case GgufValueType::kU16:
      v.u = load<uint16_t>(p);
      break;
    case GgufValueType::kI16:
      v.i = load<int16_t>(p);
      break;
    case GgufValueType::kU32:
      v.u = load<uint32_t>(p);
      break;
    case GgufValueType::kI32:
      v.i = load<int32_t>(p);
      break;
    case GgufValueType::kU64:
      v.u = load<uint64_t>(p);
      break;
    case GgufValueType::kI64:
      v.i = load<int64_t>(p);
      break;
    case GgufValueType::kF32:
      v.f = load<float>(p);
      break;
    case GgufValueType::kF64:
      v.f = load<double>(p);
      break;
    default:
      break;
  }
}

bool is_unsigned(GgufValueType t) {
  return t == GgufValueType::kU8 || t == GgufValueType::kU16 || t == GgufValueType::kU32 ||
         t == GgufValueType::kU64;
}

}  // namespace

bool GgufValue::is_integer() const {
  return is_unsigned(type) || type == GgufValueType::kI8 || type == GgufValueType::kI16 ||
         type == GgufValueType::kI32 || type == GgufValueType::kI64;
}

int64_t GgufValue::int_at(uint64_t k) const {
  EMBER_CHECK(type == GgufValueType::kArray && raw && k < count);
  GgufValue e;
  decode_scalar(elem_type, raw + k * fixed_size(elem_type), e);
  if (is_unsigned(elem_type)) return e.u > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(e.u);
  if (elem_type == GgufValueType::kF32 || elem_type == GgufValueType::kF64) return int64_t(e.f);
  return e.i;
}

double GgufValue::float_at(uint64_t k) const {
  EMBER_CHECK(type == GgufValueType::kArray && raw && k < count);
  GgufValue e;
  decode_scalar(elem_type, raw + k * fixed_size(elem_type), e);
  if (elem_type == GgufValueType::kF32 || elem_type == GgufValueType::kF64) return e.f;
  return is_unsigned(elem_type) ? double(e.u) : double(e.i);
}

std::string GgufValue::to_string(size_t max_items) const {
  std::ostringstream os;
  switch (type) {
    case GgufValueType::kString: {
      std::string_view s = str.substr(0, 120);
      os << '"' << s << (s.size() < str.size() ? "..." : "") << '"';
      break;
    }
    case GgufValueType::kBool:
      os << (i ? "true" : "false");
      break;
    case GgufValueType::kF32:
    case GgufValueType::kF64:
      os << f;
      break;
    case GgufValueType::kArray: {
      os << gguf_value_type_name(elem_type) << "[" << count << "] [";
      uint64_t n = std::min<uint64_t>(count, max_items);
      for (uint64_t k = 0; k < n; ++k) {
        if (k) os << ", ";
        if (elem_type == GgufValueType::kString)
          os << '"' << strings[k].substr(0, 40) << '"';
        else if (elem_type == GgufValueType::kArray)
          os << items[k].to_string(2);
        else if (elem_type == GgufValueType::kF32 || elem_type == GgufValueType::kF64)
          os << float_at(k);
        else
          os << int_at(k);
      }
      os << (n < count ? ", ...]" : "]");
      break;
    }
    default:
      os << (is_unsigned(type) ? std::to_string(u) : std::to_string(i));
      break;
  }
  return os.str();
}

int64_t GgufTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;  // overflow excluded at parse time
  return n;
}

std::string GgufTensor::shape_str() const {
  std::string s = "[";
  for (size_t k = 0; k < ne.size(); ++k) s += (k ? ", " : "") + std::to_string(ne[k]);
  return s + "]";
}

std::string GgufTensor::type_name() const { return gguf::ggml_type_name(type); }

// Cursor over the untrusted bytes: every read is bounds-checked and failures name the file,
// the byte offset and what was being read (`ctx_`: "key 'x'" / "tensor 'y'").
class GgufFile::Parser {
 public:
  Parser(GgufFile& f, const uint8_t* data, size_t size) : f_(f), p_(data), size_(size) {}

  void run() {
    header();
    for (uint64_t k = 0; k < n_kv_; ++k) kv(k);
    alignment();
    for (uint64_t k = 0; k < n_tensors_; ++k) tensor_info(k);
    data_section();
  }

 private:
  [[noreturn]] void bad(uint64_t at, const std::string& what) const {
    fail(ErrorCode::kCorruptFile, f_.path_, ": corrupt GGUF at byte ", at, (ctx_.empty() ? "" : " ("), ctx_,
         (ctx_.empty() ? "" : ")"), ": ", what);
  }
  size_t remaining() const { return size_ - pos_; }
  void need(uint64_t n, const char* what) const {
    if (n > remaining())
      bad(pos_, detail::concat("truncated: ", what, " needs ", n, " bytes, ", remaining(), " left"));
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v = load<T>(p_ + pos_);
    pos_ += sizeof(T);
    return v;
  }
  std::string_view read_string(const char* what) {
    uint64_t at = pos_;
    uint64_t len = read<uint64_t>(what);
    if (len > remaining())
      bad(at, detail::concat(what, " length ", len, " exceeds the ", remaining(), " bytes left"));
    std::string_view s(reinterpret_cast<const char*>(p_ + pos_), size_t(len));
    pos_ += len;
    return s;
  }

  void header() {
    need(24, "header (magic, version, counts)");
    uint32_t magic = read<uint32_t>("magic");
    if (magic != kMagic) bad(0, "bad magic (not a GGUF file)");
    f_.version_ = read<uint32_t>("version");
    if (f_.version_ == 1) bad(4, "GGUF version 1 (32-bit counts) is not supported; re-convert the file");
    if ((f_.version_ & 0xffff) == 0 && f_.version_ != 0) bad(4, "big-endian GGUF is not supported");
    if (f_.version_ != 2 && f_.version_ != 3) bad(4, detail::concat("unsupported version ", f_.version_));
    n_tensors_ = read<uint64_t>("tensor count");
    n_kv_ = read<uint64_t>("metadata count");
    // Each kv needs >= 13 bytes (key length, type, 1-byte value); each tensor info >= 24.
    if (n_kv_ > remaining() / 13) bad(16, detail::concat("metadata count ", n_kv_, " cannot fit the file"));
    if (n_tensors_ > remaining() / 24)
      bad(8, detail::concat("tensor count ", n_tensors_, " cannot fit the file"));
  }

  void kv(uint64_t k) {
    ctx_ = detail::concat("metadata entry ", k);
    uint64_t at = pos_;
    std::string_view key = read_string("key");
    if (key.empty()) bad(at, "empty key");
    ctx_ = detail::concat("key '", key, "'");
    std::string skey(key);
    if (f_.kv_index_.count(skey)) bad(at, "duplicate key");
    GgufValue v;
    v.offset = pos_;
    uint32_t type = read<uint32_t>("value type");
    if (!known_value_type(type)) bad(v.offset, detail::concat("unknown value type ", type));
    v.type = GgufValueType(type);
    value(v, 0);
    f_.kv_index_.emplace(skey, f_.kv_.size());
    f_.kv_.emplace_back(std::move(skey), std::move(v));
  }

  // Reads the value of v.type at pos_ (v.type already set).
  void value(GgufValue& v, int depth) {
    v.offset = v.offset ? v.offset : pos_;
    if (v.type == GgufValueType::kString) {
      v.str = read_string("string value");
    } else if (v.type == GgufValueType::kArray) {
      array(v, depth);
    } else {
      size_t n = fixed_size(v.type);
      need(n, gguf_value_type_name(v.type));
      if (v.type == GgufValueType::kBool && p_[pos_] > 1)
        bad(pos_, detail::concat("bool value ", int(p_[pos_]), " is not 0 or 1"));
      decode_scalar(v.type, p_ + pos_, v);
      pos_ += n;
    }
  }

  void array(GgufValue& v, int depth) {
    if (depth >= kMaxArrayDepth) bad(pos_, detail::concat("arrays nested deeper than ", kMaxArrayDepth));
    uint64_t at = pos_;
    uint32_t et = read<uint32_t>("array element type");
    if (!known_value_type(et)) bad(at, detail::concat("unknown array element type ", et));
    v.elem_type = GgufValueType(et);
    v.count = read<uint64_t>("array length");
    size_t es = fixed_size(v.elem_type);
    // Minimum bytes per element: fixed size, 8 (string length), 12 (array type + length).
    size_t min_es = es ? es : (v.elem_type == GgufValueType::kString ? 8 : 12);
    if (v.count > remaining() / min_es)
      bad(at, detail::concat("array of ", v.count, " ", gguf_value_type_name(v.elem_type), " cannot fit the ",
                             remaining(), " bytes left"));
    if (es) {
      v.raw = p_ + pos_;
      if (v.elem_type == GgufValueType::kBool)
        for (uint64_t k = 0; k < v.count; ++k)
          if (v.raw[k] > 1) bad(pos_ + k, detail::concat("bool array element ", k, " is not 0 or 1"));
      pos_ += v.count * es;
    } else if (v.elem_type == GgufValueType::kString) {
      v.strings.reserve(v.count);
      for (uint64_t k = 0; k < v.count; ++k) v.strings.push_back(read_string("array string"));
    } else {
      nested_ += v.count;
      if (nested_ > kMaxNestedArrays)
        bad(at, detail::concat("more than ", kMaxNestedArrays, " nested arrays in the metadata"));
      v.items.reserve(v.count);
      for (uint64_t k = 0; k < v.count; ++k) {
        GgufValue item;
        item.type = GgufValueType::kArray;
        item.offset = pos_;
        array(item, depth + 1);
        v.items.push_back(std::move(item));
      }
    }
  }

  void alignment() {
    ctx_ = "key 'general.alignment'";
    const GgufValue* a = f_.find("general.alignment");
    if (!a) return;
    if (a->type != GgufValueType::kU32)
      bad(a->offset, detail::concat("must be u32, found ", gguf_value_type_name(a->type)));
    if (a->u == 0 || (a->u & (a->u - 1)) != 0)
      bad(a->offset, detail::concat("alignment ", a->u, " is not a power of two"));
    f_.alignment_ = uint32_t(a->u);
  }

  void tensor_info(uint64_t k) {
    ctx_ = detail::concat("tensor info ", k);
    GgufTensor t;
    t.info_offset = pos_;
    std::string_view name = read_string("tensor name");
    if (name.empty()) bad(t.info_offset, "empty tensor name");
    t.name = std::string(name);
    ctx_ = detail::concat("tensor '", t.name, "'");
    if (f_.tensor_index_.count(t.name)) bad(t.info_offset, "duplicate tensor name");
    uint64_t at = pos_;
    uint32_t n_dims = read<uint32_t>("n_dims");
    if (n_dims > kMaxDims) bad(at, detail::concat("n_dims ", n_dims, " exceeds ", kMaxDims));
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      at = pos_;
      uint64_t n = read<uint64_t>("dimension");
      if (n > uint64_t(INT64_MAX)) bad(at, detail::concat("dimension ", d, " = ", n, " is too large"));
      if (n != 0 && numel > uint64_t(INT64_MAX) / n) bad(at, "element count overflows");
      numel *= n;
      t.ne.push_back(int64_t(n));
    }
    at = pos_;
    uint32_t type = read<uint32_t>("tensor type");
    t.type = int(type);
    gguf::GgmlTypeInfo ti = gguf::ggml_type_info(t.type);
    if (!ti.name || ti.removed) bad(at, gguf::ggml_type_name(t.type));
    int64_t ne0 = t.ne.empty() ? 1 : t.ne[0];
    if (ne0 % ti.block_size != 0)
      bad(at, detail::concat("ne[0] = ", ne0, " is not a multiple of the ", ti.name, " block size ",
                             ti.block_size));
    uint64_t blocks = numel / uint64_t(ti.block_size);
    if (blocks > std::numeric_limits<uint64_t>::max() / uint64_t(ti.type_size))
      bad(at, "byte size overflows");
    t.nbytes = size_t(blocks * uint64_t(ti.type_size));
    at = pos_;
    t.offset = read<uint64_t>("tensor data offset");
    f_.tensor_index_.emplace(t.name, f_.tensors_.size());
    f_.tensors_.push_back(std::move(t));
    offset_pos_.push_back(at);
  }

  void data_section() {
    uint64_t align = f_.alignment_;
    uint64_t start = (pos_ + align - 1) / align * align;  // pos_ <= size_ so no overflow
    f_.data_offset_ = start;
    if (f_.tensors_.empty()) return;
    if (start > size_) {
      ctx_.clear();
      bad(pos_, detail::concat("data section (aligned to ", align, ") starts past the end of the file"));
    }
    uint64_t data_size = size_ - start;
    std::vector<size_t> order(f_.tensors_.size());
    for (size_t k = 0; k < order.size(); ++k) {
      GgufTensor& t = f_.tensors_[k];
      ctx_ = detail::concat("tensor '", t.name, "'");
      if (t.offset % align != 0)
        bad(offset_pos_[k], detail::concat("data offset ", t.offset, " is not aligned to ", align));
      if (t.offset > data_size || t.nbytes > data_size - t.offset)
        bad(offset_pos_[k], detail::concat("data [", t.offset, ", +", t.nbytes, ") lies outside the ",
                                           data_size, "-byte data section"));
      t.data = p_ + start + t.offset;
      order[k] = k;
    }
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return f_.tensors_[a].offset < f_.tensors_[b].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
      const GgufTensor& prev = f_.tensors_[order[k - 1]];
      const GgufTensor& cur = f_.tensors_[order[k]];
      ctx_ = detail::concat("tensor '", cur.name, "'");
      if (prev.nbytes && cur.nbytes && prev.offset + prev.nbytes > cur.offset)
        bad(offset_pos_[order[k]], detail::concat("data overlaps tensor '", prev.name, "'"));
    }
  }

  GgufFile& f_;
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  uint64_t n_kv_ = 0, n_tensors_ = 0;
  uint64_t nested_ = 0;  // nested arrays parsed so far
  std::string ctx_;
  std::vector<uint64_t> offset_pos_;  // file offset of each tensor's data-offset field
};

std::unique_ptr<GgufFile> GgufFile::parse(const uint8_t* data, size_t size, const std::string& name) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = name;
  f->size_ = size;
  Parser(*f, data, size).run();
  return f;
}

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  auto map = MappedFile::open(path);
  auto f = parse(map->data(), map->size(), path);
  f->map_ = std::move(map);
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufTensor* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensor& GgufFile::tensor(std::string_view name) const {
  const GgufTensor* t = find_tensor(name);
  if (!t) fail(ErrorCode::kNotFound, path_, ": no tensor '", name, "'");
  return *t;
}

Matrix GgufFile::matrix(const GgufTensor& t, int64_t slice) const {
  size_t nd = t.ne.size();
  for (size_t d = 3; d < nd; ++d)
    if (t.ne[d] != 1)
      fail(ErrorCode::kInvalidCheckpoint, path_, ": tensor '", t.name, "' ", t.shape_str(),
           " has more than 3 dimensions");
  int64_t depth = nd >= 3 ? t.ne[2] : 1;
  if (slice < 0 || slice >= depth)
    fail(ErrorCode::kInvalidArgument, path_, ": tensor '", t.name, "' ", t.shape_str(), ": slice ", slice,
         " out of range");
  gguf::GgmlTypeInfo ti = gguf::ggml_type_info(t.type);
  Matrix m;
  m.name = t.name;
  m.cols = nd >= 1 ? t.ne[0] : 1;
  m.rows = nd >= 2 ? t.ne[1] : 1;
  m.gguf_type = t.type;
  m.row_bytes = size_t(m.cols / ti.block_size) * size_t(ti.type_size);
  m.data = t.data + size_t(slice) * size_t(m.rows) * m.row_bytes;
  switch (t.type) {
    case gguf::kF32:
      m.format = WeightFormat::kDense;
      m.dtype = DType::F32;
      break;
    case gguf::kF16:
      m.format = WeightFormat::kDense;
      m.dtype = DType::F16;
      break;
    case gguf::kBF16:
      m.format = WeightFormat::kDense;
      m.dtype = DType::BF16;
      break;
    default:
      m.format = WeightFormat::kGguf;
      m.group_size = ti.block_size;
      break;
  }
  return m;
}

}  // namespace ember
