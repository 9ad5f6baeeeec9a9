// libFuzzer target: WAV decoding, resampling to 16 kHz and Gemma 4 log-mel features must turn any
// byte string into features or an ember::Error (never a crash, never a non-finite feature from
// finite samples).
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "ember/error.hpp"
#include "media/audio_features.h"
#include "media/wav.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    ember::AudioClip c = ember::decode_wav(data, size, "fuzz.wav");
    if (c.samples.empty() || c.sample_rate <= 0) std::abort();
    if (c.samples.size() > 20000) return 0;  // keep each run fast
    std::vector<float> x = ember::resample(c.samples, c.sample_rate, 16000);
    bool finite = true;
    for (float v : c.samples) finite &= std::fabs(v) <= 1e6f;
    const ember::MelFeatures m = ember::gemma4_log_mel(x.data(), int64_t(x.size()));
    if (int64_t(m.data.size()) != m.frames * 128) std::abort();
    if (finite)
      for (float v : m.data)
        if (!std::isfinite(v)) std::abort();
  } catch (const ember::Error&) {
  }
  return 0;
}
