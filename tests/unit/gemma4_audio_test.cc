// Gemma 4 audio: WAV decoding, log-mel features and the conformer tower against transformers
// (float32) on the committed fixtures of tools/gen_gemma4_audio_fixtures.py
// (tests/fixtures/gemma4_audio/README.md). Tolerances: features max-abs 1e-4 (log-mel), tower and
// embedder outputs max-abs 1e-4 (HF dense f32) / 1e-3 (MLX 4-bit, against transformers on the
// dequantized weights).
#include "models/gemma4_audio.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "io/npy.h"
#include "media/audio_features.h"
#include "media/wav.h"
#include "models/weight_table.h"

namespace ember {
namespace {

const std::string kDir = std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gemma4_audio/";

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Gemma4AudioFeatures, TokenCountRule) {
  // Values from transformers' feature-extractor mask subsampled twice (as Gemma4Processor counts):
  // 16000 -> 99 frames / 25 tokens, 16160 -> 100 / 25 (ceil(ms/40) would say 26), 16161 -> 101 / 26.
  EXPECT_EQ(gemma4_mel_frames(16000), 99);
  EXPECT_EQ(gemma4_audio_tokens(16000), 25);
  EXPECT_EQ(gemma4_mel_frames(16160), 100);
  EXPECT_EQ(gemma4_audio_tokens(16160), 25);
  EXPECT_EQ(gemma4_audio_tokens(16161), 26);
  EXPECT_EQ(gemma4_audio_tokens(161), 1);
  EXPECT_EQ(gemma4_mel_frames(480000), 2999);
  EXPECT_EQ(gemma4_audio_tokens(480000), 750);
  EXPECT_EQ(gemma4_audio_tokens(10 * 480000), 750);  // truncated at 30 s
  EXPECT_EQ(gemma4_mel_frames(160), 0);
  EXPECT_EQ(gemma4_mel_frames(161), 1);
  std::vector<float> tiny(100, 0.0f);
  EXPECT_THROW(gemma4_log_mel(tiny.data(), 100), Error);
}

void check_mel(const std::string& wav, int channels, bool is_float) {
  AudioClip clip = read_wav_file(kDir + wav);
  EXPECT_EQ(clip.sample_rate, 16000);
  EXPECT_EQ(clip.source_channels, channels);
  EXPECT_EQ(clip.source_float, is_float);
  MelFeatures mel = gemma4_log_mel(clip.samples.data(), int64_t(clip.samples.size()));
  NpyArray ref = read_npy(kDir + wav.substr(0, wav.size() - 4) + ".mel.npy");
  ASSERT_EQ(ref.shape.size(), 2u);
  ASSERT_EQ(ref.shape[0], mel.frames) << wav;
  ASSERT_EQ(ref.shape[1], 128);
  const double d = max_abs_diff(mel.data, ref.values<float>());
  EXPECT_LE(d, 1e-4) << wav;
  std::printf("[mel] %s: %lld frames, max-abs %.3g vs transformers\n", wav.c_str(), (long long)mel.frames, d);
}

TEST(Gemma4AudioFeatures, MatchesTransformersPcm16Mono) { check_mel("clip_pcm16_mono.wav", 1, false); }
TEST(Gemma4AudioFeatures, MatchesTransformersFloatStereo) { check_mel("clip_f32_stereo.wav", 2, true); }

struct TowerCase {
  const char* ckpt;
  const char* tower;
  const char* embed;
  double tol;
};

void check_tower(const TowerCase& tc) {
  Gemma4AudioTower tw = load_gemma4_audio_dir(kDir + tc.ckpt);
  AudioClip clip = read_wav_file(kDir + "clip_pcm16_mono.wav");
  MelFeatures mel = gemma4_log_mel(clip.samples.data(), int64_t(clip.samples.size()));
  auto b = make_backend("cpu", 1);
  b->set_matmul_mode(MatmulMode::kExact);
  AudioTowerTrace trace;
  std::vector<float> emb = gemma4_audio_embed(tw, *b, mel, &trace);
  NpyArray tower = read_npy(kDir + tc.tower), embed = read_npy(kDir + tc.embed);
  const int64_t n = tower.shape[0];
  EXPECT_EQ(n, gemma4_audio_tokens(int64_t(clip.samples.size())));
  ASSERT_EQ(int64_t(trace.tower.size()), tower.numel());
  ASSERT_EQ(int64_t(emb.size()), embed.numel());
  if (std::string(tc.ckpt) == "tiny") {
    NpyArray sscp = read_npy(kDir + "sscp.npy");
    EXPECT_LE(max_abs_diff(trace.sscp, sscp.values<float>()), tc.tol) << "SSCP output";
  }
  const double dt = max_abs_diff(trace.tower, tower.values<float>());
  const double de = max_abs_diff(emb, embed.values<float>());
  EXPECT_LE(dt, tc.tol) << "tower output";
  EXPECT_LE(de, tc.tol) << "embed_audio output";
  std::printf("[tower] %s: %lld tokens, tower max-abs %.3g, embed max-abs %.3g\n", tc.ckpt, (long long)n, dt,
              de);
}

TEST(Gemma4AudioTower, MatchesTransformersHfF32) { check_tower({"tiny", "tower.npy", "embed.npy", 1e-4}); }
TEST(Gemma4AudioTower, MatchesTransformersMlx4bit) {
  check_tower({"tiny_mlx", "tower_mlx.npy", "embed_mlx.npy", 1e-3});
}

TEST(Gemma4AudioTower, WavBytesToSoftTokens) {
  Gemma4AudioTower tw = load_gemma4_audio_dir(kDir + "tiny");
  auto b = make_backend("cpu", 1);
  b->set_matmul_mode(MatmulMode::kExact);
  std::vector<uint8_t> wav = file_bytes(kDir + "clip_pcm16_mono.wav");
  std::vector<float> got = gemma4_audio_soft_tokens(tw, *b, wav.data(), wav.size(), "clip_pcm16_mono.wav");
  EXPECT_LE(max_abs_diff(got, read_npy(kDir + "embed.npy").values<float>()), 1e-4);
  const std::string text = "RIFF....WAVEnot really";
  try {
    gemma4_audio_soft_tokens(tw, *b, reinterpret_cast<const uint8_t*>(text.data()), text.size(), "req.audio");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("req.audio"), std::string::npos) << e.what();
  }
  std::vector<uint8_t> short_wav(wav.begin(), wav.begin() + 44 + 100);  // 50 samples
  short_wav[40] = 100, short_wav[41] = short_wav[42] = short_wav[43] = 0;  // data size 100 bytes
  EXPECT_THROW(gemma4_audio_soft_tokens(tw, *b, short_wav.data(), short_wav.size(), "short.wav"), Error);
}

