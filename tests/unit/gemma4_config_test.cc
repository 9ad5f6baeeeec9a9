#include "models/gemma4_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ember/error.hpp"

namespace ember {
namespace {

using nlohmann::json;

// The reconstructed E2B text_config of gemma4-text.md §2.2.
json e2b_text() {
  json lt = json::array();
  for (int r = 0; r < 7; ++r) {
    for (int i = 0; i < 4; ++i) lt.push_back("sliding_attention");
    lt.push_back("full_attention");
  }
  return {{"model_type", "gemma4_text"},
          {"vocab_size", 262144},
          {"vocab_size_per_layer_input", 262144},
          {"hidden_size", 1536},
          {"hidden_size_per_layer_input", 256},
          {"intermediate_size", 6144},
          {"num_hidden_layers", 35},
          {"num_attention_heads", 8},
          {"num_key_value_heads", 1},
          {"num_global_key_value_heads", nullptr},
          {"head_dim", 256},
          {"global_head_dim", 512},
          {"num_kv_shared_layers", 20},
          {"use_double_wide_mlp", true},
          {"attention_k_eq_v", false},
          {"enable_moe_block", false},
          {"hidden_activation", "gelu_pytorch_tanh"},
          {"rms_norm_eps", 1e-06},
          {"sliding_window", 512},
          {"max_position_embeddings", 131072},
          {"final_logit_softcapping", 30.0},
          {"tie_word_embeddings", true},
          {"attention_bias", false},
          {"use_bidirectional_attention", nullptr},
          {"pad_token_id", 0},
          {"bos_token_id", 2},
          {"eos_token_id", 1},
          {"layer_types", lt},
          {"rope_parameters",
           {{"full_attention",
             {{"rope_type", "proportional"}, {"partial_rotary_factor", 0.25}, {"rope_theta", 1000000.0}}},
            {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 10000.0}}}}}};
}

json e4b_text() {
  json t = e2b_text();
  json lt = json::array();
  for (int r = 0; r < 7; ++r) {
    for (int i = 0; i < 5; ++i) lt.push_back("sliding_attention");
    lt.push_back("full_attention");
  }
  t["hidden_size"] = 2560, t["intermediate_size"] = 10240, t["num_hidden_layers"] = 42;
  t["num_key_value_heads"] = 2, t["num_kv_shared_layers"] = 18, t["use_double_wide_mlp"] = false;
  t["layer_types"] = lt;
  return t;
}

json multimodal(json text) {
  return {{"model_type", "gemma4"},
          {"architectures", {"Gemma4ForConditionalGeneration"}},
          {"text_config", text},
          {"vision_config", {{"model_type", "gemma4_vision"}, {"hidden_size", 768}}},
          {"audio_config", {{"model_type", "gemma4_audio"}}},
          {"eos_token_id", {1, 106}},
          {"tie_word_embeddings", true},
          {"vocab_size", 262144},
          {"boi_token_id", 255999}};
}

Gemma4Config parse(const json& j) { return parse_gemma4_config(j.dump(), "config.json"); }

std::string error_of(const json& j, ErrorCode want = ErrorCode::kInvalidCheckpoint) {
  try {
    parse(j);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), want) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "config accepted";
  return "";
}

TEST(Gemma4Config, E2BDerivedStructureMatchesSpecTable) {
  Gemma4Config c = parse(multimodal(e2b_text()));
  EXPECT_TRUE(c.multimodal);
  EXPECT_TRUE(c.has_vision);
  EXPECT_EQ(c.first_kv_shared, 15);
  ASSERT_EQ(c.layers.size(), 35u);
  for (int i = 0; i < 35; ++i) {
    const auto& l = c.layers[size_t(i)];
    bool full = (i % 5) == 4;
    EXPECT_EQ(l.type, full ? LayerType::kFull : LayerType::kSliding) << i;
    EXPECT_EQ(l.head_dim, full ? 512 : 256) << i;
    EXPECT_EQ(l.n_kv_heads, 1) << i;
    EXPECT_EQ(l.kv_shared, i >= 15) << i;
    EXPECT_EQ(l.kv_source, i < 15 ? i : (full ? 14 : 13)) << i;
    EXPECT_EQ(l.mlp_width, i < 15 ? 6144 : 12288) << i;
    EXPECT_FALSE(l.k_eq_v);
    EXPECT_EQ(l.rope.rope_type, full ? "proportional" : "default");
  }
  EXPECT_EQ(c.layers[4].rope.partial_rotary_factor, 0.25);
  EXPECT_EQ(c.layers[4].rope.theta, 1e6);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{1, 106}));
  EXPECT_EQ(*c.text.final_logit_softcapping, 30.0);
  EXPECT_FALSE(c.quant.present);
}

