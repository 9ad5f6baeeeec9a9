// Gemma 4 audio front end: 128-bin log-mel features exactly as transformers'
// Gemma4AudioFeatureExtractor (gemma4-multimodal.md §4.3, §8 A3/A6), and the soft-token count
// rule of Gemma4Processor (§4.5).
//
// Input: mono f32 samples at 16 kHz. Per frame i (hop 160): the 320 samples starting at
// i·160 − 160 (semicausal 160-sample left pad of zeros), periodic Hann(320), rFFT with n = 512
// (zero right-pad), magnitude, 128 triangular HTK mel filters over linspace(0, 8000, 257) without
// normalization, then log(mel + 1e-3). Only frames whose whole 321-sample unfold window holds real
// audio are produced: T = (N + 160 − 321) div 160 + 1. transformers pads a batch to a multiple of
// 128 samples and zeroes the frames past T; those frames never reach the valid outputs of the
// tower (its convolutions and attention only look back), so they are not computed here.
#pragma once

#include <cstdint>
#include <vector>

namespace ember {

struct Gemma4AudioFrontEnd {
  static constexpr int kSampleRate = 16000;
  static constexpr int kMelBins = 128;
  static constexpr int kFrameLength = 320;  // 20 ms
  static constexpr int kHop = 160;          // 10 ms
  static constexpr int kFftLength = 512;
  static constexpr int64_t kMaxSamples = 480000;  // 30 s; transformers truncates longer input
  static constexpr double kMelFloor = 1e-3;
};

struct MelFeatures {
  int64_t frames = 0;       // T
  std::vector<float> data;  // f32 [T, 128]
};

// Number of mel frames for n samples (0 when n is too short for one frame).
int64_t gemma4_mel_frames(int64_t n_samples);
// Audio soft tokens for n samples (after the 30-s truncation): ceil(ceil(T/2)/2), capped at 750.
int64_t gemma4_audio_tokens(int64_t n_samples);

// Log-mel features of samples[0..n) (truncated to kMaxSamples). Throws ember::Error
// (kInvalidArgument) when the clip is shorter than one frame (161 samples).
MelFeatures gemma4_log_mel(const float* samples, int64_t n);

}  // namespace ember
