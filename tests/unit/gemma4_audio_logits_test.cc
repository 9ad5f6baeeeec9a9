// Final logits of a prompt with audio: the tiny Gemma 4 checkpoint with an audio tower
// (tests/fixtures/gemma4_audio) against transformers' Gemma4ForConditionalGeneration (float32,
// eager) on the same WAV clip: soft tokens from ember's audio encoder merged at the <|audio|>
// placeholders by the text model (pad-id PLE rows there). Tolerance: max-abs 1e-3, top-1 100%.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ember/ember.hpp"
#include "io/npy.h"
#include "models/language_model.h"
#include "util/golden.h"

namespace ember {
namespace {

const std::string kDir = std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gemma4_audio/";


void check_logits(const std::string& ckpt, const std::string& ref_file, int64_t max_chunk) {
  ModelLoadOptions lo;
  lo.f32_reference = true;
  lo.threads = 1;
  auto lm = load_language_model(kDir + ckpt, lo);
  const MediaEncoder* enc = lm->media_encoder(MediaKind::kAudio);
  ASSERT_NE(enc, nullptr);
  std::vector<float> rows = enc->encode(Media::from_file(kDir + "clip_pcm16_mono.wav", MediaKind::kAudio));
  std::ifstream in(kDir + "prompt.json");
  const auto j = nlohmann::json::parse(in);
  const auto ids = j["ids"].get<std::vector<int32_t>>();
  const int64_t n = j["n_audio_tokens"].get<int64_t>();
  const int64_t H = lm->summary().hidden_size;
  ASSERT_EQ(int64_t(rows.size()), n * H);
  SoftTokens soft{rows.data(), n};
  ForwardOptions o;
  o.logits = LogitsMode::kAll;
  o.soft = &soft;
  auto st = lm->new_state(256, max_chunk);
  std::vector<float> logits;
  lm->forward(ids.data(), int64_t(ids.size()), *st, o, &logits);
  NpyArray ref = read_npy(kDir + ref_file);
  ASSERT_EQ(ref.shape[0], int64_t(ids.size()));
  const testing::LogitsDiff d =
      testing::compare_logits(logits.data(), ref.values<float>().data(), ref.shape[0], ref.shape[1]);
  EXPECT_LE(d.max_abs, 1e-3) << ckpt;
  EXPECT_EQ(d.argmax_mismatches, 0) << ckpt;
  std::printf(
      "[audio logits] %s chunk %lld: %zu positions, %lld soft tokens, max-abs %.3g, top-1 mismatches %lld\n",
      ckpt.c_str(), (long long)max_chunk, ids.size(), (long long)n, d.max_abs, (long long)d.argmax_mismatches);
}

TEST(Gemma4AudioLogits, HfF32MatchesTransformers) { check_logits("tiny", "logits.npy", 256); }
TEST(Gemma4AudioLogits, HfF32ChunkedPrefill) { check_logits("tiny", "logits.npy", 16); }
TEST(Gemma4AudioLogits, Mlx4bitMatchesTransformersOnDequantized) {
  check_logits("tiny_mlx", "logits_mlx.npy", 256);
}

TEST(Gemma4AudioLogits, WrongSoftTokenCountIsAnError) {
  ModelLoadOptions lo;
  lo.threads = 1;
  auto lm = load_language_model(kDir + "tiny", lo);
  std::ifstream in(kDir + "prompt.json");
  const auto ids = nlohmann::json::parse(in)["ids"].get<std::vector<int32_t>>();
  std::vector<float> rows(size_t(5 * lm->summary().hidden_size), 0.0f);
  SoftTokens soft{rows.data(), 5};
  ForwardOptions o;
  o.soft = &soft;
  auto st = lm->new_state(256, 256);
  std::vector<float> logits;
  EXPECT_THROW(lm->forward(ids.data(), int64_t(ids.size()), *st, o, &logits), Error);
}

}  // namespace
}  // namespace ember
