#include "backend/cpu/cpu_backend.h"
#include "quant/gguf_quants.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "backend/cpu/attention.h"
#include "backend/cpu/isa.h"
#include "backend/cpu/kernels.h"
#include "core/status.h"
#ifdef EMBER_HAVE_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

namespace ember {

namespace cpu {
const KernelTable* kernel_table(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return kernels_avx512();
    case Isa::kAvx2:
      return kernels_avx2();
    case Isa::kScalar:
      return nullptr;
  }
  return nullptr;
}

bool affine_fast_path(const Matrix& W) {
  return W.format == WeightFormat::kMlxAffine && (W.bits == 4 || W.bits == 8) && W.group_size > 0 &&
         W.group_size % 32 == 0 && W.cols % W.group_size == 0 && W.scales && W.biases &&
         (W.scale_dtype == DType::BF16 || W.scale_dtype == DType::F16 || W.scale_dtype == DType::F32);
}
}  // namespace cpu

namespace {
const cpu::KernelTable* active_kernels() { return cpu::kernel_table(cpu::active_isa()); }

bool dense_fast_path(const Matrix& W) {
  return W.format == WeightFormat::kDense &&
         (W.dtype == DType::F32 || W.dtype == DType::BF16 || W.dtype == DType::F16);
}

// Rows per thread chunk so that each chunk carries at least ~64 KiB of weights (smaller
// matrices are not worth waking the pool for).
int64_t min_rows(const Matrix& W) {
  size_t rb = std::max<size_t>(W.stored_row_bytes(), 1);
  return std::max<int64_t>(1, int64_t((64 * 1024) / rb));
}

constexpr int64_t kElemChunk = 16 * 1024;  // elementwise ops: min floats per thread

// Prepared-activation buffers reused across matmul calls (no allocation per call), one set per
// CALLING thread: a model's backend is shared by every session, and sessions may run on
// different threads at once (the public API's contract), so buffers owned by the backend would
// be resized and overwritten under another thread's matmul. Pool workers only read them while
// the caller waits in parallel_for.
struct MatmulScratch {
  cpu::AffineActs affine;
  cpu::Int8Acts int8;
  std::vector<uint16_t> bf16;  // bf16 [T, cols]
  std::vector<gguf::QuantizedActivation> gguf;  // per token
};
MatmulScratch& thread_scratch() {
  thread_local MatmulScratch s;
  return s;
}
}  // namespace

CpuBackend::CpuBackend(int threads) : pool_(threads) {}

CpuBackend::~CpuBackend() = default;

std::string CpuBackend::description() const {
  const bool vnni = cpu::active_isa() == cpu::Isa::kAvx512 && cpu::cpu_has_avx512_vnni();
  return detail::concat("cpu (", cpu::isa_name(cpu::active_isa()), vnni ? "+vnni" : "", ", ", pool_.size(),
                        " threads, matmul ", mode_ == MatmulMode::kFast ? "fast" : "exact", ")");
}

