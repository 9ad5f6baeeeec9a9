// GGUF reader: the fixture written by gguf.GGUFWriter (every value type, tensors of several
// types), typed getters, tokenizer extraction, and corrupt files built byte by byte.
#include "io/gguf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ember/error.hpp"
#include "quant/gguf_quants.h"

namespace ember {
namespace {

std::string fixture(const std::string& name) {
  return std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gguf/" + name;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

TEST(Gguf, TinyFileMetadataOfEveryType) {
  auto f = GgufFile::open(fixture("tiny.gguf"));
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->architecture(), "tinyarch");
  EXPECT_EQ(f->arch_key("block_count"), "tinyarch.block_count");
  EXPECT_EQ(f->get_u32("test.u8"), 200u);
  EXPECT_EQ(f->get_i32("test.i8"), -100);
  EXPECT_EQ(f->get_u32("test.u16"), 60000u);
  EXPECT_EQ(f->get_i32("test.i16"), -30000);
  EXPECT_EQ(f->get_u32("test.u32"), 4000000000u);
  EXPECT_EQ(f->get_i32("test.i32"), -2000000000);
  EXPECT_EQ(f->get_f32("test.f32"), 0.15625f);
  EXPECT_TRUE(f->get_bool("test.bool"));
  EXPECT_EQ(f->get_string("test.string"), "h\xC3\xA9llo \xE2\x96\x81world");
  EXPECT_EQ(f->get_u64("test.u64"), 18000000000000000000ull);
  EXPECT_EQ(f->get_i64("test.i64"), -9000000000000000000ll);
  EXPECT_EQ(f->get_f64("test.f64"), 2.718281828459045);
  EXPECT_EQ(f->get_i32_array("test.arr_i32"), (std::vector<int32_t>{1, -2, 3}));
  EXPECT_EQ(f->get_i32_array("test.arr_u16"), (std::vector<int32_t>{1, 2, 65535}));
  EXPECT_EQ(f->get_f32_array("test.arr_f32"), (std::vector<float>{0.5f, -1.25f}));
  const GgufValue& b = f->get_array("test.arr_bool");
  ASSERT_EQ(b.count, 3u);
  EXPECT_EQ(b.int_at(0), 1);
  EXPECT_EQ(b.int_at(1), 0);
  EXPECT_EQ(f->get_string_array("test.arr_str"), (std::vector<std::string>{"a", "",
                                                                           "\xE2\x96\x81"
                                                                           "b c"}));
  const GgufValue& nested = f->get_array("test.arr_nested");
  ASSERT_EQ(nested.elem_type, GgufValueType::kArray);
  ASSERT_EQ(nested.items.size(), 2u);
  EXPECT_EQ(nested.items[0].count, 2u);
  EXPECT_EQ(nested.items[0].int_at(1), 2);
  EXPECT_EQ(nested.items[1].int_at(0), 3);
  // Every key of the generator's manifest is present with its recorded type.
  auto manifest = nlohmann::json::parse(read_bytes(fixture("tiny.json")));
  for (auto& [key, v] : manifest["metadata"].items()) {
    const GgufValue* got = f->find(key);
    ASSERT_NE(got, nullptr) << key;
    std::string want = v["type"];
    std::string have = gguf_value_type_name(got->type);
    EXPECT_TRUE((want == "UINT8" && have == "u8") || (want == "INT8" && have == "i8") ||
                (want == "UINT16" && have == "u16") || (want == "INT16" && have == "i16") ||
                (want == "UINT32" && have == "u32") || (want == "INT32" && have == "i32") ||
                (want == "FLOAT32" && have == "f32") || (want == "BOOL" && have == "bool") ||
                (want == "STRING" && have == "string") || (want == "ARRAY" && have == "array") ||
                (want == "UINT64" && have == "u64") || (want == "INT64" && have == "i64") ||
                (want == "FLOAT64" && have == "f64"))
        << key << ": " << want << " vs " << have;
  }
}

TEST(Gguf, GettersRejectWrongTypes) {
  auto f = GgufFile::open(fixture("tiny.gguf"));
  auto expect_code = [&](const std::function<void()>& fn, ErrorCode code, const char* needle) {
    try {
      fn();
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_code([&] { f->get_u32("test.string"); }, ErrorCode::kInvalidCheckpoint, "'test.string'");
  expect_code([&] { f->get_u32("test.i8"); }, ErrorCode::kInvalidCheckpoint, "out of range");
  expect_code([&] { f->get_i32("test.u32"); }, ErrorCode::kInvalidCheckpoint, "out of range");
  expect_code([&] { f->get_string("test.u8"); }, ErrorCode::kInvalidCheckpoint, "expected string");
  expect_code([&] { f->get_f32("test.bool"); }, ErrorCode::kInvalidCheckpoint, "expected f32");
  expect_code([&] { f->get_string_array("test.arr_i32"); }, ErrorCode::kInvalidCheckpoint, "array of i32");
  expect_code([&] { f->get_f32_array("test.arr_str"); }, ErrorCode::kInvalidCheckpoint,
              "expected array of f32");
  expect_code([&] { f->get_u32("no.such.key"); }, ErrorCode::kNotFound, "no.such.key");
  expect_code([&] { f->tensor("nope"); }, ErrorCode::kNotFound, "nope");
  EXPECT_FALSE(f->opt_u32("no.such.key").has_value());
}

TEST(Gguf, TinyFileTensorsMatchPythonDequant) {
  auto f = GgufFile::open(fixture("tiny.gguf"));
  auto manifest = nlohmann::json::parse(read_bytes(fixture("tiny.json")));
  std::vector<uint8_t> deq_raw = read_bytes(fixture("tiny.f32"));
  ASSERT_EQ(f->tensors().size(), manifest["tensors"].size());
  for (auto& jt : manifest["tensors"]) {
    std::string name = jt["name"];
    SCOPED_TRACE(name);
    const GgufTensor& t = f->tensor(name);
    EXPECT_EQ(t.type_name(), jt["type"].get<std::string>());
    EXPECT_EQ(t.ne, jt["ne"].get<std::vector<int64_t>>());
    EXPECT_EQ(uint64_t(t.data - f->tensors()[0].data + f->tensors()[0].offset) % f->alignment(), 0u);
    int64_t slices = t.ne.size() >= 3 ? t.ne[2] : 1;
    size_t base = jt["f32_offset"].get<size_t>();
    for (int64_t s = 0; s < slices; ++s) {
      Matrix m = f->matrix(t, s);
      EXPECT_EQ(m.cols, t.ne[0]);
      EXPECT_EQ(m.rows, t.ne.size() >= 2 ? t.ne[1] : 1);
      std::vector<float> row(size_t(m.cols));
      for (int64_t r = 0; r < m.rows; ++r) {
        dequantize_row(m, r, row.data());
        size_t at = base + size_t((s * m.rows + r) * m.cols);
        EXPECT_EQ(std::memcmp(row.data(), deq_raw.data() + 4 * at, 4 * size_t(m.cols)), 0)
            << "slice " << s << " row " << r;
      }
    }
  }
  Matrix norm = f->matrix("norm.weight");
  EXPECT_EQ(norm.format, WeightFormat::kDense);
  EXPECT_EQ(norm.dtype, DType::F32);
  Matrix q = f->matrix("blk.0.q.weight");
  EXPECT_EQ(q.format, WeightFormat::kGguf);
  EXPECT_EQ(q.gguf_type, gguf::kQ4_K);
  EXPECT_EQ(q.row_bytes, 144u);
  EXPECT_THROW(f->matrix("experts.weight", 3), Error);
}

TEST(Gguf, TokenizerData) {
  auto f = GgufFile::open(fixture("tiny.gguf"));
  GgufTokenizerData t = gguf_tokenizer_data(*f);
  EXPECT_EQ(t.model, "llama");
  ASSERT_EQ(t.tokens.size(), 6u);
  EXPECT_EQ(t.tokens[4], "\xE2\x96\x81hi");
  EXPECT_EQ(t.scores[5], -2.0f);
  EXPECT_EQ(t.token_type[5], kTokByte);
  EXPECT_EQ(t.bos_id, 2);
  EXPECT_EQ(t.eos_id, 1);
  EXPECT_EQ(t.unk_id, 3);
  EXPECT_EQ(t.pad_id, 0);
  EXPECT_EQ(t.sep_id, -1);
  EXPECT_EQ(t.add_bos, std::optional<bool>(true));
  EXPECT_EQ(t.add_eos, std::optional<bool>(false));
  EXPECT_FALSE(t.add_space_prefix.has_value());
  ASSERT_TRUE(t.chat_template.has_value());
  EXPECT_EQ(t.chat_template->substr(0, 15), "{{ bos_token }}");
  EXPECT_TRUE(t.merges.empty());
}

// --- corrupt files ---------------------------------------------------------------------

// Writes GGUF bytes field by field so each test can break exactly one thing.
struct Builder {
  std::vector<uint8_t> b;
  void u8(uint8_t v) { b.push_back(v); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void raw(const void* p, size_t n) { b.insert(b.end(), (const uint8_t*)p, (const uint8_t*)p + n); }
  void str(const std::string& s) {
    u64(s.size());
    raw(s.data(), s.size());
  }
  void header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    raw("GGUF", 4);
    u32(version);
    u64(n_tensors);
    u64(n_kv);
  }
  void kv_u32(const std::string& k, uint32_t v) {
    str(k);
    u32(4);
    u32(v);
  }
  void tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name);
    u32(uint32_t(ne.size()));
    for (uint64_t d : ne) u64(d);
    u32(type);
    u64(offset);
  }
  void pad(size_t align = 32) {
    while (b.size() % align) u8(0);
  }
  void zeros(size_t n) { b.resize(b.size() + n, 0); }
};

// A valid file: one Q8_0 tensor [64, 2] (4 blocks of 34 bytes).
Builder valid_file() {
  Builder w;
  w.header(1, 1);
  w.kv_u32("general.alignment", 32);
  w.tensor("w", {64, 2}, gguf::kQ8_0, 0);
  w.pad();
  w.zeros(4 * 34);
  return w;
}

void expect_corrupt(const std::vector<uint8_t>& bytes, const std::string& needle) {
  try {
    GgufFile::parse(bytes.data(), bytes.size(), "bad.gguf");
    ADD_FAILURE() << "accepted a corrupt file (expected: " << needle << ")";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kCorruptFile) << msg;
    EXPECT_NE(msg.find("bad.gguf"), std::string::npos) << msg;
    EXPECT_NE(msg.find("at byte"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << "want '" << needle << "' in: " << msg;
  }
}

TEST(GgufCorrupt, ValidBaselineParses) {
  Builder w = valid_file();
  auto f = GgufFile::parse(w.b.data(), w.b.size(), "ok.gguf");
  EXPECT_EQ(f->tensors().size(), 1u);
  EXPECT_EQ(f->tensors()[0].nbytes, 136u);
}

TEST(GgufCorrupt, Version2ParsesAndBigEndianIsNamed) {
  Builder w = valid_file();
  w.b[4] = 2;
  EXPECT_EQ(GgufFile::parse(w.b.data(), w.b.size(), "v2.gguf")->version(), 2u);
  w = valid_file();
  uint32_t be3 = 0x03000000;  // version 3 written big-endian
  std::memcpy(w.b.data() + 4, &be3, 4);
  expect_corrupt(w.b, "big-endian");
}

TEST(GgufCorrupt, EveryTruncationIsRejected) {
  Builder w = valid_file();
  for (size_t n = 0; n < w.b.size(); ++n) {
    std::vector<uint8_t> cut(w.b.begin(), w.b.begin() + n);
    EXPECT_THROW(GgufFile::parse(cut.data(), cut.size(), "cut.gguf"), Error) << n;
  }
}

TEST(GgufCorrupt, HeaderErrors) {
  Builder w = valid_file();
  w.b[0] = 'X';
  expect_corrupt(w.b, "bad magic");
  w = valid_file();
  w.b[4] = 9;
  expect_corrupt(w.b, "unsupported version 9");
  w = valid_file();
  w.b[4] = 1;
  expect_corrupt(w.b, "version 1");
  Builder big;
  big.header(1ull << 60, 1);
  big.zeros(64);
  expect_corrupt(big.b, "tensor count");
  Builder kvs;
  kvs.header(0, ~0ull);
  kvs.zeros(64);
  expect_corrupt(kvs.b, "metadata count");
}

TEST(GgufCorrupt, MetadataErrors) {
  Builder w;  // string length past the end
  w.header(0, 1);
  w.u64(1ull << 62);
  w.zeros(16);
  expect_corrupt(w.b, "key length");
  w = Builder();  // unknown value type
  w.header(0, 1);
  w.str("k");
  w.u32(13);
  w.u32(0);
  expect_corrupt(w.b, "unknown value type 13");
  w = Builder();  // array count overflow (count * 8 would wrap)
  w.header(0, 1);
  w.str("arr");
  w.u32(9);
  w.u32(10);
  w.u64(0x2000000000000001ull);
  w.zeros(32);
  expect_corrupt(w.b, "cannot fit");
  w = Builder();  // duplicate key
  w.header(0, 2);
  w.kv_u32("a", 1);
  w.kv_u32("a", 2);
  expect_corrupt(w.b, "duplicate key");
  w = Builder();  // bad bool
  w.header(0, 1);
  w.str("b");
  w.u32(7);
  w.u8(2);
  expect_corrupt(w.b, "not 0 or 1");
  w = Builder();  // alignment not a power of two
  w.header(0, 1);
  w.kv_u32("general.alignment", 48);
  expect_corrupt(w.b, "power of two");
  w = Builder();  // arrays nested too deep: each level is an array of one array
  w.header(0, 1);
  w.str("deep");
  w.u32(9);
  for (int d = 0; d < 20; ++d) {
    w.u32(9);
    w.u64(1);
  }
  w.u32(0);
  w.u64(0);
  expect_corrupt(w.b, "nested deeper");
  w = Builder();  // too many nested arrays (each empty: 12 bytes)
  w.header(0, 1);
  w.str("many");
  w.u32(9);
  w.u32(9);
  w.u64((1u << 20) + 1);
  for (uint32_t k = 0; k <= (1u << 20); ++k) {
    w.u32(0);
    w.u64(0);
  }
  expect_corrupt(w.b, "nested arrays");
}

TEST(GgufCorrupt, TensorErrors) {
  auto file_with = [](const std::function<void(Builder&)>& tensors, uint64_t n, size_t data) {
    Builder w;
    w.header(n, 0);
    tensors(w);
    w.pad();
    w.zeros(data);
    return w.b;
  };
  expect_corrupt(file_with([](Builder& w) { w.tensor("w", {64, 2}, 99, 0); }, 1, 256), "unknown type 99");
  expect_corrupt(file_with([](Builder& w) { w.tensor("w", {64, 2}, 4, 0); }, 1, 256), "removed type Q4_2");
  expect_corrupt(file_with([](Builder& w) { w.tensor("w", {64, 2}, gguf::kQ8_0, 32); }, 1, 136), "outside");
  expect_corrupt(file_with(
                     [](Builder& w) {
                       w.tensor("w", {64, 2}, gguf::kQ8_0, 8);
                     },
                     1, 256),
                 "not aligned");
  expect_corrupt(file_with([](Builder& w) { w.tensor("w", {60, 2}, gguf::kQ8_0, 0); }, 1, 256), "block size");
  expect_corrupt(file_with([](Builder& w) { w.tensor("w", {1, 1, 1, 1, 1}, 0, 0); }, 1, 64), "n_dims 5");
  expect_corrupt(file_with(
                     [](Builder& w) {
                       w.tensor("w", {1ull << 62, 1ull << 62}, 0, 0);
                     },
                     1, 64),
                 "overflows");
  expect_corrupt(file_with([](Builder& w) { w.tensor("w", {1ull << 63}, 0, 0); }, 1, 64), "too large");
  expect_corrupt(file_with([](Builder& w) { w.tensor("w", {1ull << 62}, 0, 0); }, 1, 64),
                 "byte size overflows");
  expect_corrupt(file_with(
                     [](Builder& w) {
                       w.tensor("a", {32}, 0, 0);
                       w.tensor("a", {32}, 0, 128);
                     },
                     2, 256),
                 "duplicate tensor name");
  expect_corrupt(file_with(
                     [](Builder& w) {
                       w.tensor("a", {32}, 0, 0);
                       w.tensor("b", {32}, 0, 96);
                     },
                     2, 256),
                 "overlaps tensor 'a'");
  expect_corrupt(file_with([](Builder& w) { w.tensor("", {32}, 0, 0); }, 1, 256), "empty tensor name");
}

TEST(GgufCorrupt, MessagesNameTensorAndOffset) {
  Builder w;
  w.header(1, 0);
  w.tensor("blk.7.ffn_up.weight", {64, 2}, 77, 0);
  w.pad();
  w.zeros(256);
  try {
    GgufFile::parse(w.b.data(), w.b.size(), "model.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "model.gguf: corrupt GGUF at byte 71 (tensor 'blk.7.ffn_up.weight'): unknown type 77");
  }
}

TEST(GgufCorrupt, OpenMissingFileIsNotFound) {
  try {
    GgufFile::open("/nonexistent/x.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

}  // namespace
}  // namespace ember
