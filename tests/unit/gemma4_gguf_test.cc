// Gemma 4 GGUF files written by llama.cpp's own converter (tests/fixtures/gemma4_gguf, made by
// tools/gen_gemma4_gguf_fixtures.py from the HF golden fixtures) against the transformers golden
// logits of their source fixture, against ember's safetensors path on the same source, and
// corrupted copies against clear errors.
#include "models/gemma4_gguf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ember/ember.hpp"
#include "ember/error.hpp"
#include "io/gguf.h"
#include "io/npy.h"
#include "models/language_model.h"
#include "util/golden.h"
#include "util/test_paths.h"

namespace ember {
namespace {

using testing::compare_logits;
using testing::GoldenCase;
using testing::kGoldenMaxAbsF32;
using testing::load_golden;
using testing::LogitsDiff;

const std::string kGgufDir = std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gemma4_gguf/";
const std::string kHfDir = std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gemma4/";

// manifest.json: name -> {"source": HF fixture, "outtype", "quantize"}.
std::string source_of(const std::string& name) {
  std::ifstream in(kGgufDir + "manifest.json");
  auto j = nlohmann::json::parse(in);
  return j.at(name).at("source").get<std::string>();
}

std::unique_ptr<LanguageModel> load(const std::string& path) {
  ModelLoadOptions lo;
  lo.threads = 2;
  lo.f32_reference = true;  // the goldens are float32 activations (fixtures README)
  return load_language_model(path, lo);
}

std::vector<float> all_logits(const LanguageModel& m, const std::vector<int32_t>& ids) {
  auto st = m.new_state(4096, 512);
  ForwardOptions fo;
  fo.logits = LogitsMode::kAll;
  std::vector<float> out;
  m.forward(ids.data(), int64_t(ids.size()), *st, fo, &out);
  return out;
}

std::vector<float> decode_logits(const LanguageModel& m, const std::vector<int32_t>& ids) {
  auto st = m.new_state(4096, 512);
  ForwardOptions fo;
  std::vector<float> step, out;
  for (size_t t = 0; t < ids.size(); ++t) {
    m.forward(ids.data() + t, 1, *st, fo, &step);
    out.insert(out.end(), step.begin(), step.end());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Float files: the golden tolerance of the safetensors tests (1e-3, every argmax).

class GgufGoldenFloat : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufGoldenFloat, MatchesTransformersLogits) {
  const std::string name = GetParam();
  GoldenCase g = load_golden(kHfDir + source_of(name));
  auto m = load(kGgufDir + name + ".gguf");
  ASSERT_EQ(m->summary().vocab_size, g.vocab);
  const int64_t T = int64_t(g.ids.size());
  auto got = all_logits(*m, g.ids);
  LogitsDiff d = compare_logits(got.data(), g.logits.data(), T, g.vocab);
  std::printf("[ gguf golden ] %-16s prefill %s\n", name.c_str(), d.summary().c_str());
  EXPECT_TRUE(d.within(kGoldenMaxAbsF32)) << name << ": " << d.summary();
  auto dec = decode_logits(*m, g.ids);
  d = compare_logits(dec.data(), g.logits.data(), T, g.vocab);
  EXPECT_TRUE(d.within(kGoldenMaxAbsF32)) << name << " (token by token): " << d.summary();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GgufGoldenFloat,
                         ::testing::Values("e2b_f32", "e2b_bf16", "e4b_long_f16", "moe_keqv_f32"));

// The same weights through both loaders give the same numbers: the GGUF mapping loses nothing
// the safetensors path has (f32/bf16 GGUF = exact copies of the source weights).
TEST(GgufGemma4, SameLogitsAsSafetensorsPath) {
  for (const char* name : {"e2b_f32", "e2b_bf16", "moe_keqv_f32"}) {
    const std::string src = kHfDir + source_of(name);
    GoldenCase g = load_golden(src);
    auto a = all_logits(*load(kGgufDir + name + ".gguf"), g.ids);
    auto b = all_logits(*load(src), g.ids);
    LogitsDiff d = compare_logits(a.data(), b.data(), int64_t(g.ids.size()), g.vocab);
    EXPECT_TRUE(d.within(1e-5)) << name << ": " << d.summary();
  }
}

// ---------------------------------------------------------------------------------------------
// Quantized files. The quantization error is the file's, not ember's: the tight reference is
// transformers on the source checkpoint with the file's quantized tensors replaced by their
// dequantization (gguf-py), <name>.dequant_logits.npy. ember must match it like a float file.
// Against the float golden the file itself is only close; measured (identical for transformers
// on the dequantized weights and for ember) max-abs / top-1: e2b_q8_0 1.81 / 0.90, e4b_long_q8_0
// 3.78 / 0.875, e2b_q4_0 14 / 0.30, e4b_long_q4_k 14.5 / 0.45, moe_keqv_q4_0 12.9 / 0.20 — these
// tiny random models (norm weights up to 5, soft-cap 30) amplify weight error far more than real
// checkpoints. The test keeps a sanity bound on that top-1 share per type.

struct QuantCase {
  const char* name;
  double min_top1_vs_golden;
};

class GgufGoldenQuant : public ::testing::TestWithParam<QuantCase> {};

TEST_P(GgufGoldenQuant, MatchesReferenceOnDequantizedWeights) {
  const std::string name = GetParam().name;
  GoldenCase g = load_golden(kHfDir + source_of(name));
  NpyArray ref = read_npy(kGgufDir + name + ".dequant_logits.npy");
  const int64_t T = int64_t(g.ids.size());
  ASSERT_EQ(ref.shape, (std::vector<int64_t>{T, g.vocab}));
  const std::vector<float> want = ref.values<float>();
  auto m = load(kGgufDir + name + ".gguf");
  auto got = all_logits(*m, g.ids);
  LogitsDiff d = compare_logits(got.data(), want.data(), T, g.vocab);
  LogitsDiff dg = compare_logits(got.data(), g.logits.data(), T, g.vocab);
  std::printf("[ gguf quant ] %-16s vs dequantized reference: %s; vs float golden: %s\n", name.c_str(),
              d.summary().c_str(), dg.summary().c_str());
  EXPECT_TRUE(d.within(kGoldenMaxAbsF32)) << name << ": " << d.summary();
  EXPECT_GE(1.0 - double(dg.argmax_mismatches) / double(T), GetParam().min_top1_vs_golden)
      << name << " vs float golden: " << dg.summary();
  // Prefill and decode agree on the quantized weights as tightly as on float ones.
  auto dec = decode_logits(*m, g.ids);
  LogitsDiff dd = compare_logits(dec.data(), want.data(), T, g.vocab);
  EXPECT_TRUE(dd.within(kGoldenMaxAbsF32)) << name << " (token by token): " << dd.summary();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GgufGoldenQuant,
                         ::testing::Values(QuantCase{"e2b_q8_0", 0.75}, QuantCase{"e4b_long_q8_0", 0.75},
                                           QuantCase{"e2b_q4_0", 0.15}, QuantCase{"e4b_long_q4_k", 0.15},
                                           QuantCase{"moe_keqv_q4_0", 0.15}));

// ---------------------------------------------------------------------------------------------
// Config mapping: the GGUF metadata gives the same structure as the source config.json.

TEST(GgufGemma4, ConfigMatchesSourceConfig) {
  for (const char* name : {"e2b_f32", "e4b_long_f16", "moe_keqv_f32"}) {
    auto f = GgufFile::open(kGgufDir + name + ".gguf");
    Gemma4Config a = gemma4_config_from_gguf(*f);
    Gemma4Config b = load_gemma4_config(kHfDir + source_of(name));
    SCOPED_TRACE(name);
    EXPECT_EQ(a.text.vocab_size, b.text.vocab_size);
    EXPECT_EQ(a.text.hidden_size, b.text.hidden_size);
    EXPECT_EQ(a.text.num_attention_heads, b.text.num_attention_heads);
    EXPECT_EQ(a.text.hidden_size_per_layer_input, b.text.hidden_size_per_layer_input);
    EXPECT_EQ(a.text.sliding_window, b.text.sliding_window);
    EXPECT_EQ(a.text.final_logit_softcapping, b.text.final_logit_softcapping);
    EXPECT_EQ(a.text.enable_moe_block, b.text.enable_moe_block);
    EXPECT_EQ(a.text.num_experts, b.text.num_experts);
    EXPECT_EQ(a.text.top_k_experts, b.text.top_k_experts);
    EXPECT_EQ(a.text.moe_intermediate_size, b.text.moe_intermediate_size);
    EXPECT_EQ(a.tie_word_embeddings, b.tie_word_embeddings);
    EXPECT_EQ(a.first_kv_shared, b.first_kv_shared);
    EXPECT_FLOAT_EQ(float(a.text.rms_norm_eps), float(b.text.rms_norm_eps));
    ASSERT_EQ(a.layers.size(), b.layers.size());
    for (size_t i = 0; i < a.layers.size(); ++i) {
      const auto &x = a.layers[i], &y = b.layers[i];
      SCOPED_TRACE("layer " + std::to_string(i));
      EXPECT_EQ(x.type, y.type);
      EXPECT_EQ(x.head_dim, y.head_dim);
      EXPECT_EQ(x.n_kv_heads, y.n_kv_heads);
      EXPECT_EQ(x.kv_shared, y.kv_shared);
      EXPECT_EQ(x.kv_source, y.kv_source);
      EXPECT_EQ(x.k_eq_v, y.k_eq_v);
      EXPECT_EQ(x.mlp_width, y.mlp_width);
      EXPECT_EQ(x.rope.rope_type, y.rope.rope_type);
      EXPECT_DOUBLE_EQ(x.rope.theta, y.rope.theta);
      // Same number of rotated frequency pairs (the factor itself is recovered from rope_freqs).
      EXPECT_EQ(int(x.rope.partial_rotary_factor * double(x.head_dim) / 2),
                int(y.rope.partial_rotary_factor * double(y.head_dim) / 2));
    }
  }
}

TEST(GgufGemma4, DescribesTheGgufLayout) {
  auto m = load(kGgufDir + "e2b_bf16.gguf");
  EXPECT_EQ(m->summary().architecture, "gemma4");
  const std::string d = m->describe(true);
  EXPECT_NE(d.find("gguf"), std::string::npos) << d;
  EXPECT_NE(d.find("blk.0.attn_q.weight"), std::string::npos) << d;
}

// Through the public API (what `ember run file.gguf` uses): the GGUF's own tokenizer
// (tokenizer.ggml.model "gemma4") loads, and greedy generation equals transformers'
// generate(do_sample=False) on the source checkpoint (hf_text_e2b_bf16/generation.json, run 1).
TEST(GgufGemma4, GreedyGenerationThroughApiMatchesTransformers) {
  std::ifstream in(kHfDir + "hf_text_e2b_bf16/generation.json");
  auto j = nlohmann::json::parse(in);
  const auto prompt = j["prompt_ids"].get<std::vector<int32_t>>();
  const auto want = j["runs"][0]["generated_ids"].get<std::vector<int32_t>>();
  ModelOptions mo;
  mo.threads = 2;
  mo.f32_reference = true;
  auto model = Model::load(kGgufDir + "e2b_bf16.gguf", mo);
  EXPECT_EQ(model->info().architecture, "gemma4");
  EXPECT_EQ(model->tokenize("<bos>", false).size(), 1u);  // the GGUF tokenizer works
  auto s = model->new_session();
  s->prefill(prompt);
  GenerateOptions go;
  go.sampling.temperature = 0;
  go.max_tokens = int64_t(want.size());
  go.stop_on_eos = false;  // run 1 has no stop ids
  GenerateResult r = s->generate(go);
  EXPECT_EQ(r.tokens, want);
}

// ---------------------------------------------------------------------------------------------
// Corrupt or mismatched files: the converter's file with one detail changed in place.

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Replaces the GGUF string `from` (u64 length + bytes, so only an exact key/name matches) by
// `to` of the same length.
void patch_string(std::vector<uint8_t>* b, const std::string& from, const std::string& to) {
  ASSERT_EQ(from.size(), to.size());
  std::string needle(8, '\0');
  uint64_t n = from.size();
  std::memcpy(needle.data(), &n, 8);
  needle += from;
  auto it = std::search(b->begin(), b->end(), needle.begin(), needle.end());
  ASSERT_NE(it, b->end()) << from;
  std::memcpy(&*(it + 8), to.data(), to.size());
}

// Sets ne[dim] of tensor `name` (tensor info: name, u32 n_dims, u64 ne[n_dims], ...).
void patch_ne(std::vector<uint8_t>* b, const std::string& name, int dim, uint64_t value) {
  std::string needle(8, '\0');
  uint64_t n = name.size();
  std::memcpy(needle.data(), &n, 8);
  needle += name;
  auto it = std::search(b->begin(), b->end(), needle.begin(), needle.end());
  ASSERT_NE(it, b->end()) << name;
  std::memcpy(&*(it + 8 + name.size() + 4 + 8 * dim), &value, 8);
}

std::string load_error(const std::vector<uint8_t>& bytes) {
  const std::string path = testing::make_temp_dir("gemma4_gguf") + "/model.gguf";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  try {
    load(path);
  } catch (const Error& e) {
    std::filesystem::remove_all(std::filesystem::path(path).parent_path());
    return e.what();
  }
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
  return "(loaded without error)";
}

TEST(GgufGemma4Errors, MissingAndUnexpectedTensor) {
  auto b = read_bytes(kGgufDir + "e2b_bf16.gguf");
  patch_string(&b, "blk.1.attn_q.weight", "blk.1.attn_X.weight");
  const std::string e = load_error(b);
  EXPECT_NE(e.find("2 problems"), std::string::npos) << e;
  EXPECT_NE(e.find("blk.1.attn_q.weight: required tensor is missing"), std::string::npos) << e;
  EXPECT_NE(e.find("blk.1.attn_X.weight: unexpected tensor"), std::string::npos) << e;
}

TEST(GgufGemma4Errors, WrongShape) {
  auto b = read_bytes(kGgufDir + "e2b_f32.gguf");
  patch_ne(&b, "blk.3.attn_q_norm.weight", 0, 16);
  const std::string e = load_error(b);
  EXPECT_NE(e.find("blk.3.attn_q_norm.weight: wrong shape (expected ggml [32], got ggml [16])"),
            std::string::npos)
      << e;
}

TEST(GgufGemma4Errors, UnknownArchitecture) {
  auto b = read_bytes(kGgufDir + "e2b_bf16.gguf");
  patch_string(&b, "gemma4", "llama9");
  const std::string e = load_error(b);
  EXPECT_NE(e.find("GGUF architecture \"llama9\" is not supported (supported: gemma3, gemma4)"),
            std::string::npos)
      << e;
}

TEST(GgufGemma4Errors, MissingMetadataKey) {
  auto b = read_bytes(kGgufDir + "e2b_bf16.gguf");
  patch_string(&b, "gemma4.attention.sliding_window", "gemma4.attention.sliding_windoX");
  const std::string e = load_error(b);
  EXPECT_NE(
      e.find(
          "metadata key 'gemma4.attention.sliding_window': required by the gemma4 architecture but missing"),
      std::string::npos)
      << e;
}

TEST(GgufGemma4Errors, MissingValueProjectionOfSlidingLayer) {
  // K=V applies to full layers only: a sliding layer of the K=V model without attn_v is broken.
  auto b = read_bytes(kGgufDir + "moe_keqv_f32.gguf");
  patch_string(&b, "blk.0.attn_v.weight", "blk.0.attn_Y.weight");
  const std::string e = load_error(b);
  EXPECT_NE(e.find("blk.0.attn_v.weight: required tensor is missing"), std::string::npos) << e;
}

TEST(GgufGemma4Errors, RopeFreqsOtherThanProportional) {
  // rope_freqs.weight holds 1 (rotated pair) then 1e30 (kept lanes); any other factor is a RoPE
  // variant the forward pass does not implement.
  auto b = read_bytes(kGgufDir + "e2b_f32.gguf");
  size_t off = 0;
  {
    auto f = GgufFile::parse(b.data(), b.size(), "copy");
    const GgufTensor& t = f->tensor("rope_freqs.weight");
    off = size_t(t.data - b.data());
  }
  const float two = 2.0f;
  std::memcpy(b.data() + off + 4, &two, 4);  // pair 1
  const std::string e = load_error(b);
  EXPECT_NE(e.find("rope_freqs.weight[1] = 2: only proportional RoPE factors"), std::string::npos) << e;
}

}  // namespace
}  // namespace ember
