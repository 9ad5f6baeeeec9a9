// Golden fixtures (tests/fixtures/gemma4, made by tools/gen_gemma4_fixtures.py): loading a
// fixture's prompt and reference logits, and comparing ember's logits against them with the
// tolerance stated in tests/fixtures/gemma4/README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/npy.h"

namespace ember::testing {

// Absolute path of the Gemma 4 fixture root (EMBER_SOURCE_DIR/tests/fixtures/gemma4).
std::string gemma4_fixture_root(const std::string& source_dir);
// Names of the fixture directories under `root`, sorted.
std::vector<std::string> list_fixtures(const std::string& root);

struct GoldenCase {
  std::string dir;            // the checkpoint directory (config.json, model.safetensors)
  std::vector<int32_t> ids;   // prompt token ids (inputs.json "ids")
  int64_t vocab = 0;          // logits.shape[1]
  std::vector<float> logits;  // float32 [ids.size(), vocab], row-major
  std::string reference;      // which implementation produced the logits
};

// Reads <dir>/inputs.json and <dir>/logits.npy; throws ember::Error on malformed files.
GoldenCase load_golden(const std::string& dir);

struct LogitsDiff {
  double max_abs = 0;      // max |got - want| over all positions and vocab entries
  int64_t worst_pos = -1;  // position of max_abs
  int64_t argmax_mismatches = 0;
  int64_t first_argmax_mismatch = -1;
  bool within(double tol) const { return max_abs <= tol && argmax_mismatches == 0; }
  std::string summary() const;  // "max-abs 1.2e-04 at pos 7, argmax mismatches 0"
};

// Compares `got` (float32 [rows, vocab]) with `want`: both must have the same size.
LogitsDiff compare_logits(const float* got, const float* want, int64_t rows, int64_t vocab);

// Tolerance for ember's float32 mode against the fixtures (README: the two references agree to
// <= 1.4e-4; typical bugs move the logits by >= 1.7).
inline constexpr double kGoldenMaxAbsF32 = 1e-3;

}  // namespace ember::testing