TEST(Gemma4Config, E4BDonorsAndWidths) {
  Gemma4Config c = parse(e4b_text());
  EXPECT_FALSE(c.multimodal);
  EXPECT_EQ(c.first_kv_shared, 24);
  for (int i = 24; i < 42; ++i) EXPECT_EQ(c.layers[size_t(i)].kv_source, (i % 6 == 5) ? 23 : 22) << i;
  for (const auto& l : c.layers) EXPECT_EQ(l.mlp_width, 10240);
  EXPECT_EQ(c.layers[0].n_kv_heads, 2);
}

TEST(Gemma4Config, HfDefaultsWhenAbsent) {
  Gemma4Config c = parse({{"model_type", "gemma4_text"}});
  EXPECT_EQ(c.text.hidden_size, 2304);
  EXPECT_EQ(c.text.num_hidden_layers, 30);
  EXPECT_EQ(c.text.num_key_value_heads, 4);
  EXPECT_FALSE(c.text.use_double_wide_mlp);
  EXPECT_FALSE(c.text.final_logit_softcapping.has_value());
  EXPECT_EQ(c.first_kv_shared, 30);
  // 5:1 default pattern, last layer full.
  for (int i = 0; i < 30; ++i) EXPECT_EQ(c.layers[size_t(i)].type == LayerType::kFull, (i + 1) % 6 == 0) << i;
  EXPECT_EQ(c.text.rope_full.rope_type, "proportional");
  EXPECT_FALSE(c.notes.empty());
}

TEST(Gemma4Config, KEqVAndMoE) {
  json t = e4b_text();
  t["num_kv_shared_layers"] = 0, t["hidden_size_per_layer_input"] = 0;
  t["attention_k_eq_v"] = true, t["num_global_key_value_heads"] = 1, t["num_key_value_heads"] = 4;
  t["enable_moe_block"] = true, t["num_experts"] = 8, t["top_k_experts"] = 2,
  t["moe_intermediate_size"] = 704;
  Gemma4Config c = parse(t);
  EXPECT_FALSE(c.has_ple());
  EXPECT_TRUE(c.layers[5].k_eq_v);
  EXPECT_EQ(c.layers[5].n_kv_heads, 1);
  EXPECT_FALSE(c.layers[4].k_eq_v);
  EXPECT_EQ(c.layers[4].n_kv_heads, 4);
  EXPECT_EQ(c.text.num_experts, 8);
  t["top_k_experts"] = 9;
  EXPECT_NE(error_of(t).find("top_k_experts"), std::string::npos);
  t["top_k_experts"] = 2;
  t.erase("num_experts");
  EXPECT_NE(error_of(t).find("num_experts"), std::string::npos);
}

TEST(Gemma4Config, PerLayerConfigFormOfTransformers5) {
  // transformers 5.x serializes per_layer_config instead of global_head_dim.
  json t = {{"model_type", "gemma4_text"},
            {"num_hidden_layers", 4},
            {"num_attention_heads", 2},
            {"num_key_value_heads", 1},
            {"head_dim", 32},
            {"attention_k_eq_v", true},
            {"layer_types", {"sliding_attention", "full_attention", "sliding_attention", "full_attention"}},
            {"per_layer_config",
             {{"1", {{"head_dim", 64}, {"num_key_value_heads", 2}}},
              {"3", {{"head_dim", 64}, {"num_key_value_heads", 2}}}}}};
  Gemma4Config c = parse(t);
  EXPECT_EQ(c.layers[1].head_dim, 64);
  EXPECT_EQ(c.layers[1].n_kv_heads, 2);
  EXPECT_EQ(c.layers[2].head_dim, 32);
  t["per_layer_config"]["7"] = {{"head_dim", 64}};
  EXPECT_NE(error_of(t).find("per_layer_config.7"), std::string::npos);
}

