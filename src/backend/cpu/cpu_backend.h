// The CPU implementation of Backend: fast kernels (kernels.h, chosen by the runtime ISA
// level) where they exist, the scalar reference ops (ops/ops.h) otherwise; every op that is
// worth it is split over the ThreadPool (matmul by output rows, attention by (token, head)).
#pragma once

#include <memory>
#include <vector>

#include "quant/gguf_quants.h"

#include "backend/backend.h"
#include "core/threadpool.h"

namespace ember {
namespace cpu {
struct AffineActs;
struct Int8Acts;
}  // namespace cpu

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads = 0);  // threads <= 0: one per hardware core
  ~CpuBackend() override;

  std::string description() const override;
  void set_matmul_mode(MatmulMode mode) override { mode_ = mode; }
  MatmulMode matmul_mode() const override { return mode_; }
  ThreadPool& pool() { return pool_; }

  float* alloc(size_t n) override;
  void free(float* p) override;
  void upload(float* dst, const float* host_src, size_t n) override;
  void download(float* host_dst, const float* src, size_t n) override;
  void copy(float* dst, const float* src, size_t n) override;

  void matmul(const Matrix& W, const float* x, int64_t T, float* y) override;
  void embedding_rows(const Matrix& E, const int32_t* ids, int64_t T, float* out, float scale) override;

  void rmsnorm(const float* x, const float* w, int64_t n_rows, int64_t dim, float eps, float* out) override;
  void rope(float* x, int64_t T, int n_heads, int head_dim, const int32_t* positions,
            const float* inv_freq) override;
  void gelu_tanh_mul(const float* gate, const float* up, int64_t n, float* out) override;
  void gelu_tanh(float* x, int64_t n) override;
  void softcap(float* x, int64_t n, float cap) override;

  void add(float* y, const float* x, int64_t n) override;
  void mul(float* y, const float* x, int64_t n) override;
  void scale(float* y, float s, int64_t n) override;
  void add_scaled(float* y, const float* x, float s, int64_t n) override;

  void attention(const ref::AttentionShape& shape, const float* q, const float* K, const float* V,
                 const int32_t* q_pos, const int32_t* k_pos, float* out) override;

 private:
  ThreadPool pool_;
  // (matmul's activation scratch is per calling thread, see cpu_backend.cc: sessions on
  // different threads share this backend.)
  MatmulMode mode_ = MatmulMode::kFast;
};

}  // namespace ember
