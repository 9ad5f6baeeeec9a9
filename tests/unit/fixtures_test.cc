// Consistency of the committed Gemma 4 golden fixtures (tests/fixtures/gemma4, made by
// tools/gen_gemma4_fixtures.py): every fixture directory is complete and self-consistent, so
// that the forward-pass tests that compare ember's logits against them can trust their inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "io/npy.h"
#include "util/golden.h"

namespace ember {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kRoot = fs::path(EMBER_SOURCE_DIR) / "tests/fixtures/gemma4";

const std::set<std::string> kExpected = {
    "hf_mm_e2b_bf16",         "hf_mm_e2b_f32",         "hf_text_e2b_bf16",
    "hf_text_e4b_long_bf16",  "hf_text_moe_keqv_bf16", "mlx_text_e2b_4bit",
    "mlx_text_e4b_8bit_gs32", "mlx_mm_e2b_4bit",       "mlx_mm_e2b_mixed"};

json read_json(const fs::path& p) {
  std::ifstream f(p);
  if (!f) throw std::runtime_error("cannot open " + p.string());
  return json::parse(f);
}

// The safetensors header (8-byte little-endian length, then a JSON object), with the data
// section's bounds checked for every tensor. Independent of ember's loader on purpose.
json safetensors_header(const fs::path& p, std::string* error) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), {});
  if (bytes.size() < 8) return *error = "file shorter than 8 bytes", json();
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > bytes.size() - 8) return *error = "header length beyond file", json();
  json h = json::parse(bytes.begin() + 8, bytes.begin() + 8 + long(n), nullptr, false);
  if (!h.is_object()) return *error = "header is not a JSON object", json();
  const uint64_t data_size = bytes.size() - 8 - n;
  for (auto& [name, t] : h.items()) {
    if (name == "__metadata__") continue;
    if (!t.contains("dtype") || !t.contains("shape") || !t.contains("data_offsets")) {
      return *error = name + ": missing dtype/shape/data_offsets", json();
    }
    auto off = t["data_offsets"];
    if (off[0].get<uint64_t>() > off[1].get<uint64_t>() || off[1].get<uint64_t>() > data_size) {
      return *error = name + ": data_offsets outside the data section", json();
    }
  }
  return h;
}

