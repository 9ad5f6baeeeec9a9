#include "util/golden.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/status.h"

namespace ember::testing {

namespace fs = std::filesystem;

std::string gemma4_fixture_root(const std::string& source_dir) {
  return (fs::path(source_dir) / "tests/fixtures/gemma4").string();
}

std::vector<std::string> list_fixtures(const std::string& root) {
  std::vector<std::string> out;
  if (!fs::is_directory(root)) return out;
  for (auto& e : fs::directory_iterator(root)) {
    if (e.is_directory() && fs::exists(e.path() / "inputs.json")) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

GoldenCase load_golden(const std::string& dir) {
  GoldenCase c;
  c.dir = dir;
  const std::string inputs = dir + "/inputs.json";
  std::ifstream f(inputs);
  if (!f) fail(ErrorCode::kNotFound, inputs, ": cannot open");
  nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  if (!j.is_object() || !j.contains("ids") || !j["ids"].is_array()) {
    fail(ErrorCode::kCorruptFile, inputs, ": expected an object with an \"ids\" array");
  }
  for (auto& id : j["ids"]) {
    if (!id.is_number_integer()) fail(ErrorCode::kCorruptFile, inputs, ": non-integer id ", id.dump());
    c.ids.push_back(id.get<int32_t>());
  }
  c.reference = j.value("reference", "");
  NpyArray a = read_npy(dir + "/logits.npy");
  if (a.dtype != DType::F32 || a.shape.size() != 2 || a.shape[0] != int64_t(c.ids.size())) {
    fail(ErrorCode::kCorruptFile, dir, "/logits.npy: expected float32 [", c.ids.size(), ", vocab], got ",
         dtype_name(a.dtype), " ", a.shape_str());
  }
  c.vocab = a.shape[1];
  c.logits = a.values<float>();
  return c;
}

LogitsDiff compare_logits(const float* got, const float* want, int64_t rows, int64_t vocab) {
  LogitsDiff d;
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = got + r * vocab;
    const float* w = want + r * vocab;
    for (int64_t v = 0; v < vocab; ++v) {
      // NaN in `got` must fail: treat it as an infinite difference.
      double diff = std::isnan(g[v]) ? INFINITY : std::fabs(double(g[v]) - double(w[v]));
      if (diff > d.max_abs || d.worst_pos < 0) {
        d.max_abs = diff;
        d.worst_pos = r;
      }
    }
    if (std::max_element(g, g + vocab) - g != std::max_element(w, w + vocab) - w) {
      if (d.argmax_mismatches++ == 0) d.first_argmax_mismatch = r;
    }
  }
  return d;
}

std::string LogitsDiff::summary() const {
  char buf[160];
  std::snprintf(buf, sizeof buf, "max-abs %.3g at pos %lld, argmax mismatches %lld (first at pos %lld)",
                max_abs, (long long)worst_pos, (long long)argmax_mismatches,
                (long long)first_argmax_mismatch);
  return buf;
}

}  // namespace ember::testing
