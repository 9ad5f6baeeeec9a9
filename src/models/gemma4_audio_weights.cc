// Gemma 4 audio tower: config parsing, the declared weight table (gemma4-multimodal.md §4.4
// "Audio weights") and the loader. Linears bind through the shared WeightBinder (dense or MLX
// quantized, as the checkpoint holds them); the three convolution kernels are small and read
// here, accepting the HF layout ([O, I, kh, kw], [C, 1, K]) and MLX's channel-last layout
// ([O, kh, kw, I], [C, K, 1]).
#include <cmath>

#include "core/status.h"
#include "io/json_util.h"
#include "models/gemma4_audio.h"

namespace ember {

Gemma4AudioConfig parse_gemma4_audio_config(const std::string& json_text, const std::string& source) {
  const nlohmann::json root = parse_json_text(json_text, source);
  JsonObj r(root, source, "audio_config");
  Gemma4AudioConfig c;
  c.hidden_size = r.get_int("hidden_size", c.hidden_size);
  c.num_hidden_layers = r.get_int("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = r.get_int("num_attention_heads", c.num_attention_heads);
  if (r.has("subsampling_conv_channels")) {
    auto ch = r.int_list("subsampling_conv_channels");
    if (ch.size() != 2) r.fail_key("subsampling_conv_channels", "expected 2 channel counts");
    c.subsampling_channels[0] = ch[0], c.subsampling_channels[1] = ch[1];
  }
  c.conv_kernel_size = r.get_int("conv_kernel_size", c.conv_kernel_size);
  c.residual_weight = r.get_num("residual_weight", c.residual_weight);
  c.attention_chunk_size = r.get_int("attention_chunk_size", c.attention_chunk_size);
  c.attention_context_left = r.get_int("attention_context_left", c.attention_context_left);
  c.attention_context_right = r.get_int("attention_context_right", c.attention_context_right);
  c.attention_logit_cap = r.get_num("attention_logit_cap", c.attention_logit_cap);
  c.use_clipped_linears = r.get_bool("use_clipped_linears", c.use_clipped_linears);
  c.rms_norm_eps = r.get_num("rms_norm_eps", c.rms_norm_eps);
  c.gradient_clipping = r.get_num("gradient_clipping", c.gradient_clipping);
  c.output_proj_dims = r.get_int("output_proj_dims", c.output_proj_dims);
  const std::string act = r.get_str("hidden_act", "silu");
  if (act != "silu" && act != "swish") r.fail_key("hidden_act", "only silu is supported, got '" + act + "'");
  auto positive = [&](const char* key, int64_t v) {
    if (v <= 0 || v > (int64_t(1) << 20)) r.fail_key(key, "must be in 1..2^20, got " + std::to_string(v));
  };
  positive("hidden_size", c.hidden_size);
  positive("num_hidden_layers", c.num_hidden_layers);
  positive("num_attention_heads", c.num_attention_heads);
  positive("subsampling_conv_channels", c.subsampling_channels[0]);
  positive("subsampling_conv_channels", c.subsampling_channels[1]);
  positive("conv_kernel_size", c.conv_kernel_size);
  positive("attention_chunk_size", c.attention_chunk_size);
  positive("attention_context_left", c.attention_context_left);
  positive("output_proj_dims", c.output_proj_dims);
  if (c.hidden_size % c.num_attention_heads != 0)
    r.fail_key("num_attention_heads", "does not divide hidden_size " + std::to_string(c.hidden_size));
  if (c.hidden_size % 2 != 0) r.fail_key("hidden_size", "must be even (sinusoidal relative positions)");
  if (c.attention_context_right != 0)
    r.fail_key("attention_context_right", "only 0 (causal local attention) is supported");
  // The relative-position rows then line up with distances 0..context_left-2 (see gemma4_audio.cc).
  if (c.attention_chunk_size != c.attention_context_left - 1)
    r.fail_key("attention_chunk_size",
               "only attention_chunk_size == attention_context_left - 1 is supported");
  if (!(c.attention_logit_cap > 0)) r.fail_key("attention_logit_cap", "must be positive");
  return c;
}

namespace {

WeightSlot mat(const std::string& name, int64_t rows, int64_t cols, const std::string& role) {
  WeightSlot s;
  s.name = name, s.kind = SlotKind::kMatrix, s.shape = {rows, cols}, s.role = role;
  return s;
}
WeightSlot vec(const std::string& name, int64_t n, const std::string& role, bool suffix = true) {
  WeightSlot s;
  s.name = name, s.kind = SlotKind::kVector, s.shape = {n}, s.role = role, s.quantizable = false;
  s.weight_suffix = suffix;
  return s;
}
const char* const kClip[] = {"input_min", "input_max", "output_min", "output_max"};

// A clipped linear: `<p>.linear` plus its four scalar bounds (§2.9).
void clipped(std::vector<WeightSlot>* t, const Gemma4AudioConfig& c, const std::string& p, int64_t rows,
             int64_t cols, const std::string& role) {
  t->push_back(mat(p + ".linear", rows, cols, role));
  for (const char* b : kClip) {
    WeightSlot s = vec(p + "." + b, 1, role + " clip bound", false);
    if (!c.use_clipped_linears) s.need = Need::kIgnored, s.reason = "use_clipped_linears is false";
    t->push_back(s);
  }
}

WeightSlot conv(const std::string& name, std::vector<int64_t> hf_shape, const std::string& role) {
  WeightSlot s;
  s.name = name, s.kind = SlotKind::kVector, s.shape = std::move(hf_shape), s.role = role;
  s.need = Need::kIgnored, s.reason = "convolution kernel, read by the audio loader";
  return s;
}

}  // namespace

std::vector<WeightSlot> gemma4_audio_weight_table(const Gemma4AudioConfig& c, int64_t text_hidden) {
  std::vector<WeightSlot> t;
  const int64_t H = c.hidden_size, C0 = c.subsampling_channels[0], C1 = c.subsampling_channels[1];
  const std::string sp = "audio_tower.subsample_conv_projection.";
  t.push_back(conv(sp + "layer0.conv", {C0, 1, 3, 3}, "SSCP conv 0"));
  t.push_back(vec(sp + "layer0.norm", C0, "SSCP channel LayerNorm 0"));
  t.push_back(conv(sp + "layer1.conv", {C1, C0, 3, 3}, "SSCP conv 1"));
  t.push_back(vec(sp + "layer1.norm", C1, "SSCP channel LayerNorm 1"));
  t.push_back(mat(sp + "input_proj_linear", H, c.sscp_out_dim(), "SSCP projection"));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "audio_tower.layers." + std::to_string(i) + ".";
    for (const char* ff : {"feed_forward1", "feed_forward2"}) {
      const std::string f = p + ff + ".";
      t.push_back(vec(f + "pre_layer_norm", H, "FFN pre-norm"));
      t.push_back(vec(f + "post_layer_norm", H, "FFN post-norm"));
      clipped(&t, c, f + "ffw_layer_1", 4 * H, H, "FFN up");
      clipped(&t, c, f + "ffw_layer_2", H, 4 * H, "FFN down");
    }
    t.push_back(vec(p + "norm_pre_attn", H, "attention pre-norm"));
    t.push_back(vec(p + "norm_post_attn", H, "attention post-norm"));
    t.push_back(vec(p + "norm_out", H, "block output norm"));
    for (const char* q : {"q_proj", "k_proj", "v_proj", "post"})
      clipped(&t, c, p + "self_attn." + q, H, H, std::string("attention ") + q);
    t.push_back(mat(p + "self_attn.relative_k_proj", H, H, "relative position key projection"));
    t.push_back(vec(p + "self_attn.per_dim_scale", c.head_dim(), "per-dim query scale", false));
    t.push_back(vec(p + "lconv1d.pre_layer_norm", H, "light conv pre-norm"));
    t.push_back(vec(p + "lconv1d.conv_norm", H, "light conv norm"));
    clipped(&t, c, p + "lconv1d.linear_start", 2 * H, H, "light conv GLU in");
    clipped(&t, c, p + "lconv1d.linear_end", H, H, "light conv out");
    t.push_back(conv(p + "lconv1d.depthwise_conv1d", {H, 1, c.conv_kernel_size}, "depthwise conv"));
  }
  t.push_back(mat("audio_tower.output_proj", c.output_proj_dims, H, "tower output projection"));
  t.push_back(vec("audio_tower.output_proj.bias", c.output_proj_dims, "tower output bias", false));
  t.push_back(mat("embed_audio.embedding_projection", text_hidden, c.output_proj_dims, "audio embedder"));
  return t;
}

namespace {

// Layout of the audio keys: `model.audio_tower.*` (HF) or `audio_tower.*` (MLX) -> local
// `audio_tower.*`; likewise embed_audio. Every other key (text, vision) is set aside.
Layout audio_layout(const SafetensorsCollection& st) {
  Layout l;
  bool hf = false;
  for (const auto& [k, t] : st.all()) hf |= k.rfind("model.audio_tower.", 0) == 0;
  l.name = hf ? "hf-audio" : "mlx-audio";
  for (const char* p : {"audio_tower.", "embed_audio."}) {
    l.rules.push_back({std::string("model.") + p, SubModel::kText, 6});
    l.rules.push_back({p, SubModel::kText, 0});
  }
  l.rules.push_back({"", SubModel::kVision, 0});  // not ours: skipped
  l.text_prefix = hf ? "model." : "";
  return l;
}

// A convolution kernel as f32 in the HF layout [O, I, k...]; MLX stores it channel-last
// [O, k..., I]. Both are accepted by shape (they differ whenever I != the kernel extents).
std::vector<float> read_conv(const SafetensorsCollection& st, const std::string& local,
                             const std::string& prefix, const std::vector<int64_t>& hf_shape,
                             std::vector<std::string>* problems) {
  const std::string key = prefix + local + ".weight";
  const TensorInfo* t = st.find(key);
  if (!t) {
    problems->push_back(key + ": required tensor is missing (expected " + shape_str(hf_shape) + ")");
    return {};
  }
  std::vector<int64_t> mlx_shape = {hf_shape[0]};
  mlx_shape.insert(mlx_shape.end(), hf_shape.begin() + 2, hf_shape.end());
  mlx_shape.push_back(hf_shape[1]);
  const bool is_float = t->dtype == DType::F32 || t->dtype == DType::F16 || t->dtype == DType::BF16;
  const bool hf = t->shape == hf_shape, mlx = t->shape == mlx_shape;
  if (!is_float || (!hf && !mlx)) {
    problems->push_back(t->file + ": " + key + ": expected a float kernel of shape " + shape_str(hf_shape) +
                        " (HF) or " + shape_str(mlx_shape) + " (MLX), got " +
                        std::string(dtype_name(t->dtype)) + " " + t->shape_str());
    return {};
  }
  const int64_t O = hf_shape[0], I = hf_shape[1];
  int64_t K = 1;
  for (size_t i = 2; i < hf_shape.size(); ++i) K *= hf_shape[i];
  std::vector<float> out(size_t(O * I * K));
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < I; ++i)
      for (int64_t k = 0; k < K; ++k) {
        const size_t src = hf ? size_t((o * I + i) * K + k) : size_t((o * K + k) * I + i);
        out[size_t((o * I + i) * K + k)] = load_as_f32(t->dtype, t->data, src);
      }
  return out;
}

struct Pick {
  std::map<std::string, BoundWeight>& b;
  Matrix mat(const std::string& n) { return b[n].matrix; }
  std::vector<float> vec(const std::string& n) { return b[n].vec; }
  float scalar(const std::string& n, float def) {
    const auto& v = b[n].vec;
    return v.empty() ? def : v[0];
  }
  AudioClippedLinear clipped(const std::string& p) {
    AudioClippedLinear c;
    c.w = mat(p + ".linear");
    c.in_min = scalar(p + ".input_min", c.in_min), c.in_max = scalar(p + ".input_max", c.in_max);
    c.out_min = scalar(p + ".output_min", c.out_min), c.out_max = scalar(p + ".output_max", c.out_max);
    return c;
  }
  Gemma4AudioFfn ffn(const std::string& f) {
    return {vec(f + "pre_layer_norm"), vec(f + "post_layer_norm"), clipped(f + "ffw_layer_1"),
            clipped(f + "ffw_layer_2")};
  }
};

}  // namespace

