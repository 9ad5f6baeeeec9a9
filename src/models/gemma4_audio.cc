// Gemma 4 audio tower forward pass (gemma4-multimodal.md §4.4), numerics as transformers'
// Gemma4AudioModel in float32: f32 activations on the host, linears through Backend::matmul
// (the stored weights as they are: dense or MLX-quantized).
//
// Only the valid frames of one clip are run. transformers pads a batch and masks the padding,
// but every operator here looks only backwards in time (causal depthwise conv, causal local
// attention) or, in the SSCP, reads frames that are zero in both cases, so the valid outputs are
// the same (checked against transformers by tests/unit/gemma4_audio_test.cc).
#include "models/gemma4_audio.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"
#include "media/wav.h"

namespace ember {

namespace {

using Vec = std::vector<float>;

// HF clamps with min(gradient_clipping, finfo(f32).max): a no-op guard in practice, kept exact.
void clamp_all(float* x, int64_t n, float lim) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::clamp(x[i], -lim, lim);
}

// Gemma4RMSNorm: x · (mean(x²) + eps)^-½ · w  (w empty: scale-free), in place over rows of `dim`.
void rms_rows(float* x, int64_t rows, int64_t dim, const Vec& w, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    float* v = x + r * dim;
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += double(v[i]) * v[i];
    const float inv = float(1.0 / std::sqrt(ss / double(dim) + double(eps)));
    for (int64_t i = 0; i < dim; ++i) v[i] = v[i] * inv * (w.empty() ? 1.0f : w[size_t(i)]);
  }
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }
float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// y[T, W.rows] = clamp(W · clamp(x)) (x is copied, not modified).
Vec linear(Backend& b, const AudioClippedLinear& L, const Vec& x, int64_t T) {
  Vec in(x);
  for (float& v : in) v = std::clamp(v, L.in_min, L.in_max);
  Vec y(size_t(T * L.w.rows));
  b.matmul(L.w, in.data(), T, y.data());
  for (float& v : y) v = std::clamp(v, L.out_min, L.out_max);
  return y;
}
Vec linear(Backend& b, const Matrix& W, const Vec& x, int64_t T) {
  Vec y(size_t(T * W.rows));
  b.matmul(W, x.data(), T, y.data());
  return y;
}

// A dense f32 Matrix view of a host kernel [rows, cols] (for convolutions as matmuls).
Matrix f32_matrix(const Vec& w, int64_t rows, int64_t cols, const char* name) {
  Matrix m;
  m.name = name, m.format = WeightFormat::kDense, m.dtype = DType::F32;
  m.rows = rows, m.cols = cols, m.row_bytes = size_t(cols) * 4;
  m.data = reinterpret_cast<const uint8_t*>(w.data());
  return m;
}

// One SSCP block on a channel-last map x[T, F, Cin]: Conv2d(3x3, stride 2, pad 1, no bias) as an
// im2col matmul with the kernel [Cout, Cin·9], then LayerNorm over channels (weight, no bias,
// mean-centred) and ReLU. Returns [T', F', Cout], T' = ceil(T/2), F' = ceil(F/2).
Vec sscp_block(Backend& b, const Vec& x, int64_t T, int64_t F, int64_t Cin, const Vec& kernel,
               const Vec& norm_w, int64_t Cout, float eps, int64_t* T_out, int64_t* F_out) {
  const int64_t To = (T - 1) / 2 + 1, Fo = (F - 1) / 2 + 1, K = Cin * 9;
  Vec cols(size_t(To * Fo * K), 0.0f);  // [To·Fo, Cin·9], patch index c·9 + kt·3 + kf
  for (int64_t t = 0; t < To; ++t)
    for (int64_t f = 0; f < Fo; ++f) {
      float* row = cols.data() + (t * Fo + f) * K;
      for (int64_t kt = 0; kt < 3; ++kt) {
        const int64_t ti = 2 * t + kt - 1;
        if (ti < 0 || ti >= T) continue;
        for (int64_t kf = 0; kf < 3; ++kf) {
          const int64_t fi = 2 * f + kf - 1;
          if (fi < 0 || fi >= F) continue;
          const float* src = x.data() + (ti * F + fi) * Cin;
          for (int64_t c = 0; c < Cin; ++c) row[c * 9 + kt * 3 + kf] = src[c];
        }
      }
    }
  Vec y(size_t(To * Fo * Cout));
  b.matmul(f32_matrix(kernel, Cout, K, "sscp.conv"), cols.data(), To * Fo, y.data());
  for (int64_t p = 0; p < To * Fo; ++p) {
    float* v = y.data() + p * Cout;
    double mean = 0, var = 0;
    for (int64_t c = 0; c < Cout; ++c) mean += v[c];
    mean /= double(Cout);
    for (int64_t c = 0; c < Cout; ++c) var += (v[c] - mean) * (v[c] - mean);
    const double inv = 1.0 / std::sqrt(var / double(Cout) + double(eps));
    for (int64_t c = 0; c < Cout; ++c) v[c] = std::max(0.0f, float((v[c] - mean) * inv) * norm_w[size_t(c)]);
  }
  *T_out = To, *F_out = Fo;
  return y;
}