float* CpuBackend::alloc(size_t n) {
  size_t bytes = std::max<size_t>(64, (n * sizeof(float) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return static_cast<float*>(p);
}
void CpuBackend::free(float* p) { std::free(p); }
void CpuBackend::upload(float* dst, const float* src, size_t n) { std::memcpy(dst, src, n * sizeof(float)); }
void CpuBackend::download(float* dst, const float* src, size_t n) {
  std::memcpy(dst, src, n * sizeof(float));
}
void CpuBackend::copy(float* dst, const float* src, size_t n) { std::memmove(dst, src, n * sizeof(float)); }

void CpuBackend::matmul(const Matrix& W, const float* x, int64_t T, float* y) {
  if (T <= 0 || W.rows <= 0) return;
  const cpu::KernelTable* k = active_kernels();
  const int64_t grain = min_rows(W);
  const int64_t tok_grain = std::max<int64_t>(1, kElemChunk / std::max<int64_t>(W.cols, 1));
  if (k && mode_ == MatmulMode::kFast && W.format == WeightFormat::kDense && W.dtype == DType::BF16 &&
      cpu::active_isa() == cpu::Isa::kAvx512 && cpu::cpu_has_avx512_bf16()) {
    // Round the activations to bf16 once (RNE), then bf16 pair dot products.
    std::vector<uint16_t>& xb = thread_scratch().bf16;
    xb.resize(size_t(T * W.cols));
    pool_.parallel_for(
        T * W.cols,
        [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) xb[size_t(i)] = f32_to_bf16(x[i]);
        },
        kElemChunk);
    const cpu::MatmulBf16Fn f = cpu::matmul_bf16_avx512bf16();
    pool_.parallel_for(
        W.rows, [&](int64_t b, int64_t e) { f(W, xb.data(), T, y, b, e); }, grain);
    return;
  }
  if (W.format == WeightFormat::kGguf && mode_ == MatmulMode::kFast && gguf::has_q8_dot(W.gguf_type)) {
    // GGUF blocks: activations quantized once per token to the weight type's 8-bit blocks,
    // integer dot products on the blocks in place (llama.cpp's scheme).
    std::vector<gguf::QuantizedActivation>& acts = thread_scratch().gguf;
    acts.resize(size_t(T));
    pool_.parallel_for(
        T,
        [&](int64_t b, int64_t e) {
          for (int64_t t = b; t < e; ++t)
            gguf::quantize_activation(W.gguf_type, x + t * W.cols, W.cols, acts[size_t(t)]);
        },
        tok_grain);
    pool_.parallel_for(
        W.rows, [&](int64_t b, int64_t e) { gguf::gguf_matmul_rows(W, acts.data(), T, b, e, y, W.rows); },
        grain);
    return;
  }
  if (k && dense_fast_path(W)) {
    pool_.parallel_for(
        W.rows, [&](int64_t b, int64_t e) { k->matmul_dense(W, x, T, y, b, e); }, grain);
    return;
  }
  const cpu::MatmulInt8Fn f =
      mode_ == MatmulMode::kFast ? cpu::select_int8_kernel(W, cpu::active_isa()) : nullptr;
  if (f) {
    cpu::Int8Acts& a = thread_scratch().int8;
    cpu::size_acts_int8(W, T, &a);
    pool_.parallel_for(
        T, [&](int64_t b, int64_t e) { cpu::quantize_acts_int8(W, x, b, e, &a); }, tok_grain);
    pool_.parallel_for(
        W.rows, [&](int64_t b, int64_t e) { f(W, a, y, b, e); }, grain);
    return;
  }
  if (k && cpu::affine_fast_path(W)) {
    cpu::AffineActs& a = thread_scratch().affine;
    a.T = T, a.cols = W.cols, a.groups = W.cols / W.group_size;
    a.x.resize(size_t(T * W.cols));
    a.gsum.resize(size_t(T * a.groups));
    a.xp = a.x.data(), a.gsump = a.gsum.data();
    pool_.parallel_for(
        T, [&](int64_t b, int64_t e) { k->affine_prepare(W, x, b, e, &a); }, tok_grain);
    pool_.parallel_for(
        W.rows, [&](int64_t b, int64_t e) { k->matmul_affine(W, a, y, b, e); }, grain);
    return;
  }
  if (k) {
    // Any other format: dequantize one row at a time (reference), vector dot products.
    pool_.parallel_for(
        W.rows,
        [&](int64_t b, int64_t e) {
          std::vector<float> row(size_t(W.cols));
          for (int64_t r = b; r < e; ++r) {
            dequantize_row(W, r, row.data());
            k->matmul_f32_row(row.data(), W.cols, x, T, y + r, W.rows);
          }
        },
        grain);
    return;
  }
  pool_.parallel_for(
      W.rows, [&](int64_t b, int64_t e) { ref::matmul_rows(W, x, T, y, b, e); }, grain);
}

void CpuBackend::embedding_rows(const Matrix& E, const int32_t* ids, int64_t T, float* out, float scale) {
  for (int64_t t = 0; t < T; ++t)  // validate before any thread starts (errors name the id)
    if (ids[t] < 0 || ids[t] >= E.rows)
      fail(ErrorCode::kInvalidArgument, E.name, ": token id ", ids[t], " at position ", t,
           " is outside the embedding table [0, ", E.rows, ")");
  pool_.parallel_for(
      T, [&](int64_t b, int64_t e) { ref::embedding_rows(E, ids + b, e - b, out + b * E.cols, scale); });
}

void CpuBackend::rmsnorm(const float* x, const float* w, int64_t n_rows, int64_t dim, float eps, float* out) {
  const cpu::KernelTable* k = active_kernels();
  const int64_t grain = std::max<int64_t>(1, kElemChunk / std::max<int64_t>(dim, 1));
  pool_.parallel_for(
      n_rows,
      [&](int64_t b, int64_t e) {
        if (k)
          k->rmsnorm(x + b * dim, w, e - b, dim, eps, out + b * dim);
        else
          ref::rmsnorm(x + b * dim, w, e - b, dim, eps, out + b * dim);
      },
      grain);
}

void CpuBackend::rope(float* x, int64_t T, int n_heads, int head_dim, const int32_t* positions,
                      const float* inv_freq) {
  const int64_t row = int64_t(n_heads) * head_dim;
  pool_.parallel_for(T, [&](int64_t b, int64_t e) {
    ref::rope_apply(x + b * row, e - b, n_heads, head_dim, positions + b, inv_freq);
  });
}

void CpuBackend::gelu_tanh_mul(const float* gate, const float* up, int64_t n, float* out) {
  const cpu::KernelTable* k = active_kernels();
  pool_.parallel_for(
      n,
      [&](int64_t b, int64_t e) {
        if (k)
          k->gelu_tanh_mul(gate + b, up ? up + b : nullptr, e - b, out + b);
        else if (up)
          ref::gelu_tanh_mul(gate + b, up + b, e - b, out + b);
        else {
          if (out != gate) std::memmove(out + b, gate + b, size_t(e - b) * sizeof(float));
          ref::gelu_tanh(out + b, e - b);
        }
      },
      kElemChunk);
}

void CpuBackend::gelu_tanh(float* x, int64_t n) { gelu_tanh_mul(x, nullptr, n, x); }

void CpuBackend::softcap(float* x, int64_t n, float cap) {
  const cpu::KernelTable* k = active_kernels();
  pool_.parallel_for(
      n,
      [&](int64_t b, int64_t e) {
        if (k)
          k->softcap(x + b, e - b, cap);
        else
          ref::softcap(x + b, e - b, cap);
      },
      kElemChunk);
}

void CpuBackend::add(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}
void CpuBackend::mul(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] *= x[i];
}
void CpuBackend::scale(float* y, float s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] *= s;
}
void CpuBackend::add_scaled(float* y, const float* x, float s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = (y[i] + x[i]) * s;
}