TEST(Gemma4Config, Errors) {
  json t = e2b_text();
  t["layer_types"].erase(0);
  EXPECT_NE(error_of(t).find("layer_types: has 34 entries but num_hidden_layers is 35"), std::string::npos);

  t = e2b_text();
  t["rope_parameters"]["full_attention"].erase("rope_type");
  Gemma4Config inferred = parse(t);  // partial_rotary_factor present => proportional
  EXPECT_EQ(inferred.text.rope_full.rope_type, "proportional");
  t["rope_parameters"]["full_attention"].erase("partial_rotary_factor");
  EXPECT_NE(error_of(t).find("rope_parameters.full_attention.rope_type"), std::string::npos);

  t = e2b_text();
  t["rope_parameters"]["sliding_attention"]["rope_type"] = "yarn";
  EXPECT_NE(error_of(t, ErrorCode::kUnsupported).find("yarn"), std::string::npos);

  json m = multimodal(e2b_text());
  m["vocab_size"] = 262400;
  EXPECT_NE(error_of(m).find("vocab_size: 262400 contradicts text_config.vocab_size 262144"),
            std::string::npos);

  m = multimodal(e2b_text());
  m["text_config"]["hidden_size"] = "1536";
  EXPECT_NE(error_of(m).find("config.json: text_config.hidden_size: expected an integer"), std::string::npos);

  t = e2b_text();
  t["num_key_value_heads"] = 3;
  EXPECT_NE(error_of(t).find("not a multiple"), std::string::npos);

  t = e2b_text();
  t["num_kv_shared_layers"] = 35;
  EXPECT_NE(error_of(t).find("num_kv_shared_layers"), std::string::npos);

  // Shared full layers with no earlier full layer to borrow from.
  t = {{"model_type", "gemma4_text"},
       {"num_hidden_layers", 3},
       {"num_kv_shared_layers", 1},
       {"layer_types", {"sliding_attention", "sliding_attention", "full_attention"}}};
  EXPECT_NE(error_of(t).find("no earlier non-shared layer"), std::string::npos);

  t = e2b_text();
  t["eos_token_id"] = 999999;
  EXPECT_NE(error_of(t).find("outside the vocabulary"), std::string::npos);

  t = e2b_text();
  t["hidden_size"] = -5;
  EXPECT_NE(error_of(t).find("out of range"), std::string::npos);

  try {
    parse_gemma4_config("111111e1165165", "config.json");  // number overflow (fuzz_config finding)
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorruptFile);
  }
  EXPECT_NE(error_of({{"model_type", "llama"}}, ErrorCode::kUnsupported).find("llama"), std::string::npos);
  EXPECT_NE(error_of({{"model_type", "gemma4"}}).find("text_config"), std::string::npos);
  try {
    parse_gemma4_config("{\n  \"model_type\": ,\n}", "config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorruptFile);
    EXPECT_NE(std::string(e.what()).find("config.json:2:"), std::string::npos) << e.what();
  }
}

TEST(Gemma4Config, GenerationConfig) {
  Gemma4Config c = parse(multimodal(e2b_text()));
  parse_generation_config(
      R"({"bos_token_id": 2, "do_sample": true, "eos_token_id": [1, 106, 50], "pad_token_id": 0,
                              "suppress_tokens": [258883, 258882], "temperature": 1.0, "top_k": 64, "top_p": 0.95})",
      "generation_config.json", &c);
  EXPECT_EQ(c.stop_token_ids(), (std::vector<int64_t>{1, 106, 50}));
  EXPECT_EQ(*c.generation.top_k, 64);
  EXPECT_EQ(c.generation.suppress_tokens.size(), 2u);
  Gemma4Config s = parse(e2b_text());
  parse_generation_config(R"({"eos_token_id": 106})", "generation_config.json", &s);
  EXPECT_EQ(s.stop_token_ids(), (std::vector<int64_t>{106}));
  EXPECT_THROW(parse_generation_config(R"({"top_p": 2})", "g.json", &s), Error);
  EXPECT_THROW(parse_generation_config(R"({"eos_token_id": "x"})", "g.json", &s), Error);
}

TEST(QuantConfig, GlobalPerModuleAndFalse) {
  json t = e2b_text();
  t["quantization"] = {{"group_size", 64},
                       {"bits", 4},
                       {"mode", "affine"},
                       {"model.layers.0.mlp.gate_proj", {{"group_size", 32}, {"bits", 8}}},
                       {"model.per_layer_model_projection", false}};
  t["quantization_config"] = t["quantization"];
  Gemma4Config c = parse(t);
  ASSERT_TRUE(c.quant.present);
  EXPECT_EQ(c.quant.global, (QuantParams{QuantMode::kAffine, 4, 64}));
  auto l = c.quant.lookup("model.layers.0.mlp.gate_proj");
  EXPECT_TRUE(l.explicit_entry);
  EXPECT_EQ(*l.params, (QuantParams{QuantMode::kAffine, 8, 32}));
  auto f = c.quant.lookup("model.per_layer_model_projection");
  EXPECT_TRUE(f.disabled);
  EXPECT_FALSE(f.params.has_value());
  EXPECT_EQ(*c.quant.lookup("model.layers.1.mlp.gate_proj").params, c.quant.global);
}