struct Ctx {
  const Gemma4AudioConfig& c;
  Backend& b;
  int64_t T;
  float eps, clip;
};

// Macaron feed-forward half step: x += residual_weight · post_norm(down(silu(up(pre_norm(x))))).
void ffn(const Ctx& k, const Gemma4AudioFfn& F, Vec& x) {
  const int64_t H = k.c.hidden_size;
  Vec y(x);
  clamp_all(y.data(), int64_t(y.size()), k.clip);
  rms_rows(y.data(), k.T, H, F.pre_norm, k.eps);
  Vec u = linear(k.b, F.up, y, k.T);
  for (float& v : u) v = silu(v);
  Vec d = linear(k.b, F.down, u, k.T);
  clamp_all(d.data(), int64_t(d.size()), k.clip);
  rms_rows(d.data(), k.T, H, F.post_norm, k.eps);
  const float w = float(k.c.residual_weight);
  for (size_t i = 0; i < x.size(); ++i) x[i] += d[i] * w;
}

// Sinusoidal relative-position rows [P, H] for distances d = 0..P-1: [sin(d·τ_i), cos(d·τ_i)],
// τ_i = exp(−i·ln(10⁴)/(H/2 − 1)), in f32 like transformers' Gemma4AudioRelPositionalEncoding.
Vec rel_position_rows(int64_t P, int64_t H) {
  const int64_t n = H / 2;
  const double inc = std::log(10000.0) / double(std::max<int64_t>(n - 1, 1));
  Vec rows(size_t(P * H));
  for (int64_t d = 0; d < P; ++d)
    for (int64_t i = 0; i < n; ++i) {
      const float tau = float(std::exp(double(i) * -inc));
      const float a = float(d) * tau;
      rows[size_t(d * H + i)] = std::sin(a);
      rows[size_t(d * H + n + i)] = std::cos(a);
    }
  return rows;
}