TEST(Gemma4AudioTower, LoadsEveryAudioTensorAndKeepsStorage) {
  // The tiny text model shares K/V from layer 4 on; audio layers 4 keeps its own q/k/v (the text
  // model's KV-sharing rules never see tower keys).
  Gemma4AudioTower tw = load_gemma4_audio_dir(kDir + "tiny");
  ASSERT_EQ(tw.layers.size(), 5u);
  EXPECT_EQ(tw.layers[4].k.w.rows, 32);
  EXPECT_TRUE(std::isfinite(tw.layers[4].k.in_max));
  EXPECT_EQ(tw.layers[4].k.w.format, WeightFormat::kDense);
  int used = 0, conv = 0;
  for (const auto& r : tw.report.tensors) {
    if (r.key.find("audio") == std::string::npos) continue;
    used += r.status == "used";
    conv += r.status == "ignored" && r.key.find("conv") != std::string::npos;
  }
  EXPECT_EQ(conv, 2 + 5);  // the kernels are read by the audio loader itself
  EXPECT_GT(used, 5 * 40);
  Gemma4AudioTower q = load_gemma4_audio_dir(kDir + "tiny_mlx");
  EXPECT_EQ(q.layers[0].ffn1.up.w.format, WeightFormat::kMlxAffine);
  EXPECT_EQ(q.layers[0].ffn1.up.w.bits, 4);
  EXPECT_EQ(q.layers[0].q.w.format, WeightFormat::kDense);
  EXPECT_EQ(q.conv0, tw.conv0);  // MLX channel-last kernels read back into the HF layout
  EXPECT_EQ(q.conv1, tw.conv1);
  EXPECT_EQ(q.layers[2].depthwise, tw.layers[2].depthwise);
}

