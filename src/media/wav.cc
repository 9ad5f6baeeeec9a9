#include "media/wav.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/mapped_file.h"
#include "core/status.h"

namespace ember {

namespace {

constexpr uint16_t kFormatPcm = 1, kFormatFloat = 3, kFormatExtensible = 0xFFFE;

uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t rd32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

struct Fmt {
  uint16_t format = 0, channels = 0, block_align = 0, bits = 0;
  uint32_t rate = 0;
};

// Parses the fmt chunk body (`n` bytes); resolves WAVE_FORMAT_EXTENSIBLE to its sub-format.
Fmt parse_fmt(const uint8_t* p, uint32_t n, const std::string& name) {
  if (n < 16) fail(ErrorCode::kCorruptFile, name, ": WAV fmt chunk is ", n, " bytes, needs at least 16");
  Fmt f;
  f.format = rd16(p), f.channels = rd16(p + 2), f.rate = rd32(p + 4);
  f.block_align = rd16(p + 12), f.bits = rd16(p + 14);
  if (f.format == kFormatExtensible) {
    if (n < 40)
      fail(ErrorCode::kCorruptFile, name, ": WAVE_FORMAT_EXTENSIBLE fmt chunk is ", n, " bytes, needs 40");
    f.format = rd16(p + 24);  // first two bytes of the sub-format GUID
  }
  if (f.format != kFormatPcm && f.format != kFormatFloat)
    fail(ErrorCode::kUnsupported, name, ": WAV sample format 0x", std::hex, f.format, std::dec,
         " is not supported (PCM integer or IEEE float only)");
  if (f.channels == 0) fail(ErrorCode::kCorruptFile, name, ": WAV fmt chunk declares 0 channels");
  if (f.rate == 0) fail(ErrorCode::kCorruptFile, name, ": WAV sample rate is 0 Hz");
  if (f.rate > 384000)
    fail(ErrorCode::kUnsupported, name, ": WAV sample rate ", f.rate, " Hz is above 384000 Hz");
  const bool bits_ok = f.format == kFormatPcm ? (f.bits == 8 || f.bits == 16 || f.bits == 24 || f.bits == 32)
                                              : (f.bits == 32 || f.bits == 64);
  if (!bits_ok)
    fail(ErrorCode::kUnsupported, name, ": WAV ", f.format == kFormatPcm ? "PCM" : "float", " with ", f.bits,
         " bits per sample is not supported");
  if (f.block_align != uint32_t(f.channels) * (f.bits / 8))
    fail(ErrorCode::kCorruptFile, name, ": WAV block_align ", f.block_align, " does not match ", f.channels,
         " channels x ", f.bits, " bits");
  return f;
}

// One sample of the given encoding as float.
float sample_at(const uint8_t* p, const Fmt& f) {
  if (f.format == kFormatFloat) {
    if (f.bits == 32) {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
    double v;
    std::memcpy(&v, p, 8);
    return float(v);
  }
  switch (f.bits) {
    case 8:
      return float(int(p[0]) - 128) / 128.0f;
    case 16:
      return float(int16_t(rd16(p))) / 32768.0f;
    case 24: {
      int32_t v = int32_t(uint32_t(p[0]) << 8 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 24) >> 8;
      return float(v) / 8388608.0f;
    }
    default:
      return float(double(int32_t(rd32(p))) / 2147483648.0);
  }
}

}  // namespace

AudioClip decode_wav(const uint8_t* data, size_t size, const std::string& name) {
  if (size < 12 || std::memcmp(data, "RIFF", 4) != 0 || std::memcmp(data + 8, "WAVE", 4) != 0)
    fail(ErrorCode::kCorruptFile, name, ": not a WAV file (no RIFF/WAVE header)");
  Fmt fmt;
  bool have_fmt = false;
  const uint8_t* pcm = nullptr;
  size_t pcm_bytes = 0;
  size_t off = 12;
  while (off + 8 <= size && !pcm) {
    const uint8_t* id = data + off;
    const uint32_t n = rd32(data + off + 4);
    const size_t body = off + 8;
    const size_t left = size - body;
    if (std::memcmp(id, "fmt ", 4) == 0) {
      if (n > left) fail(ErrorCode::kCorruptFile, name, ": WAV fmt chunk at byte ", off, " is truncated");
      fmt = parse_fmt(data + body, n, name), have_fmt = true;
    } else if (std::memcmp(id, "data", 4) == 0) {
      if (!have_fmt) fail(ErrorCode::kCorruptFile, name, ": WAV data chunk comes before the fmt chunk");
      // 0 and 0xFFFFFFFF are written by streaming encoders that never patched the size.
      if (n == 0xFFFFFFFFu || (n == 0 && left > 0))
        pcm_bytes = left;
      else if (n > left)
        fail(ErrorCode::kCorruptFile, name, ": WAV data chunk declares ", n, " bytes but only ", left,
             " remain (truncated file)");
      else
        pcm_bytes = n;
      pcm = data + body;
      break;
    }
    if (n > left)
      fail(ErrorCode::kCorruptFile, name, ": WAV chunk at byte ", off, " runs past the end of the file");
    off = body + n + (n & 1);  // chunks are padded to even sizes
  }
  if (!have_fmt) fail(ErrorCode::kCorruptFile, name, ": WAV file has no fmt chunk");
  if (!pcm) fail(ErrorCode::kCorruptFile, name, ": WAV file has no data chunk");
  const size_t frames = pcm_bytes / fmt.block_align;
  if (frames == 0) fail(ErrorCode::kInvalidArgument, name, ": WAV file holds no audio samples");
  AudioClip clip;
  clip.sample_rate = int(fmt.rate), clip.source_channels = fmt.channels, clip.source_bits = fmt.bits;
  clip.source_float = fmt.format == kFormatFloat;
  clip.samples.resize(frames);
  const size_t bps = fmt.bits / 8;
  for (size_t i = 0; i < frames; ++i) {
    const uint8_t* fr = pcm + i * fmt.block_align;
    double acc = 0;
    for (size_t c = 0; c < fmt.channels; ++c) acc += sample_at(fr + c * bps, fmt);
    const float v = float(acc / fmt.channels);
    if (!std::isfinite(v)) fail(ErrorCode::kCorruptFile, name, ": WAV sample ", i, " is not finite");
    clip.samples[i] = v;
  }
  return clip;
}

AudioClip read_wav_file(const std::string& path) {
  auto f = MappedFile::open(path);
  return decode_wav(f->data(), f->size(), path);
}

namespace {
// Zeroth-order modified Bessel function of the first kind (Kaiser window).
double bessel_i0(double x) {
  double sum = 1, term = 1;
  for (int k = 1; k < 64; ++k) {
    term *= (x / (2 * k)) * (x / (2 * k));
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum;
}
}  // namespace

std::vector<float> resample(const std::vector<float>& x, int from_hz, int to_hz) {
  if (from_hz <= 0 || to_hz <= 0) fail(ErrorCode::kInvalidArgument, "resample: rates must be positive");
  if (from_hz == to_hz || x.empty()) return x;
  const int g = std::gcd(from_hz, to_hz);
  const int64_t up = to_hz / g, down = from_hz / g;
  const int64_t n_out = (int64_t(x.size()) * up + down - 1) / down;
  // Low-pass at 0.95 of the lower Nyquist; the filter spans `zeros` zero crossings each side.
  const double cutoff = 0.95 * std::min(1.0, double(to_hz) / from_hz);  // in input-rate Nyquist units
  const int zeros = 32;
  const double half_width = zeros / cutoff;  // in input samples
  const int64_t K = int64_t(std::ceil(half_width)) + 1;
  const double beta = 8.6, i0b = bessel_i0(beta);
  auto tap = [&](double d) {  // filter value at distance d (input samples) from the output point
    const double r = d / half_width;
    if (std::fabs(r) >= 1) return 0.0;
    const double a = M_PI * cutoff * d;
    const double sinc = std::fabs(a) < 1e-12 ? 1.0 : std::sin(a) / a;
    return cutoff * sinc * bessel_i0(beta * std::sqrt(1 - r * r)) / i0b;
  };
  // Output j sits at input position t = j·down/up = base + phase/up. Polyphase table of the
  // 2K+1 taps around `base` per phase (rates are reduced by their gcd); beyond 1024 phases the
  // phase is rounded to 1/1024 of an input sample (error < 5e-4 sample).
  const int64_t phases = std::min<int64_t>(up, 1024);
  std::vector<double> taps(size_t(phases * (2 * K + 1)));
  for (int64_t ph = 0; ph < phases; ++ph)
    for (int64_t k = -K; k <= K; ++k)
      taps[size_t(ph * (2 * K + 1) + k + K)] = tap(double(k) - double(ph) / phases);
  std::vector<float> y(static_cast<size_t>(n_out));
  const int64_t n = int64_t(x.size());
  for (int64_t j = 0; j < n_out; ++j) {
    int64_t base = j * down / up, ph = j * down % up;
    if (phases != up) {
      ph = (ph * phases * 2 + up) / (2 * up);  // nearest of `phases` steps
      if (ph == phases) ph = 0, ++base;
    }
    const double* w = taps.data() + ph * (2 * K + 1) + K;
    double acc = 0;
    for (int64_t k = std::max(-K, -base); k <= K && base + k < n; ++k)
      acc += double(x[size_t(base + k)]) * w[k];
    y[size_t(j)] = float(acc);
  }
  return y;
}

AudioClip decode_audio_mono(const uint8_t* data, size_t size, const std::string& name, int rate_hz) {
  AudioClip c = decode_wav(data, size, name);
  if (c.sample_rate != rate_hz)
    c.samples = resample(c.samples, c.sample_rate, rate_hz), c.sample_rate = rate_hz;
  return c;
}

AudioClip load_audio_mono(const std::string& path, int rate_hz) {
  auto f = MappedFile::open(path);
  return decode_audio_mono(f->data(), f->size(), path, rate_hz);
}

}  // namespace ember
