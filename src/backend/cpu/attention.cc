#include "backend/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ember::cpu {

namespace {

constexpr int64_t kMinKeysPerSplit = 128;

// Unnormalized result of one task for each of its `group` query heads:
// m = max score, l = Σ exp(score − m), o = Σ exp(score − m)·v.
struct Partial {
  float* m;
  float* l;
  float* o;  // [group, head_dim]
};

struct Scratch {
  std::vector<int64_t> idx;  // visible slots of the task
  std::vector<float> p;      // [group, n_visible] scores, then probabilities
};

void run_task(const KernelTable& k, const ref::AttentionShape& sh, const float* q, const float* K,
              const float* V, int32_t qp, const int32_t* k_pos, int kvh, int64_t s0, int64_t s1, Partial part,
              Scratch& sc) {
  const int group = sh.n_heads / sh.n_kv_heads;
  const int64_t hd = sh.head_dim, kv_stride = int64_t(sh.n_kv_heads) * hd;
  sc.idx.clear();
  for (int64_t s = s0; s < s1; ++s)
    if (ref::attention_visible(qp, k_pos[s], sh.window)) sc.idx.push_back(s);
  const int64_t n = int64_t(sc.idx.size());
  std::fill(part.o, part.o + group * hd, 0.0f);
  if (n == 0) {
    for (int h = 0; h < group; ++h) part.m[h] = -INFINITY, part.l[h] = 0.0f;
    return;
  }
  sc.p.resize(size_t(group * n));
  // Scores: register-blocked over 4 keys × 4 heads; each K row is read once per head block.
  k.attn_scores(q, group, hd, K + kvh * hd, kv_stride, sc.idx.data(), n, sh.scale, sc.p.data());
  for (int h = 0; h < group; ++h) {
    float* ph = sc.p.data() + h * n;
    const float mx = *std::max_element(ph, ph + n);
    for (int64_t i = 0; i < n; ++i) ph[i] -= mx;
    k.exp_inplace(ph, n);
    float l = 0.0f;
    for (int64_t i = 0; i < n; ++i) l += ph[i];
    part.m[h] = mx, part.l[h] = l;
  }
  // Values: the outputs of 4 heads stay in registers while the V rows stream past.
  k.attn_pv(sc.p.data(), group, n, V + kvh * hd, kv_stride, sc.idx.data(), hd, part.o);
}

}  // namespace

void attention(ThreadPool& pool, const KernelTable& k, const ref::AttentionShape& sh, const float* q,
               const float* K, const float* V, const int32_t* q_pos, const int32_t* k_pos, float* out) {
  const int group = sh.n_heads / sh.n_kv_heads;
  const int64_t hd = sh.head_dim, pairs = sh.T * sh.n_kv_heads;
  // Key splits: enough tasks for every thread, but at least kMinKeysPerSplit slots each.
  int64_t splits = (2 * int64_t(pool.size()) + pairs - 1) / pairs;
  splits = std::clamp<int64_t>(splits, 1, std::max<int64_t>(1, sh.S / kMinKeysPerSplit));
  const int64_t tasks = pairs * splits;
  // Partials [tasks, group] (+ head_dim for o). With one split, o is normalized in place.
  std::vector<float> m(size_t(tasks * group)), l(size_t(tasks * group));
  std::vector<float> o(splits > 1 ? size_t(tasks * group * hd) : 0);
  pool.parallel_for(tasks, [&](int64_t b, int64_t e) {
    Scratch sc;
    for (int64_t task = b; task < e; ++task) {
      const int64_t pair = task / splits, sp = task % splits;
      const int64_t t = pair / sh.n_kv_heads;
      const int kvh = int(pair % sh.n_kv_heads);
      const int64_t s0 = sh.S * sp / splits, s1 = sh.S * (sp + 1) / splits;
      // Query heads kvh·group .. kvh·group + group − 1 are contiguous in q and out.
      const int64_t head0 = t * sh.n_heads + int64_t(kvh) * group;
      Partial part{m.data() + task * group, l.data() + task * group,
                   splits > 1 ? o.data() + task * group * hd : out + head0 * hd};
      run_task(k, sh, q + head0 * hd, K, V, q_pos[t], k_pos, kvh, s0, s1, part, sc);
      if (splits == 1)
        for (int h = 0; h < group; ++h) {
          const float inv = part.l[h] > 0.0f ? 1.0f / part.l[h] : 0.0f;
          for (int64_t i = 0; i < hd; ++i) part.o[h * hd + i] *= inv;
        }
    }
  });
  if (splits == 1) return;
  // Merge the key ranges: out = Σ_p e^{m_p − M}·o_p / Σ_p e^{m_p − M}·l_p.
  pool.parallel_for(pairs * group, [&](int64_t b, int64_t e) {
    for (int64_t ph = b; ph < e; ++ph) {
      const int64_t pair = ph / group, h = ph % group;
      const int64_t t = pair / sh.n_kv_heads, kvh = pair % sh.n_kv_heads;
      float* dst = out + (t * sh.n_heads + kvh * group + h) * hd;
      float M = -INFINITY;
      for (int64_t sp = 0; sp < splits; ++sp) M = std::max(M, m[size_t((pair * splits + sp) * group + h)]);
      std::fill(dst, dst + hd, 0.0f);
      if (M == -INFINITY) continue;  // no visible key at all
      float L = 0.0f;
      for (int64_t sp = 0; sp < splits; ++sp) {
        const int64_t task = pair * splits + sp;
        const float w = std::exp(m[size_t(task * group + h)] - M);
        if (w == 0.0f) continue;
        L += w * l[size_t(task * group + h)];
        k.axpy(w, o.data() + (task * group + h) * hd, dst, hd);
      }
      const float inv = 1.0f / L;
      for (int64_t i = 0; i < hd; ++i) dst[i] *= inv;
    }
  });
}

}  // namespace ember::cpu