std::vector<fs::path> fixture_dirs() {
  std::vector<fs::path> out;
  if (!fs::is_directory(kRoot)) return out;
  for (auto& e : fs::directory_iterator(kRoot)) {
    if (e.is_directory()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Text-model key prefix of each layout (HF multimodal, MLX multimodal, text-only).
std::string text_prefix(const json& cfg) {
  if (cfg["model_type"] == "gemma4")
    return cfg.contains("quantization") ? "language_model.model." : "model.language_model.";
  return "model.";
}

TEST(Fixtures, AllExpectedDirectoriesPresent) {
  std::set<std::string> found;
  for (auto& d : fixture_dirs()) found.insert(d.filename().string());
  EXPECT_EQ(found, kExpected);
  EXPECT_TRUE(fs::exists(kRoot / "README.md"));
  json cross = read_json(kRoot / "crosscheck.json");
  for (auto& name : kExpected) EXPECT_TRUE(cross.contains(name)) << "crosscheck.json lacks " << name;
}

void check_fixture(const fs::path& dir) {
  SCOPED_TRACE(dir.filename().string());
  for (const char* f :
       {"config.json", "model.safetensors", "inputs.json", "logits.npy", "generation_config.json"}) {
    ASSERT_TRUE(fs::exists(dir / f)) << "missing " << f;
  }
  json cfg = read_json(dir / "config.json");
  ASSERT_TRUE(cfg["model_type"] == "gemma4" || cfg["model_type"] == "gemma4_text") << cfg["model_type"];
  const json& tc = cfg.contains("text_config") ? cfg["text_config"] : cfg;
  const int64_t vocab = tc.at("vocab_size"), hidden = tc.at("hidden_size"),
                layers = tc.at("num_hidden_layers");
  ASSERT_EQ(tc.at("layer_types").size(), size_t(layers));
  ASSERT_TRUE(tc.contains("global_head_dim")) << "shipped configs carry global_head_dim";
  EXPECT_EQ(tc.at("final_logit_softcapping").get<double>(), 30.0);
  if (cfg.contains("quantization")) EXPECT_EQ(cfg["quantization"], cfg.at("quantization_config"));

  std::string err;
  json h = safetensors_header(dir / "model.safetensors", &err);
  ASSERT_TRUE(err.empty()) << err;
  const std::string p = text_prefix(cfg);
  ASSERT_TRUE(h.contains(p + "embed_tokens.weight")) << "no " << p << "embed_tokens.weight";
  const json& emb = h[p + "embed_tokens.weight"];
  EXPECT_EQ(emb["shape"][0].get<int64_t>(), vocab);
  if (cfg.contains("quantization")) {
    EXPECT_EQ(emb["dtype"], "U32");
    EXPECT_TRUE(h.contains(p + "embed_tokens.scales") && h.contains(p + "embed_tokens.biases"));
  } else {
    EXPECT_EQ(emb["shape"][1].get<int64_t>(), hidden);
  }
  EXPECT_TRUE(h.contains(p + "norm.weight"));
  for (int64_t i = 0; i < layers; ++i) {
    const std::string l = p + "layers." + std::to_string(i) + ".";
    EXPECT_TRUE(h.contains(l + "self_attn.q_proj.weight")) << l;
    EXPECT_TRUE(h.contains(l + "layer_scalar")) << l;
    EXPECT_TRUE(h.contains(l + "input_layernorm.weight")) << l;
  }
  EXPECT_FALSE(h.contains("lm_head.weight")) << "tied head must not be stored";

  json inputs = read_json(dir / "inputs.json");
  ASSERT_TRUE(inputs.contains("ids") && inputs["ids"].is_array() && !inputs["ids"].empty());
  for (auto& id : inputs["ids"]) ASSERT_TRUE(id.is_number_integer() && id >= 0 && id < vocab) << id;
  EXPECT_GT(inputs["ids"].size(), size_t(2 * tc.at("sliding_window").get<int64_t>()))
      << "prompt must cross the window";

  NpyArray logits = read_npy((dir / "logits.npy").string());
  ASSERT_EQ(logits.dtype, DType::F32);
  ASSERT_EQ(logits.shape, (std::vector<int64_t>{int64_t(inputs["ids"].size()), vocab}));
  for (float x : logits.values<float>()) ASSERT_TRUE(std::isfinite(x) && std::fabs(x) <= 30.0f) << x;

  // Optional activation dumps: shapes follow the config and the prompt.
  const int64_t T = int64_t(inputs["ids"].size());
  const int64_t P = tc.value("hidden_size_per_layer_input", int64_t(0));
  const std::vector<std::pair<std::string, std::vector<int64_t>>> acts = {
      {"act_embed.npy", {T, hidden}},
      {"act_ple.npy", {T, layers, P}},
      {"act_layers.npy", {layers, T, hidden}},
      {"act_final_norm.npy", {T, hidden}}};
  for (const auto& [file, shape] : acts) {
    if (!fs::exists(dir / file)) continue;
    NpyArray a = read_npy((dir / file).string());
    EXPECT_EQ(a.dtype, DType::F32) << file;
    EXPECT_EQ(a.shape, shape) << file;
  }
  if (cfg["model_type"] == "gemma4_text" && !cfg.contains("quantization")) {
    EXPECT_TRUE(fs::exists(dir / "act_layers.npy")) << "HF text-only fixtures carry activation dumps";
  }
}

TEST(Fixtures, EveryDirectoryIsComplete) {
  auto dirs = fixture_dirs();
  ASSERT_FALSE(dirs.empty()) << "no fixtures under " << kRoot;
  for (auto& d : dirs) check_fixture(d);
}

TEST(Fixtures, GreedyGenerationRecord) {
  json g = read_json(kRoot / "hf_text_e2b_bf16/generation.json");
  ASSERT_TRUE(g["prompt_ids"].is_array() && !g["prompt_ids"].empty());
  const size_t max_new = g.at("max_new_tokens");
  ASSERT_EQ(g["runs"].size(), 2u);
  const auto& free = g["runs"][0]["generated_ids"];
  EXPECT_EQ(free.size(), max_new) << "without EOS ids the run must use every new token";
  const auto& stop_run = g["runs"][1];
  const auto& stopped = stop_run["generated_ids"];
  ASSERT_FALSE(stopped.empty());
  ASSERT_LE(stopped.size(), max_new);
  std::set<int64_t> eos(stop_run["eos_token_id"].begin(), stop_run["eos_token_id"].end());
  EXPECT_TRUE(eos.count(stopped.back().get<int64_t>())) << "the EOS run must end on an EOS id";
  for (size_t i = 0; i + 1 < stopped.size(); ++i) {
    EXPECT_FALSE(eos.count(stopped[i].get<int64_t>())) << "EOS before the end at " << i;
    EXPECT_EQ(stopped[i], free[i]) << "both runs are greedy from the same prompt";
  }
}

TEST(Fixtures, GoldenHelpers) {
  const std::string root = testing::gemma4_fixture_root(EMBER_SOURCE_DIR);
  auto names = testing::list_fixtures(root);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), kExpected);
  for (auto& name : names) {
    testing::GoldenCase c = testing::load_golden(root + "/" + name);
    ASSERT_EQ(c.logits.size(), c.ids.size() * size_t(c.vocab)) << name;
    EXPECT_FALSE(c.reference.empty()) << name;
    const int64_t rows = int64_t(c.ids.size());
    auto same = testing::compare_logits(c.logits.data(), c.logits.data(), rows, c.vocab);
    EXPECT_TRUE(same.within(0.0)) << same.summary();
    // A perturbation is found, located, and an argmax flip is counted.
    std::vector<float> bad = c.logits;
    const int64_t pos = rows / 2;
    float* row = bad.data() + pos * c.vocab;
    const int64_t top = std::max_element(row, row + c.vocab) - row;
    row[(top + 1) % c.vocab] = row[top] + 0.5f;
    auto d = testing::compare_logits(bad.data(), c.logits.data(), rows, c.vocab);
    EXPECT_FALSE(d.within(testing::kGoldenMaxAbsF32));
    EXPECT_EQ(d.worst_pos, pos);
    EXPECT_EQ(d.argmax_mismatches, 1);
    EXPECT_EQ(d.first_argmax_mismatch, pos);
    bad = c.logits;
    bad[3] = NAN;
    EXPECT_FALSE(testing::compare_logits(bad.data(), c.logits.data(), rows, c.vocab).within(1e9));
  }
}

}  // namespace
}  // namespace ember