// Chunked local attention with relative positions, written in its direct form: query t sees keys
// s in [t − (context_left − 2), t] (transformers' sliding mask `0 <= t − s < context_left − 1`),
// logit = softcap(q_t·k_s + q_t·R[t − s]); R = relative_k_proj(sinusoid(distance)). The reference's
// blocks of `chunk` queries, Transformer-XL shift and masks give exactly these logits.
Vec attention(const Ctx& k, const Gemma4AudioLayer& L, const Vec& y) {
  const auto& c = k.c;
  const int64_t T = k.T, H = c.hidden_size, nh = c.num_attention_heads, hd = c.head_dim();
  Vec q = linear(k.b, L.q, y, T), kk = linear(k.b, L.k, y, T), v = linear(k.b, L.v, y, T);
  const float q_scale = float(1.0 / std::sqrt(double(hd)) / std::log(2.0));
  const float k_scale = float(std::log(1.0 + std::exp(1.0)) / std::log(2.0));
  Vec pds(static_cast<size_t>(hd));
  for (int64_t d = 0; d < hd; ++d) {
    const float s = L.per_dim_scale[size_t(d)];
    pds[size_t(d)] = s > 20.0f ? s : std::log1p(std::exp(s));  // softplus (torch's threshold 20)
  }
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < nh; ++h)
      for (int64_t d = 0; d < hd; ++d) q[size_t((t * nh + h) * hd + d)] *= q_scale * pds[size_t(d)];
  for (float& x : kk) x *= k_scale;
  // Window and relative rows. transformers numbers the relative rows by the position value
  // context_size/2 − j for the shifted column j; with context_right = 0 (checked at parse) the row
  // of distance d is sinusoid(context_size/2 − max_past + d).
  const int64_t max_past = c.attention_context_left - 1;
  const int64_t window = c.attention_context_left - 1;  // keys t-window+1 .. t
  const int64_t ctx_size = c.attention_chunk_size + max_past + c.attention_context_right;
  const int64_t pos_base = ctx_size / 2 - max_past;  // 0 for the shipped config (12/2·... = 12 − 12)
  const int64_t P = std::max<int64_t>(window, 1);
  Vec sinus = rel_position_rows(pos_base + P, H);
  Vec sin_rows(sinus.begin() + pos_base * H, sinus.end());  // distances 0..P-1
  Vec R = linear(k.b, L.relative_k_proj, sin_rows, P);      // [P, nh, hd]
  const float cap = float(c.attention_logit_cap);
  Vec out(size_t(T * H), 0.0f), logits(static_cast<size_t>(P));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < nh; ++h) {
      const float* qt = q.data() + (t * nh + h) * hd;
      const int64_t s0 = std::max<int64_t>(0, t - window + 1);
      float mx = -INFINITY;
      for (int64_t s = s0; s <= t; ++s) {
        const float* ks = kk.data() + (s * nh + h) * hd;
        const float* r = R.data() + ((t - s) * nh + h) * hd;
        float ac = 0, bd = 0;
        for (int64_t d = 0; d < hd; ++d) ac += qt[d] * ks[d], bd += qt[d] * r[d];
        const float l = std::tanh((ac + bd) / cap) * cap;
        logits[size_t(s - s0)] = l;
        mx = std::max(mx, l);
      }
      double sum = 0;
      for (int64_t s = s0; s <= t; ++s) sum += logits[size_t(s - s0)] = std::exp(logits[size_t(s - s0)] - mx);
      float* o = out.data() + (t * nh + h) * hd;
      for (int64_t s = s0; s <= t; ++s) {
        const float p = float(logits[size_t(s - s0)] / sum);
        const float* vs = v.data() + (s * nh + h) * hd;
        for (int64_t d = 0; d < hd; ++d) o[d] += p * vs[d];
      }
    }
  return linear(k.b, L.post, out, T);
}

// Light conv: x += linear_end(silu(conv_norm(causal_depthwise(glu(linear_start(pre_norm(x))))))).
void light_conv(const Ctx& k, const Gemma4AudioLayer& L, Vec& x) {
  const int64_t T = k.T, H = k.c.hidden_size, K = k.c.conv_kernel_size;
  Vec y(x);
  rms_rows(y.data(), T, H, L.conv_pre_norm, k.eps);
  Vec g = linear(k.b, L.linear_start, y, T);  // [T, 2H]
  Vec a(size_t(T * H));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < H; ++i)
      a[size_t(t * H + i)] = g[size_t(t * 2 * H + i)] * sigmoid(g[size_t(t * 2 * H + H + i)]);
  Vec cv(size_t(T * H), 0.0f);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < H; ++i) {
      float acc = 0;
      for (int64_t j = 0; j < K; ++j) {
        const int64_t s = t - (K - 1) + j;  // left pad K-1
        if (s >= 0) acc += L.depthwise[size_t(i * K + j)] * a[size_t(s * H + i)];
      }
      cv[size_t(t * H + i)] = acc;
    }
  clamp_all(cv.data(), int64_t(cv.size()), k.clip);
  rms_rows(cv.data(), T, H, L.conv_norm, k.eps);
  for (float& v : cv) v = silu(v);
  Vec e = linear(k.b, L.linear_end, cv, T);
  for (size_t i = 0; i < x.size(); ++i) x[i] += e[i];
}

void conformer_layer(const Ctx& k, const Gemma4AudioLayer& L, Vec& x) {
  const int64_t H = k.c.hidden_size;
  ffn(k, L.ffn1, x);
  Vec y(x);
  clamp_all(y.data(), int64_t(y.size()), k.clip);
  rms_rows(y.data(), k.T, H, L.norm_pre_attn, k.eps);
  Vec a = attention(k, L, y);
  clamp_all(a.data(), int64_t(a.size()), k.clip);
  rms_rows(a.data(), k.T, H, L.norm_post_attn, k.eps);
  for (size_t i = 0; i < x.size(); ++i) x[i] += a[i];
  light_conv(k, L, x);
  ffn(k, L.ffn2, x);
  clamp_all(x.data(), int64_t(x.size()), k.clip);
  rms_rows(x.data(), k.T, H, L.norm_out, k.eps);
}

}  // namespace