Gemma4AudioTower load_gemma4_audio(std::shared_ptr<SafetensorsCollection> files, const Gemma4Config& cfg) {
  if (!cfg.has_audio) fail(ErrorCode::kUnsupported, "this checkpoint has no audio tower (no audio_config)");
  Gemma4AudioTower a;
  a.cfg = parse_gemma4_audio_config(cfg.audio_config_json, "config.json");
  a.text_hidden = cfg.text.hidden_size;
  a.files = files;
  const Layout layout = audio_layout(*files);
  WeightBinder binder(*files, cfg.quant, layout);
  binder.set_table_name("Gemma 4 audio");
  auto bound = binder.bind(gemma4_audio_weight_table(a.cfg, a.text_hidden));
  std::vector<std::string> conv_problems;
  const std::string prefix = layout.text_prefix;
  const int64_t H = a.cfg.hidden_size, C0 = a.cfg.subsampling_channels[0], C1 = a.cfg.subsampling_channels[1];
  const std::string sp = "audio_tower.subsample_conv_projection.";
  a.conv0 = read_conv(*files, sp + "layer0.conv", prefix, {C0, 1, 3, 3}, &conv_problems);
  a.conv1 = read_conv(*files, sp + "layer1.conv", prefix, {C1, C0, 3, 3}, &conv_problems);
  for (const auto& p : conv_problems) binder.add_problem({"", "", p, "", "", ""});
  std::vector<std::vector<float>> dw(size_t(a.cfg.num_hidden_layers));
  for (int64_t i = 0; i < a.cfg.num_hidden_layers; ++i) {
    std::vector<std::string> probs;
    dw[size_t(i)] = read_conv(*files, "audio_tower.layers." + std::to_string(i) + ".lconv1d.depthwise_conv1d",
                              prefix, {H, 1, a.cfg.conv_kernel_size}, &probs);
    for (const auto& p : probs) binder.add_problem({"", "", p, "", "", ""});
  }
  a.report = binder.finish("audio tower", /*skip_towers=*/true);
  Pick p{bound};
  a.norm0 = p.vec(sp + "layer0.norm");
  a.norm1 = p.vec(sp + "layer1.norm");
  a.input_proj = p.mat(sp + "input_proj_linear");
  for (int64_t i = 0; i < a.cfg.num_hidden_layers; ++i) {
    const std::string lp = "audio_tower.layers." + std::to_string(i) + ".";
    Gemma4AudioLayer L;
    L.ffn1 = p.ffn(lp + "feed_forward1.");
    L.ffn2 = p.ffn(lp + "feed_forward2.");
    L.norm_pre_attn = p.vec(lp + "norm_pre_attn");
    L.norm_post_attn = p.vec(lp + "norm_post_attn");
    L.norm_out = p.vec(lp + "norm_out");
    L.q = p.clipped(lp + "self_attn.q_proj");
    L.k = p.clipped(lp + "self_attn.k_proj");
    L.v = p.clipped(lp + "self_attn.v_proj");
    L.post = p.clipped(lp + "self_attn.post");
    L.relative_k_proj = p.mat(lp + "self_attn.relative_k_proj");
    L.per_dim_scale = p.vec(lp + "self_attn.per_dim_scale");
    L.conv_pre_norm = p.vec(lp + "lconv1d.pre_layer_norm");
    L.conv_norm = p.vec(lp + "lconv1d.conv_norm");
    L.linear_start = p.clipped(lp + "lconv1d.linear_start");
    L.linear_end = p.clipped(lp + "lconv1d.linear_end");
    L.depthwise = std::move(dw[size_t(i)]);
    a.layers.push_back(std::move(L));
  }
  a.output_proj = p.mat("audio_tower.output_proj");
  a.output_bias = p.vec("audio_tower.output_proj.bias");
  a.embed_proj = p.mat("embed_audio.embedding_projection");
  return a;
}

Gemma4AudioTower load_gemma4_audio_dir(const std::string& dir) {
  const Gemma4Config cfg = load_gemma4_config(dir);
  auto files = std::make_shared<SafetensorsCollection>(SafetensorsCollection::open_dir(dir));
  return load_gemma4_audio(files, cfg);
}

}  // namespace ember
