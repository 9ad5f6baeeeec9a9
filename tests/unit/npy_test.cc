#include "io/npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "ember/error.hpp"
#include "util/test_paths.h"

namespace ember {
namespace {

const std::string kFixtures = std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gemma4";

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// .npy bytes with a hand-written header (version, header text) and `data_bytes` zero bytes.
std::vector<uint8_t> raw_npy(int major, const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
  const size_t n = major == 1 ? 2 : 4;
  for (size_t i = 0; i < n; ++i) out.push_back(uint8_t(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.resize(out.size() + data_bytes, 0);
  return out;
}

ErrorCode parse_error(const std::vector<uint8_t>& bytes, std::string* message = nullptr) {
  try {
    parse_npy(bytes.data(), bytes.size(), "test.npy");
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  ADD_FAILURE() << "parse_npy accepted invalid input";
  return ErrorCode::kInternal;
}

TEST(Npy, RoundTripF32) {
  std::vector<float> v = {0.f, -1.5f, 3.25f, 1e-30f, -7e20f, INFINITY};
  auto bytes = encode_npy(DType::F32, v.data(), {2, 3});
  EXPECT_EQ((bytes.size() - v.size() * 4) % 64, 0u) << "header must be padded to 64 bytes";
  NpyArray a = parse_npy(bytes.data(), bytes.size(), "mem");
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.values<float>(), v);
  EXPECT_EQ(a.shape_str(), "[2, 3]");
}

TEST(Npy, RoundTripIntegersAndRanks) {
  std::vector<int32_t> i32 = {1, -2, 2147483647, -2147483647 - 1};
  auto b32 = encode_npy(DType::I32, i32.data(), {4});
  EXPECT_EQ(parse_npy(b32.data(), b32.size(), "mem").values<int32_t>(), i32);

  std::vector<int64_t> i64 = {int64_t(1) << 40, -5, 0, 7, 8, 9, 10, 11};
  auto b64 = encode_npy(DType::I64, i64.data(), {2, 2, 2});
  NpyArray a = parse_npy(b64.data(), b64.size(), "mem");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(a.values<int64_t>(), i64);

  float scalar = 42.f;
  auto b0 = encode_npy(DType::F32, &scalar, {});
  NpyArray s = parse_npy(b0.data(), b0.size(), "mem");
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.values<float>(), std::vector<float>{42.f});

  auto be = encode_npy(DType::F32, nullptr, {0, 3});
  NpyArray e = parse_npy(be.data(), be.size(), "mem");
  EXPECT_EQ(e.numel(), 0);
  EXPECT_EQ(e.shape, (std::vector<int64_t>{0, 3}));
}

TEST(Npy, WrongElementTypeRequested) {
  int32_t x = 3;
  auto b = encode_npy(DType::I32, &x, {1});
  NpyArray a = parse_npy(b.data(), b.size(), "mem");
  EXPECT_THROW(a.values<float>(), Error);
  EXPECT_THROW(a.values<int64_t>(), Error);
  EXPECT_THROW(encode_npy(DType::BF16, &x, {1}), Error);
  EXPECT_THROW(encode_npy(DType::F32, &x, {-1}), Error);
}

TEST(Npy, FileRoundTripAndErrors) {
  std::string dir = testing::make_temp_dir("npy");
  std::vector<float> v(20 * 7);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i) * 0.5f - 3.f;
  write_npy(dir + "/x.npy", v.data(), {20, 7});
  NpyArray a = read_npy(dir + "/x.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{20, 7}));
  EXPECT_EQ(a.values<float>(), v);
  try {
    read_npy(dir + "/missing.npy");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  try {
    write_npy(dir + "/no/such/dir/x.npy", v.data(), {20, 7});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("no/such/dir"), std::string::npos);
  }
}

// numpy wrote the committed logits: re-encoding what we read must give the same bytes, so the
// writer's header (dict text, padding, version) is byte-compatible with numpy's.
TEST(Npy, ReadsNumpyFixturesAndWritesIdenticalBytes) {
  const std::string path = kFixtures + "/hf_text_e2b_bf16/logits.npy";
  NpyArray a = read_npy(path);
  ASSERT_EQ(a.dtype, DType::F32);
  ASSERT_EQ(a.shape.size(), 2u);
  EXPECT_EQ(a.shape[1], 256);
  for (float x : a.values<float>()) ASSERT_TRUE(std::isfinite(x) && std::fabs(x) <= 30.f) << x;
  EXPECT_EQ(encode_npy(a.dtype, a.bytes.data(), a.shape), file_bytes(path));
}

TEST(Npy, Version2And3Headers) {
  const std::string h = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }\n";
  for (int major : {2, 3}) {
    auto bytes = raw_npy(major, h, 24);
    NpyArray a = parse_npy(bytes.data(), bytes.size(), "v2");
    EXPECT_EQ(a.dtype, DType::I64);
    EXPECT_EQ(a.shape, std::vector<int64_t>{3});
  }
  // Key order and quoting are free in numpy's dict literal.
  auto bytes = raw_npy(1, "{\"shape\": (2, 2,), \"fortran_order\": False, \"descr\": \"<i4\"}\n", 16);
  EXPECT_EQ(parse_npy(bytes.data(), bytes.size(), "order").shape, (std::vector<int64_t>{2, 2}));
}

TEST(Npy, CorruptHeadersAreErrors) {
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
  std::string msg;
  auto bytes = raw_npy(1, good, 24);
  bytes[1] = 'X';
  EXPECT_EQ(parse_error(bytes, &msg), ErrorCode::kCorruptFile);
  EXPECT_NE(msg.find("test.npy"), std::string::npos) << msg;
  EXPECT_EQ(parse_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 9)), ErrorCode::kCorruptFile);
  EXPECT_EQ(parse_error(raw_npy(4, good, 24)), ErrorCode::kUnsupported);

  auto too_long = raw_npy(1, good, 0);
  too_long[8] = 0xff, too_long[9] = 0x7f;  // header length beyond the file
  EXPECT_EQ(parse_error(too_long, &msg), ErrorCode::kCorruptFile);
  EXPECT_NE(msg.find("exceeds"), std::string::npos) << msg;

  const std::vector<std::string> corrupt = {
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",          // no newline
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}\n",  // unknown key
      "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}\n",
      "{'descr': '<f4', 'shape': (2, 3), }\n",  // missing key
      "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }\n",  // int, not tuple
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n",
      "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3), }\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x\n",
      "['descr', '<f4']\n",
      "\n",
  };
  for (const auto& h : corrupt) EXPECT_EQ(parse_error(raw_npy(1, h, 24)), ErrorCode::kCorruptFile) << h;

  EXPECT_EQ(parse_error(raw_npy(1, good, 20), &msg), ErrorCode::kCorruptFile);  // short data
  EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
  EXPECT_EQ(parse_error(raw_npy(1, good, 28)), ErrorCode::kCorruptFile);  // trailing data
}

TEST(Npy, UnsupportedButValidFiles) {
  EXPECT_EQ(parse_error(raw_npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8)),
            ErrorCode::kUnsupported);
  EXPECT_EQ(parse_error(raw_npy(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }\n", 4)),
            ErrorCode::kUnsupported);
  EXPECT_EQ(parse_error(raw_npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", 16)),
            ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace ember
