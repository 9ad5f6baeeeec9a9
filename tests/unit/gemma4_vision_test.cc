// Gemma 4 vision: image decoding and preprocessing, the vision tower and the logits of a prompt
// with an image, against transformers float32 (tests/fixtures/gemma4_vision, made by
// tools/gen_gemma4_vision_fixtures.py; see its README.md for the tolerances).
#include "vision/gemma4_vision.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>

#include "ember/ember.hpp"
#include "io/npy.h"
#include "models/gemma4_weights.h"
#include "models/language_model.h"
#include "util/golden.h"
#include "util/test_paths.h"
#include "vision/image.h"

namespace ember {
namespace {

const std::string kDir = std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gemma4_vision/";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json inputs() { return nlohmann::json::parse(slurp(kDir + "inputs.json")); }

std::vector<float> npy_f32(const std::string& name, std::vector<int64_t>* shape = nullptr) {
  NpyArray a = read_npy(kDir + name);
  if (shape) *shape = a.shape;
  return a.values<float>();
}

double max_abs(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

ImagePatches preprocess_file(const std::string& name) {
  const RgbImage img = decode_image(slurp(kDir + name), name);
  ImagePreprocess p;
  p.patch = 4, p.pooling = 3, p.soft_token_budget = inputs()["budget"].get<int>();
  return gemma4_preprocess(img, p, name);
}

TEST(Gemma4Image, TargetSizesOfTheSpec) {
  // gemma4-multimodal.md §3.1 worked examples (budget 280, patch 16, pooling 3).
  auto size = [](int w, int h, int budget) {
    int th = 0, tw = 0;
    gemma4_target_size(h, w, 16, budget * 9, 3, &th, &tw, "t");
    return std::make_pair(tw, th);
  };
  EXPECT_EQ(size(896, 896, 280), std::make_pair(768, 768));
  EXPECT_EQ(size(224, 224, 280), std::make_pair(768, 768));
  EXPECT_EQ(size(1024, 768, 280), std::make_pair(912, 672));
  EXPECT_EQ(size(1920, 1080, 280), std::make_pair(1056, 576));
  EXPECT_EQ(size(4000, 100, 280), std::make_pair(5040, 96));
  EXPECT_EQ(size(512, 512, 70).first / 48 * size(512, 512, 70).second / 48, 64);
  EXPECT_EQ(size(512, 512, 1120).first / 48 * size(512, 512, 1120).second / 48, 1089);
  EXPECT_THROW(gemma4_image_budget(100, "x"), Error);
  EXPECT_EQ(gemma4_image_budget(0, "x"), 280);
}

// PNG is lossless, and the resize is Pillow's bicubic reimplemented bit for bit: the patches
// must equal the processor's exactly.
TEST(Gemma4Image, PngPixelsEqualTheProcessor) {
  std::vector<int64_t> shape;
  const auto want = npy_f32("pixels_png.npy", &shape);
  const ImagePatches got = preprocess_file("photo.png");
  const auto in = inputs()["png"];
  EXPECT_EQ(got.grid_w, in["grid_wh"][0].get<int>());
  EXPECT_EQ(got.grid_h, in["grid_wh"][1].get<int>());
  ASSERT_EQ(shape, (std::vector<int64_t>{got.n, got.dim}));
  EXPECT_EQ(max_abs(got.values, want), 0.0);
}

// JPEG: stb_image and libjpeg (PIL) decode the same file slightly differently (IDCT, chroma
// upsampling), so the patches agree only to a few levels of 255; measured and bounded here.
TEST(Gemma4Image, JpegPixelsCloseToTheProcessor) {
  std::vector<int64_t> shape;
  const auto want = npy_f32("pixels_jpg.npy", &shape);
  const ImagePatches got = preprocess_file("photo.jpg");
  ASSERT_EQ(shape, (std::vector<int64_t>{got.n, got.dim}));
  double sum = 0;
  for (size_t i = 0; i < want.size(); ++i) sum += std::fabs(got.values[i] - want[i]);
  const double mean = sum / double(want.size());
  const double mx = max_abs(got.values, want);
  std::printf("jpeg vs PIL: mean-abs %.3g (%.2f/255), max-abs %.3g (%.1f/255)\n", mean, mean * 255, mx,
              mx * 255);
  EXPECT_LT(mean, 2.0 / 255);
  EXPECT_LT(mx, 40.0 / 255);
}

TEST(Gemma4Image, CorruptOrNonImageFilesGiveClearErrors) {
  auto err = [](const std::string& bytes) {
    try {
      decode_image(bytes, "upload.bin");
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      return std::string(e.what());
    }
    ADD_FAILURE() << "no error";
    return std::string();
  };
  EXPECT_NE(err("").find("upload.bin: empty image file"), std::string::npos);
  EXPECT_NE(err("hello, I am text").find("upload.bin: not a PNG or JPEG"), std::string::npos);
  const std::string png = slurp(kDir + "photo.png");
  EXPECT_NE(err(png.substr(0, png.size() / 2)).find("upload.bin: corrupt image"), std::string::npos);
  std::string bad = png;
  for (size_t i = 40; i < bad.size(); i += 7) bad[i] = char(bad[i] ^ 0x5a);
  EXPECT_NE(err(bad).find("upload.bin: corrupt image"), std::string::npos);
  const std::string jpg = slurp(kDir + "photo.jpg");
  EXPECT_NE(err(jpg.substr(0, 200)).find("upload.bin: corrupt image"), std::string::npos);
}

std::unique_ptr<LanguageModel> load(const std::string& sub) {
  ModelLoadOptions o;
  o.f32_reference = true;
  return load_language_model(kDir + sub, o);
}

// The tower (patch embedding .. embedder) on the processor's own patches.
void check_tower(const std::string& sub, const std::string& ref) {
  auto lm = load(sub);
  auto* tower = dynamic_cast<const Gemma4VisionTower*>(lm->media_encoder(MediaKind::kImage));
  ASSERT_NE(tower, nullptr);
  const auto px = npy_f32("pixels_png.npy");
  const auto g = inputs()["png"]["grid_wh"];
  std::vector<int64_t> shape;
  const auto want = npy_f32(ref, &shape);
  const auto got = tower->encode_patches(px.data(), g[0].get<int>(), g[1].get<int>());
  const double d = max_abs(got, want);
  std::printf("%s tower vs transformers: max-abs %.3g\n", sub.c_str(), d);
  EXPECT_LE(d, 1e-4);  // transformers f32 vs f64: 2.6e-6 (crosscheck.json); measured 4.7e-6
}

TEST(Gemma4Vision, TowerMatchesTransformersF32) { check_tower("model", "tower_png.npy"); }
TEST(Gemma4Vision, TowerMatchesTransformersMlx4bitTower) { check_tower("model_mlx4", "tower_png_mlx4.npy"); }

// The whole path: decode photo.png, preprocess, tower, merge at the placeholders (pad-id PLE),
// logits of every position.
void check_logits(const std::string& sub, const std::string& ref) {
  auto lm = load(sub);
  const auto in = inputs();
  const auto ids = in["ids"].get<std::vector<int32_t>>();
  Media m;
  m.bytes = slurp(kDir + "photo.png");
  m.source = "photo.png";
  m.image_tokens = in["budget"].get<int>();
  const std::vector<float> soft = lm->media_encoder(MediaKind::kImage)->encode(m);
  const int64_t H = lm->summary().hidden_size;
  EXPECT_EQ(int64_t(soft.size()) / H, in["png"]["soft_tokens"].get<int64_t>());
  SoftTokens st{soft.data(), int64_t(soft.size()) / H};
  auto state = lm->new_state(256, 32);  // chunks of 32: the image spans chunk boundaries
  ForwardOptions fo;
  fo.logits = LogitsMode::kAll;
  fo.soft = &st;
  std::vector<float> got;
  lm->forward(ids.data(), int64_t(ids.size()), *state, fo, &got);
  const auto want = npy_f32(ref);
  const int64_t V = lm->summary().vocab_size;
  const auto diff = testing::compare_logits(got.data(), want.data(), int64_t(ids.size()), V);
  std::printf("%s logits vs transformers: %s\n", sub.c_str(), diff.summary().c_str());
  EXPECT_TRUE(diff.within(testing::kGoldenMaxAbsF32)) << diff.summary();

  // Prefill as a session does it: last logits only (YOCO, non-final chunks compute none).
  auto s4 = lm->new_state(256, 32);
  ForwardOptions last;
  last.logits = LogitsMode::kLast;
  last.soft = &st;
  std::vector<float> got_last;
  lm->forward(ids.data(), int64_t(ids.size()), *s4, last, &got_last);
  const int64_t T = int64_t(ids.size());
  const auto d_last = testing::compare_logits(got_last.data(), want.data() + (T - 1) * V, 1, V);
  EXPECT_TRUE(d_last.within(testing::kGoldenMaxAbsF32)) << d_last.summary();

  // Without the soft tokens the image positions are pad embeddings: the logits must move.
  auto s2 = lm->new_state(256, 32);
  ForwardOptions plain;
  plain.logits = LogitsMode::kAll;
  std::vector<float> no_image;
  lm->forward(ids.data(), int64_t(ids.size()), *s2, plain, &no_image);
  EXPECT_GT(max_abs(no_image, want), 0.1);
  // A soft-token count that does not match the placeholders is an error.
  SoftTokens fewer{soft.data(), st.n - 1};
  fo.soft = &fewer;
  auto s3 = lm->new_state(256, 32);
  EXPECT_THROW(lm->forward(ids.data(), int64_t(ids.size()), *s3, fo, &got), Error);
}

// The merge alone (placeholders -> soft tokens, pad-id PLE token part, PLE context part from the
// merged embeddings): logits with transformers' own tower output as the soft tokens.
TEST(Gemma4Vision, LogitsWithReferenceSoftTokens) {
  auto lm = load("model");
  const auto ids = inputs()["ids"].get<std::vector<int32_t>>();
  const auto soft = npy_f32("tower_png.npy");
  SoftTokens st{soft.data(), int64_t(soft.size()) / lm->summary().hidden_size};
  auto state = lm->new_state(256, 256);
  ForwardOptions fo;
  fo.logits = LogitsMode::kAll;
  fo.soft = &st;
  std::vector<float> got;
  lm->forward(ids.data(), int64_t(ids.size()), *state, fo, &got);
  const auto want = npy_f32("logits.npy");
  const auto diff =
      testing::compare_logits(got.data(), want.data(), int64_t(ids.size()), lm->summary().vocab_size);
  std::printf("logits with transformers' soft tokens: %s\n", diff.summary().c_str());
  EXPECT_TRUE(diff.within(testing::kGoldenMaxAbsF32)) << diff.summary();
}

TEST(Gemma4Vision, LogitsWithImageMatchTransformersF32) { check_logits("model", "logits.npy"); }
TEST(Gemma4Vision, LogitsWithImageMatchTransformersMlx4bitTower) {
  check_logits("model_mlx4", "logits_mlx4.npy");
}

// The text model's KV-sharing rules (layers >= first_kv_shared own no k/v) never touch the tower:
// all 17 vision layers, 15 and 16 included, keep their k/v projections and clip bounds.
TEST(Gemma4Vision, KvSharingRulesNeverTouchTowerLayers) {
  for (const char* sub : {"model", "model_mlx4"}) {
    LoadOptions lo;
    lo.vision = true;
    Gemma4Model m = load_gemma4(kDir + sub, lo);
    ASSERT_GT(m.cfg.text.num_kv_shared_layers, 0);
    ASSERT_TRUE(m.vision) << m.vision_error;
    ASSERT_EQ(m.vision->layers.size(), 17u);
    const std::string pre = std::string(sub) == "model" ? "model." : "";
    for (int i : {int(m.cfg.first_kv_shared), 15, 16}) {
      const auto& L = m.vision->layers[size_t(i)];
      EXPECT_EQ(L.k_proj.w.rows, 32) << sub << " layer " << i;
      EXPECT_EQ(L.v_proj.w.rows, 32) << sub << " layer " << i;
      EXPECT_TRUE(std::isfinite(L.k_proj.in_min) && std::isfinite(L.v_proj.out_max)) << sub << " layer " << i;
      for (const std::string t : {"k_proj.linear.weight", "v_proj.linear.weight", "k_proj.input_min"}) {
        const std::string key = pre + "vision_tower.encoder.layers." + std::to_string(i) + ".self_attn." + t;
        bool found = false;
        for (const auto& r : m.report.tensors)
          if (r.key == key) {
            found = true;
            EXPECT_EQ(r.status, "used") << key;
          }
        EXPECT_TRUE(found) << key;
      }
    }
    if (std::string(sub) == "model_mlx4") EXPECT_TRUE(m.vision->layers[15].k_proj.w.quantized());
    for (const auto& r : m.report.tensors) EXPECT_NE(r.status, "skipped") << r.key;
  }
}

// A checkpoint whose vision tower does not fit its table still loads as a text model; the
// problems are reported when an image is given.
TEST(Gemma4Vision, BrokenTowerRefusesImagesOnly) {
  namespace fs = std::filesystem;
  const std::string dir = testing::make_temp_dir("vision_broken");
  auto cfg = nlohmann::json::parse(slurp(kDir + "model/config.json"));
  cfg["vision_config"]["num_hidden_layers"] = 18;  // the checkpoint has 17
  std::ofstream(dir + "/config.json") << cfg.dump();
  fs::copy_file(kDir + "model/model.safetensors", dir + "/model.safetensors",
                fs::copy_options::overwrite_existing);
  auto lm = load_language_model(dir, ModelLoadOptions{});
  EXPECT_EQ(lm->media_encoder(MediaKind::kAudio), nullptr);
  try {
    lm->media_encoder(MediaKind::kImage);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(
        msg.find("vision_tower.encoder.layers.17.self_attn.q_proj.linear.weight: required tensor is missing"),
        std::string::npos)
        << msg;
  }
  EXPECT_NE(lm->describe(false).find("gemma4"), std::string::npos);
}

// The public API: a chat with an image renders "\n\n<|image|>\n\n", encode_prompt expands the
// marker to <|image>, 63 soft placeholders, <image|> with the tower's rows, and a session
// prefills it; prefix reuse stops at the first soft token.
std::string tokenizer_with_image_tokens() {
  auto t = nlohmann::json::parse(
      slurp(std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/tiny_tokenizer/tokenizer.json"));
  const std::map<int, std::string> names = {
      {249, "<|video|>"}, {250, "<|image>"}, {251, "<|image|>"}, {252, "<image|>"}};
  auto& vocab = t["model"]["vocab"];
  std::vector<std::string> drop;
  for (auto it = vocab.begin(); it != vocab.end(); ++it)
    if (names.count(it.value().get<int>())) drop.push_back(it.key());
  for (const auto& k : drop) vocab.erase(k);
  for (const auto& [id, n] : names) {
    vocab[n] = id;
    t["added_tokens"].push_back({{"id", id},
                                 {"content", n},
                                 {"single_word", false},
                                 {"lstrip", false},
                                 {"rstrip", false},
                                 {"normalized", false},
                                 {"special", true}});
  }
  return t.dump();
}

TEST(Gemma4Vision, EncodePromptExpandsImagesAndSessionPrefillsThem) {
  namespace fs = std::filesystem;
  const std::string dir = testing::make_temp_dir("vision_api");
  for (const char* f : {"config.json", "generation_config.json", "model.safetensors"})
    fs::copy_file(kDir + "model/" + f, dir + "/" + f, fs::copy_options::overwrite_existing);
  fs::copy_file(std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/tiny_tokenizer/tokenizer_config.json",
                dir + "/tokenizer_config.json", fs::copy_options::overwrite_existing);
  std::ofstream(dir + "/tokenizer.json") << tokenizer_with_image_tokens();
  ModelOptions mo;
  mo.f32_reference = true;
  auto model = Model::load(dir, mo);
  const MediaTokenIds ids = model->media_token_ids(MediaKind::kImage);
  EXPECT_EQ(ids.begin, 250);
  EXPECT_EQ(ids.soft, 251);
  EXPECT_EQ(ids.end, 252);
  EXPECT_EQ(model->media_token_ids(MediaKind::kAudio).soft, -1);

  std::vector<Message> msgs = {{"user", "Describe this."}};
  msgs[0].images = 1;
  const std::string text = model->render_chat(msgs);
  EXPECT_NE(text.find("\n\n<|image|>\n\nDescribe this."), std::string::npos) << text;
  Media m = Media::from_file(kDir + "photo.png");
  m.image_tokens = 70;
  const Prompt p = model->encode_prompt(text, std::span<const Media>(&m, 1));
  const int64_t H = model->info().hidden_size;
  ASSERT_EQ(int64_t(p.soft_tokens.size()), 63 * H);
  auto first = std::find(p.tokens.begin(), p.tokens.end(), 250);
  ASSERT_NE(first, p.tokens.end());
  EXPECT_EQ(std::count(p.tokens.begin(), p.tokens.end(), 251), 63);
  EXPECT_EQ(*(first + 64), 252);
  EXPECT_TRUE(std::all_of(first + 1, first + 64, [](int32_t id) { return id == 251; }));

  auto s = model->new_session();
  EXPECT_EQ(s->prefill(p), int64_t(p.tokens.size()));
  const std::vector<float> with_image(s->logits().begin(), s->logits().end());
  // Reusing the same prompt recomputes from the first soft token (the ids do not identify the image).
  const int64_t soft_at = first - p.tokens.begin() + 1;
  EXPECT_EQ(s->prefill_reuse(p.tokens), int64_t(p.tokens.size()) - soft_at);
  // ... which, without the soft rows, gives pad embeddings there: different logits.
  EXPECT_GT(max_abs(std::vector<float>(s->logits().begin(), s->logits().end()), with_image), 1e-3);

  // Marker / media count mismatches and a model-less modality are errors.
  EXPECT_THROW(model->encode_prompt("no marker here", std::span<const Media>(&m, 1)), Error);
  EXPECT_THROW(model->encode_prompt("<|image|><|image|>", std::span<const Media>(&m, 1)), Error);
  Media a;
  a.kind = MediaKind::kAudio;
  a.source = "clip.wav";
  EXPECT_THROW(model->encode_prompt("<|image|>", std::vector<Media>{m, a}), Error);
}

}  // namespace
}  // namespace ember
