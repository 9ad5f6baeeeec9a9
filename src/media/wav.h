// WAV input for the audio towers: RIFF/WAVE decoding (PCM 8/16/24/32-bit, IEEE float 32/64,
// WAVE_FORMAT_EXTENSIBLE wrapping either), down-mix to mono, and resampling to the rate a
// feature extractor needs (Gemma 4: 16 kHz mono float, gemma4-multimodal.md §4.3 / §8 A1).
//
// WAV bytes are untrusted input: every malformed file (no RIFF/WAVE magic, missing or short
// chunks, inconsistent fmt fields, truncated data) is an ember::Error naming the file and what
// was wrong (kCorruptFile), and valid-but-unhandled encodings (A-law, ADPCM, ...) are
// kUnsupported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

struct AudioClip {
  std::vector<float> samples;  // f32 [n] mono, nominally in [-1, 1]
  int sample_rate = 0;         // Hz
  int source_channels = 0;     // channels in the file before down-mixing
  int source_bits = 0;         // bits per sample in the file
  bool source_float = false;   // IEEE float samples in the file
};

// Decodes WAV bytes; `name` labels errors (a path, "<request>"). Multi-channel audio is averaged
// to mono (as librosa's to_mono, which transformers' load_audio uses). Integer PCM maps to
// float by dividing by 2^(bits-1) (8-bit PCM is unsigned, centred at 128).
AudioClip decode_wav(const uint8_t* data, size_t size, const std::string& name);
// Reads and decodes a .wav file (kNotFound / kIo if it cannot be read).
AudioClip read_wav_file(const std::string& path);

// Band-limited resampling of mono samples from `from_hz` to `to_hz` (Kaiser-windowed sinc,
// cutoff at 0.95 of the lower Nyquist). Output length ceil(n · to / from). Identity when the
// rates are equal.
std::vector<float> resample(const std::vector<float>& x, int from_hz, int to_hz);

// read/decode + resample to `rate_hz` (returns the clip with sample_rate == rate_hz).
AudioClip load_audio_mono(const std::string& path, int rate_hz);
AudioClip decode_audio_mono(const uint8_t* data, size_t size, const std::string& name, int rate_hz);

}  // namespace ember
