#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "ember/error.hpp"
#include "util/safetensors_writer.h"
#include "util/test_paths.h"

namespace ember {
namespace {

using nlohmann::json;
using testing::float_tensor;
using testing::SafetensorsWriter;

SafetensorsWriter two_tensors() {
  SafetensorsWriter w;
  w.add("a", float_tensor({2, 3}, {1, 2, 3, 4, 5, 6}, DType::F32));
  w.add("b", float_tensor({4}, {1, -1, 0.5f, 2}, DType::BF16));
  w.set_metadata("format", "pt");
  return w;
}

// Parses `bytes` and returns the error message (fails the test if parsing succeeds).
std::string parse_error(const std::vector<uint8_t>& bytes, ErrorCode want = ErrorCode::kCorruptFile) {
  try {
    SafetensorsFile::parse(bytes.data(), bytes.size(), "t.safetensors");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), want) << e.what();
    std::string m = e.what();
    EXPECT_NE(m.find("t.safetensors"), std::string::npos) << m;
    return m;
  }
  ADD_FAILURE() << "parse accepted a corrupt file";
  return "";
}

std::vector<uint8_t> with_header(const json& h, const std::vector<uint8_t>& data) {
  return SafetensorsWriter::assemble(h.dump(), data);
}

TEST(Safetensors, ParsesValidFile) {
  auto w = two_tensors();
  auto bytes = w.bytes();
  auto f = SafetensorsFile::parse(bytes.data(), bytes.size(), "t.safetensors");
  ASSERT_EQ(f->tensors().size(), 2u);
  const TensorInfo* a = f->find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, DType::F32);
  EXPECT_EQ(a->shape_str(), "[2, 3]");
  EXPECT_EQ(a->numel(), 6);
  EXPECT_EQ(load_as_f32(DType::F32, a->data, 5), 6.0f);
  const TensorInfo* b = f->find("b");
  EXPECT_EQ(load_as_f32(DType::BF16, b->data, 2), 0.5f);
  EXPECT_EQ(f->metadata().at("format"), "pt");
}

TEST(Safetensors, AllDtypesAndScalarsAndEmpty) {
  SafetensorsWriter w;
  DType all[] = {DType::F32, DType::F16, DType::BF16,    DType::U32,     DType::U8,  DType::I8,
                 DType::I32, DType::I64, DType::F8_E4M3, DType::F8_E5M2, DType::F64, DType::BOOL};
  int i = 0;
  for (DType t : all)
    w.add("t" + std::to_string(i++), {t, {3, 2}, std::vector<uint8_t>(6 * dtype_size(t), 7)});
  w.add("scalar", {DType::F32, {}, std::vector<uint8_t>(4, 0)});
  w.add("empty", {DType::F32, {0, 5}, {}});
  auto bytes = w.bytes();
  auto f = SafetensorsFile::parse(bytes.data(), bytes.size(), "t.safetensors");
  EXPECT_EQ(f->tensors().size(), 14u);
  EXPECT_EQ(f->find("t7")->dtype, DType::I64);
  EXPECT_EQ(f->find("t7")->nbytes, 48u);
  EXPECT_EQ(f->find("scalar")->numel(), 1);
  EXPECT_EQ(f->find("empty")->nbytes, 0u);
}

TEST(Safetensors, TooShortForLength) {
  std::vector<uint8_t> b = {1, 2, 3};
  EXPECT_NE(parse_error(b).find("too short"), std::string::npos);
}

TEST(Safetensors, TruncatedFile) {
  auto bytes = two_tensors().bytes();
  bytes.resize(bytes.size() - 3);  // lose the tail of the data section
  EXPECT_NE(parse_error(bytes).find("truncated"), std::string::npos);
  auto hdr_cut = two_tensors().bytes();
  hdr_cut.resize(20);  // header length now points past the end
  EXPECT_NE(parse_error(hdr_cut).find("exceeds the file"), std::string::npos);
}

TEST(Safetensors, HugeHeaderLength) {
  auto w = two_tensors();
  auto bytes = SafetensorsWriter::assemble(w.header().dump(), w.data(), int64_t(0x7fffffffffffffff));
  EXPECT_NE(parse_error(bytes).find("exceeds the file"), std::string::npos);
}

