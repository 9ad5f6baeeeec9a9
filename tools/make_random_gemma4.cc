// Writes a random-weight Gemma 4 text checkpoint with the REAL E2B or E4B geometry
// (shared/reference/gemma4-text.md §2.2) in MLX affine 4/8-bit or bf16 layout, for
// benchmarks (speed does not depend on the weights' values). Streams the safetensors file
// tensor by tensor, so a 5 GB checkpoint needs little memory.
//
//   make_random_gemma4 --variant e2b|e4b --format q4|q8|bf16 [--group-size 64] [--seed 1] --out DIR
//
// Values: codes uniform random, per-group scale ≈ 2a/(2^bits-1) and bias ≈ -a with
// a = sqrt(3/in_features) (unit-variance outputs for unit-variance inputs); norms ≈ 1.
// KV-shared layers carry no k/v projections (as the QAT checkpoints).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/dtype.h"

namespace {

struct Spec {
  std::string name;  // full key
  std::string dtype; // "U32", "BF16"
  std::vector<int64_t> shape;
  enum Kind { kCodes, kScales, kBiases, kDense, kNorm } kind;
  int64_t in = 0;  // in_features (value scale)
  int bits = 0;
};

struct Args {
  std::string variant = "e2b", format = "q4", out;
  int gs = 64;
  uint64_t seed = 1;
};

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void fill_random(uint8_t* p, size_t n, uint64_t seed) {
  const unsigned nt = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
  std::vector<std::thread> th;
  const size_t chunk = (n / nt + 7) / 8 * 8;
  for (unsigned i = 0; i < nt; ++i)
    th.emplace_back([=] {
      uint64_t s = seed * 1000003ull + i;
      const size_t b = std::min(n, size_t(i) * chunk), e = std::min(n, b + chunk);
      size_t k = b;
      for (; k + 8 <= e; k += 8) {
        uint64_t v = splitmix(s);
        std::memcpy(p + k, &v, 8);
      }
      for (; k < e; ++k) p[k] = uint8_t(splitmix(s));
    });
  for (auto& t : th) t.join();
}

int64_t numel(const Spec& s) {
  int64_t n = 1;
  for (int64_t d : s.shape) n *= d;
  return n;
}

std::vector<uint8_t> make_tensor(const Spec& s, uint64_t seed) {
  const int64_t n = numel(s);
  std::vector<uint8_t> out;
  uint64_t st = seed;
  auto put_bf16 = [&](int64_t i, float v) {
    uint16_t h = ember::f32_to_bf16(v);
    std::memcpy(out.data() + 2 * i, &h, 2);
  };
  const float a = std::sqrt(3.0f / float(std::max<int64_t>(s.in, 1)));
  switch (s.kind) {
    case Spec::kCodes:
      out.resize(size_t(n) * 4);
      fill_random(out.data(), out.size(), seed);
      break;
    case Spec::kScales:
    case Spec::kBiases: {
      out.resize(size_t(n) * 2);
      const float levels = float((1 << s.bits) - 1);
      for (int64_t i = 0; i < n; ++i) {
        const float jitter = 1.0f + 0.1f * (float(splitmix(st) >> 40) / float(1 << 24) - 0.5f);
        put_bf16(i, s.kind == Spec::kScales ? 2 * a / levels * jitter : -a * jitter);
      }
      break;
    }
    case Spec::kDense:
      out.resize(size_t(n) * 2);
      for (int64_t i = 0; i < n; ++i) put_bf16(i, a * (2.0f * float(splitmix(st) >> 40) / float(1 << 24) - 1.0f));
      break;
    case Spec::kNorm:
      out.resize(size_t(n) * 2);
      for (int64_t i = 0; i < n; ++i) put_bf16(i, 1.0f + 0.1f * (float(splitmix(st) >> 40) / float(1 << 24) - 0.5f));
      break;
  }
  return out;
}

int run(const Args& a) {
  const bool e2b = a.variant == "e2b";
  if (!e2b && a.variant != "e4b") throw std::runtime_error("--variant must be e2b or e4b");
  const int bits = a.format == "q4" ? 4 : a.format == "q8" ? 8 : 0;
  if (!bits && a.format != "bf16") throw std::runtime_error("--format must be q4, q8 or bf16");
  const int64_t H = e2b ? 1536 : 2560, I = e2b ? 6144 : 10240, L = e2b ? 35 : 42, nKV = e2b ? 1 : 2;
  const int64_t shared = e2b ? 20 : 18, V = 262144, P = 256, nH = 8, hd = 256, ghd = 512;
  const int period = e2b ? 5 : 6;
  const bool double_wide = e2b;

  nlohmann::json cfg = {
      {"architectures", {"Gemma4ForCausalLM"}}, {"model_type", "gemma4_text"}, {"vocab_size", V},
      {"vocab_size_per_layer_input", V}, {"hidden_size", H}, {"hidden_size_per_layer_input", P},
      {"intermediate_size", I}, {"num_hidden_layers", L}, {"num_attention_heads", nH},
      {"num_key_value_heads", nKV}, {"num_global_key_value_heads", nullptr}, {"head_dim", hd},
      {"global_head_dim", ghd}, {"num_kv_shared_layers", shared}, {"use_double_wide_mlp", double_wide},
      {"attention_k_eq_v", false}, {"enable_moe_block", false}, {"hidden_activation", "gelu_pytorch_tanh"},
      {"rms_norm_eps", 1e-6}, {"sliding_window", 512}, {"max_position_embeddings", 131072},
      {"final_logit_softcapping", 30.0}, {"tie_word_embeddings", true}, {"attention_bias", false},
      {"attention_dropout", 0.0}, {"use_bidirectional_attention", nullptr}, {"pad_token_id", 0},
      {"bos_token_id", 2}, {"eos_token_id", {1}}, {"dtype", "bfloat16"},
      {"num_experts", nullptr}, {"top_k_experts", nullptr}, {"moe_intermediate_size", nullptr}};
  nlohmann::json types = nlohmann::json::array();
  for (int64_t i = 0; i < L; ++i) types.push_back((i + 1) % period == 0 ? "full_attention" : "sliding_attention");
  cfg["layer_types"] = types;
  cfg["rope_parameters"] = {
      {"full_attention", {{"rope_type", "proportional"}, {"partial_rotary_factor", 0.25}, {"rope_theta", 1000000.0}}},
      {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 10000.0}}}};
  if (bits) cfg["quantization"] = cfg["quantization_config"] = {{"group_size", a.gs}, {"bits", bits}, {"mode", "affine"}};

  std::vector<Spec> specs;
  auto mat = [&](const std::string& name, int64_t rows, int64_t cols) {
    if (!bits) {
      specs.push_back({name + ".weight", "BF16", {rows, cols}, Spec::kDense, cols, 0});
      return;
    }
    if (cols % a.gs) throw std::runtime_error(name + ": in_features not a multiple of the group size");
    specs.push_back({name + ".weight", "U32", {rows, cols * bits / 32}, Spec::kCodes, cols, bits});
    specs.push_back({name + ".scales", "BF16", {rows, cols / a.gs}, Spec::kScales, cols, bits});
    specs.push_back({name + ".biases", "BF16", {rows, cols / a.gs}, Spec::kBiases, cols, bits});
  };
  auto vec = [&](const std::string& name, int64_t n) { specs.push_back({name, "BF16", {n}, Spec::kNorm, 0, 0}); };
  mat("model.embed_tokens", V, H);
  mat("model.embed_tokens_per_layer", V, L * P);
  mat("model.per_layer_model_projection", L * P, H);
  vec("model.per_layer_projection_norm.weight", P);
  vec("model.norm.weight", H);
  const int64_t first_shared = L - shared;
  for (int64_t i = 0; i < L; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const bool full = (i + 1) % period == 0, kv_shared = i >= first_shared;
    const int64_t d = full ? ghd : hd, W = I * (double_wide && kv_shared ? 2 : 1);
    for (const char* n : {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                          "post_feedforward_layernorm", "post_per_layer_input_norm"})
      vec(p + n + ".weight", H);
    vec(p + "layer_scalar", 1);
    mat(p + "self_attn.q_proj", nH * d, H);
    mat(p + "self_attn.o_proj", H, nH * d);
    vec(p + "self_attn.q_norm.weight", d);
    if (!kv_shared) {
      mat(p + "self_attn.k_proj", nKV * d, H);
      mat(p + "self_attn.v_proj", nKV * d, H);
      vec(p + "self_attn.k_norm.weight", d);
    }
    mat(p + "mlp.gate_proj", W, H);
    mat(p + "mlp.up_proj", W, H);
    mat(p + "mlp.down_proj", H, W);
    mat(p + "per_layer_input_gate", P, H);
    mat(p + "per_layer_projection", H, P);
  }

  nlohmann::json header = {{"__metadata__", {{"format", "mlx"}}}};
  size_t off = 0;
  for (const Spec& s : specs) {
    const size_t bytes = size_t(numel(s)) * (s.dtype == "U32" ? 4 : 2);
    header[s.name] = {{"dtype", s.dtype}, {"shape", s.shape}, {"data_offsets", {off, off + bytes}}};
    off += bytes;
  }
  std::string htext = header.dump();
  while (htext.size() % 8) htext += ' ';
  std::ofstream f(a.out + "/model.safetensors", std::ios::binary);
  if (!f) throw std::runtime_error("cannot write " + a.out + "/model.safetensors");
  const uint64_t hlen = htext.size();
  f.write(reinterpret_cast<const char*>(&hlen), 8);
  f.write(htext.data(), std::streamsize(htext.size()));
  uint64_t seed = a.seed;
  for (const Spec& s : specs) {
    auto bytes = make_tensor(s, ++seed);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
  if (!f) throw std::runtime_error("write failed: " + a.out + "/model.safetensors");
  std::ofstream(a.out + "/config.json") << cfg.dump(2) << "\n";
  std::ofstream(a.out + "/generation_config.json") << R"({"bos_token_id": 2, "eos_token_id": [1], "pad_token_id": 0})"
                                                   << "\n";
  std::printf("wrote %s: %s %s, %zu tensors, %.2f GB\n", a.out.c_str(), a.variant.c_str(), a.format.c_str(),
              specs.size(), double(off) / 1e9);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value for " + k);
      return argv[++i];
    };
    try {
      if (k == "--variant") a.variant = val();
      else if (k == "--format") a.format = val();
      else if (k == "--group-size") a.gs = std::stoi(val());
      else if (k == "--seed") a.seed = std::stoull(val());
      else if (k == "--out") a.out = val();
      else throw std::runtime_error("unknown argument " + k);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "make_random_gemma4: %s\n", e.what());
      return 2;
    }
  }
  if (a.out.empty()) {
    std::fprintf(stderr, "usage: make_random_gemma4 --variant e2b|e4b --format q4|q8|bf16 [--group-size 64] [--seed N] --out DIR\n");
    return 2;
  }
  try {
    return run(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_random_gemma4: %s\n", e.what());
    return 1;
  }
}
