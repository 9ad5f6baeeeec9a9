// Gemma 4 vision tower forward pass on the Backend interface (gemma4-multimodal.md §2.4-§2.8).
// Only the real patches of one image are processed (no padding to max_patches): padded keys are
// masked and padded outputs dropped in the reference, so the result is the same (§2.4).
#include "vision/gemma4_vision.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"
#include "models/blocks.h"
#include "vision/image.h"

namespace ember {

// Activation buffers of one image (backend memory).
struct VisionScratch {
  VisionScratch(Backend& b, int64_t N, const Gemma4VisionConfig& c)
      : a(b, size_t(N * c.hidden_size)),
        tmp(b,
            size_t(N * std::max({c.hidden_size, c.intermediate_size, c.num_attention_heads * c.head_dim}))),
        q(b, size_t(N * c.num_attention_heads * c.head_dim)),
        k(b, size_t(N * c.num_key_value_heads * c.head_dim)),
        v(b, size_t(N * c.num_key_value_heads * c.head_dim)),
        att(b, size_t(N * c.num_attention_heads * c.head_dim)),
        gate(b, size_t(N * c.intermediate_size)),
        up(b, size_t(N * c.intermediate_size)) {}
  BackendBuffer a, tmp, q, k, v, att, gate, up;
  std::vector<int32_t> q_pos, k_pos;  // host: every patch sees every patch
};

Gemma4VisionTower::Gemma4VisionTower(std::shared_ptr<const Gemma4VisionWeights> w, Backend& backend)
    : w_(std::move(w)), b_(backend) {
  for (const auto& l : w_->layers) {
    LayerNorms n;
    n.in = upload_vector(b_, l.input_layernorm, &vec_bufs_);
    n.post_attn = upload_vector(b_, l.post_attention_layernorm, &vec_bufs_);
    n.pre_ff = upload_vector(b_, l.pre_feedforward_layernorm, &vec_bufs_);
    n.post_ff = upload_vector(b_, l.post_feedforward_layernorm, &vec_bufs_);
    n.q = upload_vector(b_, l.q_norm, &vec_bufs_);
    n.k = upload_vector(b_, l.k_norm, &vec_bufs_);
    norms_.push_back(n);
  }
  // Axial RoPE: each half of head_dim rotates with one coordinate, NeoX pairing inside the half,
  // inv_freq[j] = theta^(-2j / (head_dim/2)).
  inv_freq_ = ref::rope_inv_freq_default(int(w_->cfg.head_dim / 2), w_->cfg.rope_theta);
}

void Gemma4VisionTower::clipped(const ClippedLinear& l, const float* x, int64_t T, float* tmp,
                                float* y) const {
  const bool clip_in = std::isfinite(l.in_min) || std::isfinite(l.in_max);
  if (clip_in) {  // the clamp must not change x: other linears read it unclamped (or differently)
    b_.copy(tmp, x, size_t(T * l.w.cols));
    b_.clamp(tmp, T * l.w.cols, l.in_min, l.in_max);
    x = tmp;
  }
  b_.matmul(l.w, x, T, y);
  if (std::isfinite(l.out_min) || std::isfinite(l.out_max)) b_.clamp(y, T * l.w.rows, l.out_min, l.out_max);
}

void Gemma4VisionTower::layer(size_t i, float* h, int64_t N, const std::vector<int32_t>& rope_pos,
                              VisionScratch& s) const {
  const auto& c = w_->cfg;
  const auto& L = w_->layers[i];
  const auto& n = norms_[i];
  const int64_t D = c.hidden_size, hd = c.head_dim, nH = c.num_attention_heads, nKV = c.num_key_value_heads;
  const float eps = float(c.rms_norm_eps);
  // Attention: q/k RMSNorm per head (with weight), v RMSNorm without weight, axial RoPE.
  b_.rmsnorm(h, n.in, N, D, eps, s.a.data());
  clipped(L.q_proj, s.a.data(), N, s.tmp.data(), s.q.data());  // [N, nH, hd]
  clipped(L.k_proj, s.a.data(), N, s.tmp.data(), s.k.data());  // [N, nKV, hd]
  clipped(L.v_proj, s.a.data(), N, s.tmp.data(), s.v.data());
  b_.rmsnorm(s.q.data(), n.q, N * nH, hd, eps, s.q.data());
  b_.rmsnorm(s.k.data(), n.k, N * nKV, hd, eps, s.k.data());
  b_.rmsnorm(s.v.data(), nullptr, N * nKV, hd, eps, s.v.data());
  // Each head is two rotary halves of hd/2 channels: rows [N·heads·2, hd/2], x then y.
  b_.rope(s.q.data(), N * nH * 2, 1, int(hd / 2), rope_pos.data(), inv_freq_.data());
  std::vector<int32_t> kpos_rope;
  const std::vector<int32_t>* kp = &rope_pos;
  if (nKV != nH) {  // rope_pos is laid out for nH heads; build the nKV one
    kpos_rope.resize(size_t(N * nKV * 2));
    for (int64_t t = 0; t < N; ++t)
      for (int64_t hh = 0; hh < nKV * 2; ++hh)
        kpos_rope[size_t(t * nKV * 2 + hh)] = rope_pos[size_t(t * nH * 2 + hh % 2)];
    kp = &kpos_rope;
  }
  b_.rope(s.k.data(), N * nKV * 2, 1, int(hd / 2), kp->data(), inv_freq_.data());
  ref::AttentionShape shape;
  shape.T = N, shape.S = N, shape.n_heads = int(nH), shape.n_kv_heads = int(nKV), shape.head_dim = int(hd);
  shape.window = 0, shape.scale = 1.0f;
  b_.attention(shape, s.q.data(), s.k.data(), s.v.data(), s.q_pos.data(), s.k_pos.data(), s.att.data());
  clipped(L.o_proj, s.att.data(), N, s.tmp.data(), s.a.data());
  b_.rmsnorm(s.a.data(), n.post_attn, N, D, eps, s.a.data());
  b_.add(h, s.a.data(), N * D);
  // GeGLU MLP.
  b_.rmsnorm(h, n.pre_ff, N, D, eps, s.a.data());
  clipped(L.gate_proj, s.a.data(), N, s.tmp.data(), s.gate.data());
  clipped(L.up_proj, s.a.data(), N, s.tmp.data(), s.up.data());
  b_.gelu_tanh_mul(s.gate.data(), s.up.data(), N * c.intermediate_size, s.gate.data());
  clipped(L.down_proj, s.gate.data(), N, s.tmp.data(), s.a.data());
  b_.rmsnorm(s.a.data(), n.post_ff, N, D, eps, s.a.data());
  b_.add(h, s.a.data(), N * D);
}

std::vector<float> Gemma4VisionTower::encode_patches(const float* patches, int grid_w, int grid_h,
                                                     const ActivationHook* hook) const {
  const auto& c = w_->cfg;
  const int64_t D = c.hidden_size, k = c.pooling_kernel_size, N = int64_t(grid_w) * grid_h;
  const int64_t P = c.patch_size * c.patch_size * 3;
  if (grid_w % k || grid_h % k)
    fail(ErrorCode::kInvalidArgument, "vision: patch grid ", grid_w, "x", grid_h,
         " is not a multiple of the pooling kernel ", k);
  if (grid_w > c.position_embedding_size || grid_h > c.position_embedding_size)
    fail(ErrorCode::kInvalidArgument, "vision: patch grid ", grid_w, "x", grid_h,
         " exceeds the position table (", c.position_embedding_size, ")");
  // Patch embedding: input_proj(2·(p − 0.5)) + table_x[x] + table_y[y].
  std::vector<float> host(size_t(N * P));
  for (size_t i = 0; i < host.size(); ++i) host[i] = 2.0f * (patches[i] - 0.5f);
  BackendBuffer in(b_, host.size()), h(b_, size_t(N * D)), pe(b_, size_t(N * D));
  b_.upload(in.data(), host.data(), host.size());
  b_.matmul(w_->input_proj, in.data(), N, h.data());
  std::vector<int32_t> xs(static_cast<size_t>(N)), ys(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) xs[size_t(i)] = int32_t(i % grid_w), ys[size_t(i)] = int32_t(i / grid_w);
  BackendBuffer pe_y(b_, size_t(N * D));
  b_.embedding_rows(w_->pos_table[0], xs.data(), N, pe.data(), 1.0f);
  b_.embedding_rows(w_->pos_table[1], ys.data(), N, pe_y.data(), 1.0f);
  b_.add(pe.data(), pe_y.data(), N * D);
  b_.add(h.data(), pe.data(), N * D);
  dump_activation(b_, hook, "patch_embed", h.data(), N, D);

  VisionScratch s(b_, N, c);
  s.q_pos.assign(size_t(N), int32_t(N));  // bidirectional: every key position <= every query's
  s.k_pos.resize(size_t(N));
  for (int64_t i = 0; i < N; ++i) s.k_pos[size_t(i)] = int32_t(i);
  std::vector<int32_t> rope_pos(size_t(N * c.num_attention_heads * 2));
  for (int64_t t = 0; t < N; ++t)
    for (int64_t hh = 0; hh < c.num_attention_heads; ++hh) {
      rope_pos[size_t((t * c.num_attention_heads + hh) * 2)] = xs[size_t(t)];
      rope_pos[size_t((t * c.num_attention_heads + hh) * 2 + 1)] = ys[size_t(t)];
    }
  for (size_t i = 0; i < w_->layers.size(); ++i) {
    layer(i, h.data(), N, rope_pos, s);
    dump_activation(b_, hook, "layer." + std::to_string(i), h.data(), N, D);
  }

  // Pooling: mean of each k×k block of patches (row-major blocks), × √D (§2.7).
  std::vector<float> out_h(size_t(N * D));
  b_.download(out_h.data(), h.data(), out_h.size());
  const int64_t pw = grid_w / k, n_soft = N / (k * k);
  std::vector<float> pooled(size_t(n_soft * D), 0.0f);
  const float inv = 1.0f / float(k * k);
  for (int64_t i = 0; i < N; ++i) {
    const int64_t slot = (xs[size_t(i)] / k) + pw * (ys[size_t(i)] / k);
    float* dst = &pooled[size_t(slot * D)];
    const float* src = &out_h[size_t(i * D)];
    for (int64_t d = 0; d < D; ++d) dst[d] += src[d] * inv;
  }
  const float root = float(std::sqrt(double(D)));
  for (float& v : pooled) v *= root;
  if (c.standardize)
    for (int64_t t = 0; t < n_soft; ++t)
      for (int64_t d = 0; d < D; ++d) {
        float& v = pooled[size_t(t * D + d)];
        v = (v - w_->std_bias[size_t(d)]) * w_->std_scale[size_t(d)];
      }
  if (hook && *hook) (*hook)("pooled", pooled.data(), n_soft, D);

  // Embedder: RMSNorm without weight, then the projection to the text width (§2.8).
  BackendBuffer pb(b_, pooled.size()), eb(b_, size_t(n_soft * w_->text_hidden));
  b_.upload(pb.data(), pooled.data(), pooled.size());
  b_.rmsnorm(pb.data(), nullptr, n_soft, D, float(c.rms_norm_eps), pb.data());
  b_.matmul(w_->embedding_projection, pb.data(), n_soft, eb.data());
  std::vector<float> out(size_t(n_soft * w_->text_hidden));
  b_.download(out.data(), eb.data(), out.size());
  return out;
}

std::vector<float> Gemma4VisionTower::encode(const Media& m) const {
  if (m.kind != MediaKind::kImage) fail(ErrorCode::kInvalidArgument, m.source, ": not an image");
  const RgbImage img = decode_image(m.bytes, m.source);
  ImagePreprocess p;
  p.patch = int(w_->cfg.patch_size);
  p.pooling = int(w_->cfg.pooling_kernel_size);
  p.soft_token_budget = gemma4_image_budget(m.image_tokens, m.source);
  const ImagePatches patches = gemma4_preprocess(img, p, m.source);
  return encode_patches(patches.values.data(), patches.grid_w, patches.grid_h);
}

}  // namespace ember
