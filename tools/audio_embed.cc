// Runs ember's Gemma 4 audio front end + tower on one WAV file and writes the results as .npy
// (for parity checks against transformers, tools/check_gemma4_audio_fullsize.py):
//
//   audio_embed MODEL_DIR CLIP.wav OUT_PREFIX [THREADS]
//
// Writes OUT_PREFIX.mel.npy [T, 128], OUT_PREFIX.tower.npy [n, P] (after output_proj) and
// OUT_PREFIX.embed.npy [n, H_text] (soft tokens), f32 activations with exact matmuls.
#include <chrono>
#include <cstdio>
#include <string>

#include "backend/backend.h"
#include "io/npy.h"
#include "media/audio_features.h"
#include "media/wav.h"
#include "models/gemma4_audio.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: audio_embed MODEL_DIR CLIP.wav OUT_PREFIX [THREADS]\n");
    return 2;
  }
  try {
    using clock = std::chrono::steady_clock;
    const std::string out = argv[3];
    auto t0 = clock::now();
    ember::Gemma4AudioTower tw = ember::load_gemma4_audio_dir(argv[1]);
    auto b = ember::make_backend("cpu", argc > 4 ? std::stoi(argv[4]) : 0);
    b->set_matmul_mode(ember::MatmulMode::kExact);
    auto t1 = clock::now();
    ember::AudioClip clip = ember::load_audio_mono(argv[2], ember::Gemma4AudioFrontEnd::kSampleRate);
    ember::MelFeatures mel = ember::gemma4_log_mel(clip.samples.data(), int64_t(clip.samples.size()));
    auto t2 = clock::now();
    ember::AudioTowerTrace trace;
    std::vector<float> emb = ember::gemma4_audio_embed(tw, *b, mel, &trace);
    auto t3 = clock::now();
    const int64_t n = int64_t(emb.size()) / tw.text_hidden;
    ember::write_npy(out + ".mel.npy", mel.data.data(), {mel.frames, 128});
    ember::write_npy(out + ".tower.npy", trace.tower.data(), {n, tw.cfg.output_proj_dims});
    ember::write_npy(out + ".embed.npy", emb.data(), {n, tw.text_hidden});
    auto ms = [](auto a, auto z) { return std::chrono::duration<double, std::milli>(z - a).count(); };
    std::printf(
        "%s: %zu samples, %lld mel frames, %lld soft tokens; load %.0f ms, features %.0f ms, tower %.0f ms "
        "(%s)\n",
        argv[2], clip.samples.size(), (long long)mel.frames, (long long)n, ms(t0, t1), ms(t1, t2), ms(t2, t3),
        b->description().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