void CpuBackend::attention(const ref::AttentionShape& sh, const float* q, const float* K, const float* V,
                           const int32_t* q_pos, const int32_t* k_pos, float* out) {
  if (sh.n_kv_heads <= 0 || sh.n_heads <= 0 || sh.n_heads % sh.n_kv_heads != 0)
    fail(ErrorCode::kInvalidArgument, "attention: n_heads ", sh.n_heads, " is not a multiple of n_kv_heads ",
         sh.n_kv_heads);
  const cpu::KernelTable* k = active_kernels();
  const int64_t hd = sh.head_dim, nh = sh.n_heads;
  if (!k) {
    pool_.parallel_for(sh.T, [&](int64_t b, int64_t e) {
      ref::AttentionShape part = sh;
      part.T = e - b;
      ref::attention(part, q + b * nh * hd, K, V, q_pos + b, k_pos, out + b * nh * hd);
    });
    return;
  }
  cpu::attention(pool_, *k, sh, q, K, V, q_pos, k_pos, out);
}

std::unique_ptr<Backend> make_backend(std::string_view name, int threads) {
  if (name == "cpu") return std::make_unique<CpuBackend>(threads);
  if (name == "cuda" || name.substr(0, 5) == "cuda:") {
#ifdef EMBER_HAVE_CUDA
    return make_cuda_backend(parse_cuda_backend_name(name));
#else
    fail(ErrorCode::kUnsupported, "backend '", std::string(name),
         "': ember was built without CUDA (configure with the 'cuda' preset, -DEMBER_CUDA=ON)");
#endif
  }
  fail(ErrorCode::kInvalidArgument, "unknown backend '", std::string(name), "' (available: cpu, cuda)");
}

}  // namespace ember