TEST(QuantConfig, ModesAndValidation) {
  for (int bits : {2, 3, 4, 5, 6, 8})
    for (int g : {32, 64, 128}) {
      json t = e2b_text();
      t["quantization"] = {{"group_size", g}, {"bits", bits}};
      EXPECT_EQ(parse(t).quant.global, (QuantParams{QuantMode::kAffine, bits, g}));
    }
  json t = e2b_text();
  t["quantization"] = {{"mode", "mxfp4"},
                       {"group_size", 32},
                       {"bits", 4},
                       {"model.layers.0.mlp.up_proj", {{"bits", 8}, {"group_size", 64}}}};
  Gemma4Config c = parse(t);
  EXPECT_EQ(weight_format_of(c.quant.global.mode), WeightFormat::kMlxFp4);
  // A per-module dict without "mode" is affine even when the global mode is not (§7.1).
  EXPECT_EQ(c.quant.lookup("model.layers.0.mlp.up_proj").params->mode, QuantMode::kAffine);
  t["quantization"] = {{"mode", "nvfp4"}};
  EXPECT_EQ(parse(t).quant.global, (QuantParams{QuantMode::kNvfp4, 4, 16}));
  t["quantization"] = {{"mode", "mxfp8"}};
  EXPECT_EQ(weight_format_of(parse(t).quant.global.mode), WeightFormat::kMlxFp8);
  for (json bad :
       {json{{"bits", 7}, {"group_size", 64}}, json{{"bits", 4}, {"group_size", 48}},
        json{{"mode", "mxfp4"}, {"group_size", 64}}, json{{"mode", "int3"}}, json{{"bits", 4}, {"x.y", 3}}}) {
    t["quantization"] = bad;
    EXPECT_NE(error_of(t).find("quantization"), std::string::npos) << bad.dump();
  }
  t.erase("quantization");
  t["quantization_config"] = {{"quant_method", "gptq"}};
  EXPECT_NE(error_of(t, ErrorCode::kUnsupported).find("gptq"), std::string::npos);
}

}  // namespace
}  // namespace ember

namespace ember {
namespace {

std::string read_data(const std::string& name) {
  std::ifstream f(std::string(EMBER_SOURCE_DIR) + "/tests/data/configs/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Values transformers resolves for these files (tests/data/configs/README.md).
TEST(Gemma4Config, TransformersSerializedPerLayerConfig) {
  Gemma4Config c = parse_gemma4_config(read_data("transformers_gemma4_e2b_like.json"), "e2b.json");
  ASSERT_EQ(c.layers.size(), 35u);
  EXPECT_EQ(c.layers[0].head_dim, 256);
  EXPECT_EQ(c.layers[4].head_dim, 512);  // key "04"
  EXPECT_EQ(c.layers[34].head_dim, 512);
  EXPECT_EQ(c.layers[34].n_kv_heads, 1);
  EXPECT_EQ(c.layers[20].kv_source, 13);
  EXPECT_EQ(c.layers[19].kv_source, 14);
  EXPECT_EQ(c.layers[15].mlp_width, 12288);
  Gemma4Config k = parse_gemma4_config(read_data("transformers_gemma4_text_moe_keqv.json"), "moe.json");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(k.layers[size_t(i)].head_dim, 256);
    EXPECT_EQ(k.layers[size_t(i)].n_kv_heads, 4);
  }
  EXPECT_EQ(k.layers[5].head_dim, 512);
  EXPECT_EQ(k.layers[5].n_kv_heads, 1);
  EXPECT_TRUE(k.layers[5].k_eq_v);
  EXPECT_FALSE(k.has_ple());
  EXPECT_EQ(k.text.num_experts, 8);
  // "4" and "04" naming the same layer is ambiguous.
  nlohmann::json j = nlohmann::json::parse(read_data("transformers_gemma4_e2b_like.json"));
  j["text_config"]["per_layer_config"]["4"] = {{"head_dim", 128}};
  EXPECT_THROW(parse_gemma4_config(j.dump()), Error);
}

}  // namespace
}  // namespace ember

namespace ember {
// Found by fuzz_config: a top-level number that overflows a double escaped as an nlohmann
// out_of_range exception instead of an ember::Error.
TEST(Gemma4ConfigFuzzRegression, OverflowingTopLevelNumberIsAnError) {
  EXPECT_THROW(parse_gemma4_config("9e99999999", "config.json"), Error);
  EXPECT_THROW(parse_gemma4_config("[1e999999]", "config.json"), Error);
}
}  // namespace ember