std::vector<float> gemma4_audio_embed(const Gemma4AudioTower& tw, Backend& b, const MelFeatures& mel,
                                      AudioTowerTrace* trace) {
  const auto& c = tw.cfg;
  const int64_t M = Gemma4AudioFrontEnd::kMelBins;
  if (mel.frames <= 0 || int64_t(mel.data.size()) != mel.frames * M)
    fail(ErrorCode::kInvalidArgument, "audio features: expected [T, ", M, "] with T > 0, got ",
         mel.data.size(), " values for ", mel.frames, " frames");
  const float eps = float(c.rms_norm_eps);
  // SSCP: the features as a one-channel image [T, 128, 1].
  int64_t T1, F1, T2, F2;
  Vec h0 =
      sscp_block(b, mel.data, mel.frames, M, 1, tw.conv0, tw.norm0, c.subsampling_channels[0], eps, &T1, &F1);
  Vec h1 = sscp_block(b, h0, T1, F1, c.subsampling_channels[0], tw.conv1, tw.norm1, c.subsampling_channels[1],
                      eps, &T2, &F2);
  Vec x = linear(b, tw.input_proj, h1, T2);  // [T2, F2·C1] (index f·C1 + c) -> [T2, H]
  if (trace) trace->sscp = x;
  const float clip = float(std::min<double>(c.gradient_clipping, std::numeric_limits<float>::max()));
  const Ctx k{c, b, T2, eps, clip};
  for (const auto& L : tw.layers) conformer_layer(k, L, x);
  Vec o = linear(b, tw.output_proj, x, T2);  // [T2, P]
  const int64_t P = c.output_proj_dims;
  for (int64_t t = 0; t < T2; ++t)
    for (int64_t i = 0; i < P; ++i) o[size_t(t * P + i)] += tw.output_bias[size_t(i)];
  if (trace) trace->tower = o;
  rms_rows(o.data(), T2, P, {}, eps);  // embed_audio: scale-free pre-projection norm
  return linear(b, tw.embed_proj, o, T2);
}

std::vector<float> gemma4_audio_soft_tokens(const Gemma4AudioTower& tower, Backend& b, const uint8_t* wav,
                                            size_t size, const std::string& source) {
  using FE = Gemma4AudioFrontEnd;
  AudioClip clip = decode_wav(wav, size, source);
  // Resample only what the front end keeps (30 s) plus a margin for the filter's right half.
  const int64_t keep = int64_t(std::ceil(double(FE::kMaxSamples) * clip.sample_rate / FE::kSampleRate)) +
                       clip.sample_rate / 100;
  if (int64_t(clip.samples.size()) > keep) clip.samples.resize(size_t(keep));
  std::vector<float> x = resample(clip.samples, clip.sample_rate, FE::kSampleRate);
  if (int64_t(x.size()) < FE::kFrameLength + 1 - FE::kFrameLength / 2)
    fail(ErrorCode::kInvalidArgument, source, ": audio clip too short (", clip.samples.size(), " samples at ",
         clip.sample_rate, " Hz); Gemma 4 needs at least 10 ms");
  const MelFeatures mel = gemma4_log_mel(x.data(), int64_t(x.size()));
  return gemma4_audio_embed(tower, b, mel);
}

Gemma4AudioEncoder::Gemma4AudioEncoder(std::shared_ptr<const Gemma4AudioTower> tower, Backend& backend,
                                       bool exact)
    : tower_(std::move(tower)) {
  if (backend.description().rfind("cpu", 0) == 0) {
    b_ = &backend;
  } else {
    own_ = make_backend("cpu");
    if (exact) own_->set_matmul_mode(MatmulMode::kExact);
    b_ = own_.get();
  }
}

std::vector<float> Gemma4AudioEncoder::encode(const Media& m) const {
  if (m.kind != MediaKind::kAudio) fail(ErrorCode::kInvalidArgument, m.source, ": not an audio clip");
  return gemma4_audio_soft_tokens(*tower_, *b_, reinterpret_cast<const uint8_t*>(m.bytes.data()),
                                  m.bytes.size(), m.source.empty() ? std::string("<audio>") : m.source);
}

}  // namespace ember