TEST(Safetensors, BadHeaderJson) {
  auto w = two_tensors();
  auto bytes = SafetensorsWriter::assemble("{\"a\": {\"dtype\": ", w.data());
  EXPECT_NE(parse_error(bytes).find("not valid JSON"), std::string::npos);
  auto big = SafetensorsWriter::assemble(
      R"({"a": {"dtype": "U8", "shape": [1e999999], "data_offsets": [0, 0]}})", {});
  EXPECT_NE(parse_error(big).find("not valid JSON"), std::string::npos);  // nlohmann out_of_range
  auto arr = SafetensorsWriter::assemble("[1, 2]", {});
  EXPECT_NE(parse_error(arr).find("not an object"), std::string::npos);
}

TEST(Safetensors, DuplicateName) {
  auto bytes = SafetensorsWriter::assemble(
      R"({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}})",
      {1, 2});
  EXPECT_NE(parse_error(bytes).find("twice"), std::string::npos);
}

TEST(Safetensors, OffsetsOutOfRange) {
  auto w = two_tensors();
  json h = w.header();
  h["b"]["data_offsets"] = {24, 100};
  EXPECT_NE(parse_error(with_header(h, w.data())).find("beyond the data section"), std::string::npos);
  h = w.header();
  h["b"]["data_offsets"] = {30, 24};
  EXPECT_NE(parse_error(with_header(h, w.data())).find("begin > end"), std::string::npos);
  h = w.header();
  h["b"]["data_offsets"] = {-1, 7};
  EXPECT_NE(parse_error(with_header(h, w.data())).find("non-negative"), std::string::npos);
  h = w.header();
  h["b"]["data_offsets"] = {24};
  EXPECT_NE(parse_error(with_header(h, w.data())).find("[begin, end]"), std::string::npos);
}

TEST(Safetensors, OverlappingTensors) {
  SafetensorsWriter w;
  w.add("a", {DType::U8, {8}, std::vector<uint8_t>(8, 1)});
  w.add("b", {DType::U8, {8}, std::vector<uint8_t>(8, 2)});
  json h = w.header();
  h["b"]["data_offsets"] = {4, 12};  // overlaps a's [0, 8)
  auto data = w.data();
  data.resize(12);
  EXPECT_NE(parse_error(with_header(h, data)).find("overlaps tensor 'a'"), std::string::npos);
}

TEST(Safetensors, HolesAndTrailingBytes) {
  auto w = two_tensors();
  json h = w.header();
  auto data = w.data();
  data.push_back(0);
  EXPECT_NE(parse_error(with_header(h, data)).find("trailing bytes"), std::string::npos);
  h["b"]["data_offsets"] = {25, 33};
  EXPECT_NE(parse_error(with_header(h, data)).find("gap of 1"), std::string::npos);
}

TEST(Safetensors, DtypeShapeMismatch) {
  auto w = two_tensors();
  json h = w.header();
  h["a"]["dtype"] = "F16";  // 6 elements * 2 bytes != 24 bytes
  EXPECT_NE(parse_error(with_header(h, w.data())).find("needs 12"), std::string::npos);
  h = w.header();
  h["a"]["shape"] = {3, 3};
  EXPECT_NE(parse_error(with_header(h, w.data())).find("needs 36"), std::string::npos);
  h = w.header();
  h["a"]["dtype"] = "F12";
  EXPECT_NE(parse_error(with_header(h, w.data())).find("unknown dtype"), std::string::npos);
  h = w.header();
  h["a"]["shape"] = {2, -3};
  EXPECT_NE(parse_error(with_header(h, w.data())).find("not a non-negative integer"), std::string::npos);
  h = w.header();
  h["a"]["shape"] = {2.5};
  EXPECT_NE(parse_error(with_header(h, w.data())).find("not a non-negative integer"), std::string::npos);
  h = w.header();
  h["a"].erase("dtype");
  EXPECT_NE(parse_error(with_header(h, w.data())).find("\"dtype\""), std::string::npos);
  h = w.header();
  h["a"]["extra"] = 1;
  EXPECT_NE(parse_error(with_header(h, w.data())).find("unexpected field"), std::string::npos);
}