TEST(Gemma4AudioWav, CorruptAndNonWavInputsAreErrors) {
  auto expect_error = [](const std::vector<uint8_t>& bytes, const std::string& needle) {
    try {
      decode_wav(bytes.data(), bytes.size(), "clip.wav");
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("clip.wav"), std::string::npos) << e.what();
    }
  };
  const std::string png = "\x89PNG\r\n\x1a\n not audio at all";
  expect_error({png.begin(), png.end()}, "not a WAV file");
  expect_error({}, "not a WAV file");
  std::vector<uint8_t> good = file_bytes(kDir + "clip_pcm16_mono.wav");
  ASSERT_GT(good.size(), 100u);
  std::vector<uint8_t> cut(good.begin(), good.begin() + 1000);
  expect_error(cut, "truncated");
  std::vector<uint8_t> hdr_only(good.begin(), good.begin() + 30);
  expect_error(hdr_only, "fmt chunk");
  std::vector<uint8_t> bad_fmt = good;
  bad_fmt[20] = 2;  // fmt tag 2 = MS ADPCM
  expect_error(bad_fmt, "not supported");
  std::vector<uint8_t> bad_align = good;
  bad_align[32] = 7;  // block_align
  expect_error(bad_align, "block_align");
  std::vector<uint8_t> zero_ch = good;
  zero_ch[22] = 0;
  expect_error(zero_ch, "0 channels");
  EXPECT_THROW(read_wav_file(kDir + "does_not_exist.wav"), Error);
}

TEST(Gemma4AudioWav, ResampleKeepsTonesBelowNyquist) {
  // A 440 Hz + 3 kHz tone at common and odd rates (44101: 16000 phases, rounded to 1024) resampled to 16 kHz matches the analytic signal
  // away from the edges to 2e-3; a 12 kHz tone (above the new Nyquist) is removed (< 1e-3).
  for (int rate : {44100, 48000, 8000, 22050, 44101, 96000}) {
    const int n = rate / 2;
    std::vector<float> x(static_cast<size_t>(n)), hi(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const double t = double(i) / rate;
      x[size_t(i)] =
          float(0.4 * std::sin(2 * M_PI * 440 * t) + (rate > 8000 ? 0.3 * std::sin(2 * M_PI * 3000 * t) : 0));
      hi[size_t(i)] = float(0.5 * std::sin(2 * M_PI * 12000 * t));
    }
    std::vector<float> y = resample(x, rate, 16000);
    EXPECT_EQ(int64_t(y.size()), (int64_t(n) * 16000 + rate - 1) / rate);
    double err = 0;
    for (size_t j = 400; j + 400 < y.size(); ++j) {
      const double t = double(j) / 16000;
      const double want =
          0.4 * std::sin(2 * M_PI * 440 * t) + (rate > 8000 ? 0.3 * std::sin(2 * M_PI * 3000 * t) : 0);
      err = std::max(err, std::fabs(y[j] - want));
    }
    EXPECT_LE(err, 2e-3) << rate;
    if (rate > 24000) {
      std::vector<float> yh = resample(hi, rate, 16000);
      double peak = 0;
      for (size_t j = 400; j + 400 < yh.size(); ++j) peak = std::max(peak, double(std::fabs(yh[j])));
      EXPECT_LE(peak, 1e-3) << rate;
    }
  }
}

}  // namespace
}  // namespace ember
