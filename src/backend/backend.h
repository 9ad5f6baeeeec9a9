// The compute interface the model code calls. One virtual class, implemented by the CPU
// backend (backend/cpu) and later by a CUDA backend.
//
// Memory model: activations live in f32 buffers the backend allocates (`alloc`) — host memory
// for the CPU backend, device memory for a GPU backend — and every op takes raw pointers
// obtained from (or offset into) such buffers. Weights are `Matrix` views into the mapped
// checkpoint (core/weights.h); a GPU backend may mirror them on first use. Small control
// arrays (token ids, positions) are plain host pointers. Use upload/download to move data
// between host memory and backend buffers (plain copies on the CPU backend).
//
// Shapes follow ops/ops.h, whose scalar reference implementations define the semantics of
// every op here (the tests hold each backend to them). Ops run synchronously on the calling
// thread's view of the pool: when a call returns, its output is written. A Backend instance is
// used by one thread at a time (implementations keep scratch buffers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/weights.h"
#include "ops/ops.h"

namespace ember {

// How matmuls treat the activations (matters for MLX affine 4/8-bit and dense bf16 weights).
enum class MatmulMode {
  // f32 activations: equals dequantize-then-matmul up to f32 summation order. Use for
  // reference/golden comparisons (transformers float32, mlx-lm).
  kExact,
  // Activations quantized to int8 per weight group (x ≈ d·q, d = max|x|/127) and integer dot
  // products where the CPU has them (AVX-512 VNNI: 4/8-bit; AVX2: 4-bit); the bias term uses
  // the exact Σx. Like llama.cpp's q8 activations: relative RMS error of the outputs ~1e-2 on
  // random data. Dense bf16 weights on AVX-512 BF16 CPUs: activations rounded to bf16 and
  // vdpbf16ps (relative error ~1e-3). F32/F16 weights, group size 32 and cases without such a
  // kernel compute exactly. The default.
  kFast,
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Default MatmulMode::kFast; golden tests set kExact.
  virtual void set_matmul_mode(MatmulMode mode) = 0;
  virtual MatmulMode matmul_mode() const = 0;

  // "cpu", "cuda", ... plus details (e.g. "cpu (avx512, 2 threads)").
  virtual std::string description() const = 0;

  // ---- memory --------------------------------------------------------------------------
  // A zero-initialized buffer of n floats (64-byte aligned on the CPU). Release with free().
  virtual float* alloc(size_t n) = 0;
  virtual void free(float* p) = 0;
  virtual void upload(float* dst, const float* host_src, size_t n) = 0;
  virtual void download(float* host_dst, const float* src, size_t n) = 0;
  virtual void copy(float* dst, const float* src, size_t n) = 0;

  // ---- linear algebra ------------------------------------------------------------------
  // y[T, W.rows] = x[T, W.cols] · Wᵀ for any supported Matrix format (dense F32/F16/BF16,
  // MLX affine 2-8 bit, mxfp4/mxfp8/nvfp4); weights are used in their stored form.
  virtual void matmul(const Matrix& W, const float* x, int64_t T, float* y) = 0;
  // out[T, E.cols] = E[ids[t], :] * scale (ids: host [T]; errors on out-of-range ids).
  virtual void embedding_rows(const Matrix& E, const int32_t* ids, int64_t T, float* out, float scale) = 0;

  // ---- normalization / position / activation -------------------------------------------
  // out[n_rows, dim] = x * rsqrt(mean(x²) + eps) * w   (w: backend buffer [dim] or nullptr).
  // In-place (out == x) is allowed.
  virtual void rmsnorm(const float* x, const float* w, int64_t n_rows, int64_t dim, float eps,
                       float* out) = 0;
  // In-place half-split RoPE on x[T, n_heads, head_dim]; positions: host [T];
  // inv_freq: host [head_dim/2] (ref::rope_inv_freq_default / _proportional).
  virtual void rope(float* x, int64_t T, int n_heads, int head_dim, const int32_t* positions,
                    const float* inv_freq) = 0;
  // out[n] = gelu_tanh(gate) * up (GeGLU); out may alias gate or up.
  virtual void gelu_tanh_mul(const float* gate, const float* up, int64_t n, float* out) = 0;
  virtual void gelu_tanh(float* x, int64_t n) = 0;
  virtual void softcap(float* x, int64_t n, float cap) = 0;  // x = cap·tanh(x/cap), abs err ≲ 2e-7·cap

  // ---- elementwise (residual stream, PLE mixing) ---------------------------------------
  virtual void add(float* y, const float* x, int64_t n) = 0;                  // y += x
  virtual void mul(float* y, const float* x, int64_t n) = 0;                  // y *= x
  virtual void scale(float* y, float s, int64_t n) = 0;                       // y *= s
  virtual void add_scaled(float* y, const float* x, float s, int64_t n) = 0;  // y = (y + x) * s
  // x = min(max(x, lo), hi) elementwise (the clipped linears of the Gemma 4 towers). The
  // default goes through host memory; backends may override it.
  virtual void clamp(float* x, int64_t n, float lo, float hi) {
    std::vector<float> h(static_cast<size_t>(n));
    download(h.data(), x, h.size());
    for (float& v : h) v = v < lo ? lo : (v > hi ? hi : v);
    upload(x, h.data(), h.size());
  }

  // ---- attention -----------------------------------------------------------------------
  // See ref::attention for shapes and the mask rule (causal, sliding window incl. self,
  // GQA h -> h / (n_heads/n_kv_heads), empty slots k_pos < 0). q_pos/k_pos: host arrays.
  virtual void attention(const ref::AttentionShape& shape, const float* q, const float* K, const float* V,
                         const int32_t* q_pos, const int32_t* k_pos, float* out) = 0;
};

// Owning handle of a backend buffer (frees on destruction).
class BackendBuffer {
 public:
  BackendBuffer() = default;
  BackendBuffer(Backend& b, size_t n) : backend_(&b), ptr_(b.alloc(n)), n_(n) {}
  BackendBuffer(BackendBuffer&& o) noexcept { *this = std::move(o); }
  BackendBuffer& operator=(BackendBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      backend_ = o.backend_, ptr_ = o.ptr_, n_ = o.n_;
      o.ptr_ = nullptr, o.n_ = 0;
    }
    return *this;
  }
  ~BackendBuffer() { reset(); }
  float* data() const { return ptr_; }
  size_t size() const { return n_; }
  void reset() {
    if (ptr_) backend_->free(ptr_);
    ptr_ = nullptr, n_ = 0;
  }

 private:
  Backend* backend_ = nullptr;
  float* ptr_ = nullptr;
  size_t n_ = 0;
};

// "cpu" (threads <= 0: one per hardware core). Unknown names -> ember::Error kInvalidArgument.
// "cuda", "cuda:f32|tf32|bf16[:graph]" in builds with EMBER_CUDA (backend/cuda/cuda_backend.h);
// elsewhere "cuda" is ember::Error kUnsupported.
std::unique_ptr<Backend> make_backend(std::string_view name, int threads = 0);

}  // namespace ember