TEST(Safetensors, ShapeProductOverflow) {
  auto w = two_tensors();
  json h = w.header();
  h["a"]["shape"] = {int64_t(1) << 40, int64_t(1) << 40};  // 2^80 elements
  EXPECT_NE(parse_error(with_header(h, w.data())).find("overflows"), std::string::npos);
  h["a"]["shape"] = {int64_t(1) << 62, 4};  // element count fits, byte count doesn't
  EXPECT_NE(parse_error(with_header(h, w.data())).find("overflows"), std::string::npos);
}

TEST(Safetensors, BadMetadata) {
  auto w = two_tensors();
  json h = w.header();
  h["__metadata__"] = {{"format", 3}};
  EXPECT_NE(parse_error(with_header(h, w.data())).find("__metadata__"), std::string::npos);
  h["__metadata__"] = json::array();
  EXPECT_NE(parse_error(with_header(h, w.data())).find("__metadata__"), std::string::npos);
}

class SafetensorsDir : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::make_temp_dir("ember-st"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& f) const { return dir_ + "/" + f; }
  std::string dir_;
};

TEST_F(SafetensorsDir, OpenSingleFileAndMissingFile) {
  two_tensors().write(path("model.safetensors"));
  auto c = SafetensorsCollection::open_dir(dir_);
  EXPECT_EQ(c.all().size(), 2u);
  EXPECT_EQ(c.total_bytes(), 24u + 8u);
  ASSERT_NE(c.find("a"), nullptr);
  EXPECT_EQ(c.find("a")->file, path("model.safetensors"));
  try {
    SafetensorsFile::open(path("nope.safetensors"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  std::filesystem::remove(path("model.safetensors"));
  EXPECT_THROW(SafetensorsCollection::open_dir(dir_), Error);
}

TEST_F(SafetensorsDir, ShardedWithIndex) {
  SafetensorsWriter s1, s2;
  s1.add("x", float_tensor({2}, {1, 2}, DType::F32));
  s2.add("y", float_tensor({2}, {3, 4}, DType::F32));
  s2.add("y2", float_tensor({1}, {5}, DType::F32));
  s1.write(path("model-00001-of-00002.safetensors"));
  s2.write(path("model-00002-of-00002.safetensors"));
  json idx = {{"metadata", {{"total_size", 16}}},
              {"weight_map",
               {{"x", "model-00001-of-00002.safetensors"},
                {"y", "model-00002-of-00002.safetensors"},
                {"y2", "model-00002-of-00002.safetensors"}}}};
  testing::write_text(path("model.safetensors.index.json"), idx.dump());
  auto c = SafetensorsCollection::open_dir(dir_);
  EXPECT_EQ(c.files().size(), 2u);
  EXPECT_EQ(load_as_f32(DType::F32, c.find("y")->data, 1), 4.0f);

  // Index naming the wrong shard, a tensor the shards lack, or missing a tensor: all errors.
  idx["weight_map"]["y"] = "model-00001-of-00002.safetensors";
  testing::write_text(path("model.safetensors.index.json"), idx.dump());
  EXPECT_THROW(SafetensorsCollection::open_dir(dir_), Error);
  idx["weight_map"]["y"] = "model-00002-of-00002.safetensors";
  idx["weight_map"]["z"] = "model-00002-of-00002.safetensors";
  testing::write_text(path("model.safetensors.index.json"), idx.dump());
  EXPECT_THROW(SafetensorsCollection::open_dir(dir_), Error);
  idx["weight_map"].erase("z");
  idx["weight_map"].erase("y");  // shard 2 still listed (for y2) but holds an unlisted tensor
  testing::write_text(path("model.safetensors.index.json"), idx.dump());
  EXPECT_THROW(SafetensorsCollection::open_dir(dir_), Error);
  idx["weight_map"]["y"] = "../model-00002-of-00002.safetensors";
  testing::write_text(path("model.safetensors.index.json"), idx.dump());
  EXPECT_THROW(SafetensorsCollection::open_dir(dir_), Error);
  testing::write_text(path("model.safetensors.index.json"), "{not json");
  EXPECT_THROW(SafetensorsCollection::open_dir(dir_), Error);
}

TEST_F(SafetensorsDir, DuplicateAcrossShards) {
  SafetensorsWriter s1;
  s1.add("x", float_tensor({2}, {1, 2}, DType::F32));
  s1.write(path("a.safetensors"));
  s1.write(path("b.safetensors"));
  try {
    SafetensorsCollection::open_dir(dir_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("also appears"), std::string::npos);
  }
}

}  // namespace
}  // namespace ember
