#include "media/audio_features.h"

#include <algorithm>
#include <cmath>
#include <complex>

#include "core/status.h"

namespace ember {

namespace {

using FE = Gemma4AudioFrontEnd;
constexpr int kBins = FE::kFftLength / 2 + 1;  // 257 rFFT bins

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }  // HTK
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

// Constant tables of the front end, built once.
struct Tables {
  std::vector<double> window;                 // [320] periodic Hann, rounded to f32 as transformers
  std::vector<double> filters;                // [257, 128] triangular HTK filters, no normalization
  std::vector<std::complex<double>> twiddle;  // [256] e^{-2πik/512}
  std::vector<int> bitrev;                    // [512]

  Tables() {
    window.resize(FE::kFrameLength);
    for (int n = 0; n < FE::kFrameLength; ++n)
      window[size_t(n)] = double(float(0.5 - 0.5 * std::cos(2.0 * M_PI * n / FE::kFrameLength)));
    // Filter centres: 130 points evenly spaced in mel between 0 and 8000 Hz; bin frequencies
    // linspace(0, 8000, 257). filter m rises from centre m to m+1 and falls to m+2.
    const int M = FE::kMelBins;
    std::vector<double> f(size_t(M + 2));
    const double m0 = hz_to_mel(0.0), m1 = hz_to_mel(8000.0);
    for (int i = 0; i < M + 2; ++i) f[size_t(i)] = mel_to_hz(m0 + (m1 - m0) * i / (M + 1));
    filters.assign(size_t(kBins) * M, 0.0);
    for (int b = 0; b < kBins; ++b) {
      const double hz = 8000.0 * b / (kBins - 1);
      for (int m = 0; m < M; ++m) {
        const double down = (hz - f[size_t(m)]) / (f[size_t(m + 1)] - f[size_t(m)]);
        const double up = (f[size_t(m + 2)] - hz) / (f[size_t(m + 2)] - f[size_t(m + 1)]);
        filters[size_t(b) * M + m] = std::max(0.0, std::min(down, up));
      }
    }
    const int N = FE::kFftLength;
    twiddle.resize(size_t(N / 2));
    for (int k = 0; k < N / 2; ++k) twiddle[size_t(k)] = std::polar(1.0, -2.0 * M_PI * k / N);
    bitrev.resize(static_cast<size_t>(N));
    int bits = 0;
    while ((1 << bits) < N) ++bits;
    for (int i = 0; i < N; ++i) {
      int r = 0;
      for (int j = 0; j < bits; ++j) r |= ((i >> j) & 1) << (bits - 1 - j);
      bitrev[size_t(i)] = r;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

// In-place iterative radix-2 FFT of a[512].
void fft512(std::complex<double>* a, const Tables& t) {
  const int N = FE::kFftLength;
  for (int i = 0; i < N; ++i)
    if (i < t.bitrev[size_t(i)]) std::swap(a[i], a[t.bitrev[size_t(i)]]);
  for (int len = 2; len <= N; len <<= 1) {
    const int step = N / len;
    for (int i = 0; i < N; i += len)
      for (int k = 0; k < len / 2; ++k) {
        const std::complex<double> u = a[i + k], v = a[i + k + len / 2] * t.twiddle[size_t(k * step)];
        a[i + k] = u + v, a[i + k + len / 2] = u - v;
      }
  }
}

}  // namespace

int64_t gemma4_mel_frames(int64_t n_samples) {
  n_samples = std::min(n_samples, FE::kMaxSamples);
  const int64_t padded = n_samples + FE::kFrameLength / 2;
  const int64_t win = FE::kFrameLength + 1;  // unfold size: one extra sample, dropped (no preemphasis)
  return padded < win ? 0 : (padded - win) / FE::kHop + 1;
}

int64_t gemma4_audio_tokens(int64_t n_samples) {
  int64_t t = gemma4_mel_frames(n_samples);
  for (int i = 0; i < 2; ++i) t = (t + 1) / 2;  // two stride-2 convolutions (pad 1, kernel 3)
  return std::min<int64_t>(t, 750);
}

MelFeatures gemma4_log_mel(const float* samples, int64_t n) {
  n = std::min(n, FE::kMaxSamples);
  MelFeatures out;
  out.frames = gemma4_mel_frames(n);
  if (out.frames <= 0)
    fail(ErrorCode::kInvalidArgument, "audio clip too short: ", n, " samples at 16 kHz; need at least ",
         FE::kFrameLength + 1 - FE::kFrameLength / 2, " (one 20 ms frame)");
  const Tables& t = tables();
  const int M = FE::kMelBins;
  out.data.resize(size_t(out.frames) * M);
  std::vector<std::complex<double>> buf(FE::kFftLength);
  std::vector<double> mag(kBins);
  for (int64_t i = 0; i < out.frames; ++i) {
    const int64_t start = i * FE::kHop - FE::kFrameLength / 2;  // semicausal left pad
    std::fill(buf.begin(), buf.end(), std::complex<double>(0.0, 0.0));
    for (int k = 0; k < FE::kFrameLength; ++k) {
      const int64_t s = start + k;
      const double v = s < 0 ? 0.0 : double(samples[s]);
      buf[size_t(k)] = v * t.window[size_t(k)];
    }
    fft512(buf.data(), t);
    for (int b = 0; b < kBins; ++b) mag[size_t(b)] = std::abs(buf[size_t(b)]);
    float* row = out.data.data() + i * M;
    for (int m = 0; m < M; ++m) {
      double acc = 0;
      for (int b = 0; b < kBins; ++b) acc += mag[size_t(b)] * t.filters[size_t(b) * M + m];
      row[m] = float(std::log(acc + FE::kMelFloor));
    }
  }
  return out;
}

}  // namespace ember
