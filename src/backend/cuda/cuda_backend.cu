// CudaBackend: device memory, the weight mirror, host-argument staging and the op dispatch
// (kernels in kernels_*.cu, large matmuls through cuBLAS).
#include "backend/cuda/cuda_backend.h"

#include <cublas_v2.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "backend/cuda/cuda_common.cuh"
#include "core/status.h"

namespace ember {

namespace cuda {
void fail_cuda(cudaError_t e, const char* what, const char* file, int line) {
  fail(ErrorCode::kInternal, "CUDA error ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ") in ", what, " at ",
       file, ":", line);
}
}  // namespace cuda

namespace {

using cuda::DevMatrix;

void check_cublas(cublasStatus_t st, const char* what) {
  if (st != CUBLAS_STATUS_SUCCESS) fail(ErrorCode::kInternal, "cuBLAS error ", int(st), " in ", what);
}

// Device buffers that only grow (workspaces).
struct GrowBuffer {
  void* p = nullptr;
  size_t bytes = 0;
  ~GrowBuffer() {
    if (p) cudaFree(p);
  }
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const CudaBackendOptions& o);
  ~CudaBackend() override;

  void set_matmul_mode(MatmulMode mode) override { mode_ = mode; }
  MatmulMode matmul_mode() const override { return mode_; }
  std::string description() const override;
  // Ends a capture in progress (launching what it recorded), then waits for the stream.
  void synchronize(const char* why = "sync") {
    flush(why);
    EMBER_CUDA_CHECK(cudaStreamSynchronize(stream_));
    eager_ = false;
  }
  double time_ms(const std::function<void()>& fn, int reps, bool graph);

  float* alloc(size_t n) override;
  void free(float* p) override;
  void upload(float* dst, const float* host_src, size_t n) override;
  void download(float* host_dst, const float* src, size_t n) override;
  void copy(float* dst, const float* src, size_t n) override;

  void matmul(const Matrix& W, const float* x, int64_t T, float* y) override;
  void embedding_rows(const Matrix& E, const int32_t* ids, int64_t T, float* out, float scale) override;

  void rmsnorm(const float* x, const float* w, int64_t n_rows, int64_t dim, float eps, float* out) override {
    if (n_rows > 0 && dim > 0) { enqueue(); cuda::rmsnorm(x, w, n_rows, dim, eps, out, stream_); }
  }
  void rope(float* x, int64_t T, int n_heads, int head_dim, const int32_t* positions,
            const float* inv_freq) override;
  void gelu_tanh_mul(const float* gate, const float* up, int64_t n, float* out) override {
    { enqueue(); cuda::gelu_tanh_mul(gate, up, n, out, stream_); }
  }
  void gelu_tanh(float* x, int64_t n) override { { enqueue(); cuda::gelu_tanh_mul(x, nullptr, n, x, stream_); } }
  void softcap(float* x, int64_t n, float cap) override { { enqueue(); cuda::softcap(x, n, cap, stream_); } }

  void add(float* y, const float* x, int64_t n) override { { enqueue(); cuda::binary(cuda::Binary::kAdd, y, x, 1.0f, n, stream_); } }
  void mul(float* y, const float* x, int64_t n) override { { enqueue(); cuda::binary(cuda::Binary::kMul, y, x, 1.0f, n, stream_); } }
  void scale(float* y, float s, int64_t n) override { { enqueue(); cuda::scale(y, s, n, stream_); } }
  void add_scaled(float* y, const float* x, float s, int64_t n) override {
    { enqueue(); cuda::binary(cuda::Binary::kAddScaled, y, x, s, n, stream_); }
  }

  void attention(const ref::AttentionShape& shape, const float* q, const float* K, const float* V,
                 const int32_t* q_pos, const int32_t* k_pos, float* out) override;

 private:
  const DevMatrix& mirror(const Matrix& W);
  // Copies a small host array into device memory, ordered on the stream (see stage()).
  template <typename T>
  const T* stage(const T* host, size_t n) {
    return static_cast<const T*>(stage_bytes(host, n * sizeof(T)));
  }
  const void* stage_bytes(const void* host, size_t bytes);
  // Copies host bytes into the pinned ring; returns the slot's offset (kRingBytes: too big).
  size_t pin(const void* host, size_t bytes);
  cuda::Positions pos_arg(const int32_t* host, int64_t n);
  // Device copy of a small host array that often repeats between calls (RoPE tables, a KV
  // cache's slot positions): keyed by host pointer, validated by content, and refreshed
  // by copying only the changed byte range (so shared-KV layers reuse their donor's copy
  // and a decode step uploads one slot's position).
  const void* mirrored_array(const void* host, size_t bytes);
  struct ArrayMirror {
    std::vector<uint8_t> shadow;
    void* dev = nullptr;
    size_t cap = 0;
  };
  std::unordered_map<const void*, ArrayMirror> arrays_;
  void gemm(const DevMatrix& W, const float* x, int64_t T, float* y);
  void* grow(GrowBuffer& b, size_t n);

  // Decode as CUDA graphs: the ops queued between two host synchronizations (a decode step
  // runs from the first op after the previous logits download to the next download) are
  // recorded by stream capture instead of being launched one by one; at the sync point the
  // recording becomes a graph, which updates the executable graph of the previous step
  // in place (cudaGraphExecUpdate: same topology, new kernel arguments such as positions)
  // or is instantiated anew, and is launched once. Anything that needs the host to wait
  // (weight upload, buffer frees, pageable uploads, ring wrap) or cuBLAS (prefill) first
  // flushes the recording and runs eagerly until the next sync.
  void enqueue() {
    if (graphs_ && !capturing_ && !eager_) {
      EMBER_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeRelaxed));
      capturing_ = true;
    }
  }
  void flush(const char* why);
  void go_eager(const char* why) {
    flush(why);
    eager_ = true;
  }
  bool graphs_ = false, capturing_ = false, eager_ = false;
 public:
  int64_t graph_launches_ = 0, graph_updates_ = 0, graph_instantiations_ = 0;
  std::unordered_map<std::string, int64_t> flush_reasons_;  // why each recording ended
  std::unordered_map<std::string, int64_t> uploads_;        // weight uploads by matrix name
 private:
  cudaGraphExec_t exec_ = nullptr;

  CudaBackendOptions opts_;
  MatmulMode mode_ = MatmulMode::kFast;
  CudaGemmPrecision gemm_precision() const {
    if (opts_.gemm_pinned) return opts_.gemm;
    return mode_ == MatmulMode::kExact ? CudaGemmPrecision::kF32 : CudaGemmPrecision::kBf16;
  }
  std::string desc_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  struct Mirror {
    DevMatrix d;
    std::vector<void*> allocs;
    // What the mirror was made from: a Matrix whose storage was freed and whose address was
    // reused (tests) must not hit a stale mirror. Weights must outlive the backend anyway.
    int64_t rows = 0, cols = 0;
    WeightFormat format{};
    DType dtype{}, scale_dtype{};
    int bits = 0, gs = 0;
    const uint8_t* scales = nullptr;
    uint8_t head[16] = {}, tail[16] = {};
    size_t n_bytes = 0;
  };
  std::unordered_map<const uint8_t*, Mirror> mirrors_;
  // Host-argument staging: a pinned ring and a device ring of the same size; slot i of one
  // is copied to slot i of the other on the stream. When the ring wraps, the host waits for
  // the stream, so no slot is overwritten while a queued copy or kernel may still read it.
  static constexpr size_t kRingBytes = size_t(8) << 20;
  uint8_t* ring_host_ = nullptr;
  uint8_t* ring_dev_ = nullptr;
  size_t ring_pos_ = 0;
  GrowBuffer dq_, xb_, attn_ws_, big_arg_;
};

CudaBackend::CudaBackend(const CudaBackendOptions& o) : graphs_(o.graphs), opts_(o) {
  EMBER_CUDA_CHECK(cudaSetDevice(o.device));
  cudaDeviceProp prop{};
  EMBER_CUDA_CHECK(cudaGetDeviceProperties(&prop, o.device));
  EMBER_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  check_cublas(cublasCreate(&cublas_), "cublasCreate");
  check_cublas(cublasSetStream(cublas_, stream_), "cublasSetStream");
  EMBER_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&ring_host_), kRingBytes, cudaHostAllocDefault));
  EMBER_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&ring_dev_), kRingBytes));
  desc_ = detail::concat("cuda (", prop.name, ", sm_", prop.major, prop.minor, ", ", prop.multiProcessorCount, " SMs");
}

std::string CudaBackend::description() const {
  const CudaGemmPrecision g = gemm_precision();
  const char* prec = g == CudaGemmPrecision::kF32 ? "f32" : g == CudaGemmPrecision::kTf32 ? "tf32" : "bf16";
  return detail::concat(desc_, ", matmul ", mode_ == MatmulMode::kFast ? "fast" : "exact", ", prefill gemm ", prec,
                        graphs_ ? ", decode graphs" : ", no graphs", ")");
}

CudaBackend::~CudaBackend() {
  if (capturing_) {
    cudaGraph_t g = nullptr;
    cudaStreamEndCapture(stream_, &g);
    if (g) cudaGraphDestroy(g);
  }
  if (exec_) cudaGraphExecDestroy(exec_);
  cudaStreamSynchronize(stream_);
  for (auto& [k, a] : arrays_) cudaFree(a.dev);
  for (auto& [k, m] : mirrors_)
    for (void* p : m.allocs) cudaFree(p);
  if (ring_dev_) cudaFree(ring_dev_);
  if (ring_host_) cudaFreeHost(ring_host_);
  if (cublas_) cublasDestroy(cublas_);
  if (stream_) cudaStreamDestroy(stream_);
}

float* CudaBackend::alloc(size_t n) {
  void* p = nullptr;
  const size_t bytes = std::max<size_t>(n * sizeof(float), 256);
  flush("alloc");
  EMBER_CUDA_CHECK(cudaMalloc(&p, bytes));
  EMBER_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_));
  return static_cast<float*>(p);
}

void CudaBackend::free(float* p) {
  if (!p) return;
  synchronize("free");  // queued work may still use it
  EMBER_CUDA_CHECK(cudaFree(p));
}

void CudaBackend::upload(float* dst, const float* src, size_t n) {
  if (n == 0) return;
  // Pageable source: the copy has consumed it when cudaMemcpyAsync returns (not capturable).
  go_eager("upload");
  EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyHostToDevice, stream_));
}

void CudaBackend::download(float* dst, const float* src, size_t n) {
  if (n == 0) return;
  flush("download");
  EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost, stream_));
  synchronize("download");
}

void CudaBackend::copy(float* dst, const float* src, size_t n) {
  if (n == 0 || dst == src) return;
  enqueue();
  EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, stream_));
}

size_t CudaBackend::pin(const void* host, size_t bytes) {
  const size_t need = (bytes + 255) / 256 * 256;
  if (need > kRingBytes) return kRingBytes;
  if (ring_pos_ + need > kRingBytes) {
    synchronize("ring wrap");  // every queued reader of the ring is done
    ring_pos_ = 0;
  }
  const size_t at = ring_pos_;
  std::memcpy(ring_host_ + at, host, bytes);
  ring_pos_ += need;
  return at;
}

const void* CudaBackend::stage_bytes(const void* host, size_t bytes) {
  const size_t at = pin(host, bytes);
  if (at == kRingBytes) {  // rare (huge position arrays): a dedicated buffer, synchronous
    void* p = grow(big_arg_, bytes);
    synchronize("big arg");
    // On our stream: a legacy-stream cudaMemcpy from pageable memory may return before its DMA
    // lands, and our non-blocking stream would not wait for it.
    EMBER_CUDA_CHECK(cudaMemcpyAsync(p, host, bytes, cudaMemcpyHostToDevice, stream_));
    return p;
  }
  enqueue();
  EMBER_CUDA_CHECK(cudaMemcpyAsync(ring_dev_ + at, ring_host_ + at, bytes, cudaMemcpyHostToDevice, stream_));
  return ring_dev_ + at;
}

void CudaBackend::flush(const char* why) {
  if (!capturing_) return;
  capturing_ = false;
  ++flush_reasons_[why];
  cudaGraph_t g = nullptr;
  EMBER_CUDA_CHECK(cudaStreamEndCapture(stream_, &g));
  if (exec_) {
    cudaGraphExecUpdateResultInfo info{};
    if (cudaGraphExecUpdate(exec_, g, &info) != cudaSuccess) {  // other topology: rebuild
      (void)cudaGetLastError();
      ++flush_reasons_[detail::concat("update failed (result ", int(info.result), ")")];
      EMBER_CUDA_CHECK(cudaGraphExecDestroy(exec_));
      exec_ = nullptr;
    }
  }
  if (exec_) {
    ++graph_updates_;
  } else {
    ++graph_instantiations_;
    EMBER_CUDA_CHECK(cudaGraphInstantiate(&exec_, g, 0));
  }
  ++graph_launches_;
  EMBER_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
  EMBER_CUDA_CHECK(cudaGraphDestroy(g));
}

void* CudaBackend::grow(GrowBuffer& b, size_t n) {
  if (n > b.bytes) {
    if (b.p) {
      synchronize("grow");  // queued work may still read the old buffer
      EMBER_CUDA_CHECK(cudaFree(b.p));
      b.p = nullptr, b.bytes = 0;
    }
    flush("grow");
    EMBER_CUDA_CHECK(cudaMalloc(&b.p, n));
    b.bytes = n;
  }
  return b.p;
}

cuda::Positions CudaBackend::pos_arg(const int32_t* host, int64_t n) {
  cuda::Positions p;
  if (n <= cuda::kSmallPos) std::memcpy(p.v, host, size_t(n) * sizeof(int32_t));
  else p.ptr = stage(host, size_t(n));
  return p;
}

const void* CudaBackend::mirrored_array(const void* host, size_t bytes) {
  ArrayMirror& m = arrays_[host];
  const auto* h = static_cast<const uint8_t*>(host);
  size_t lo = 0, hi = bytes;  // byte range to refresh
  if (m.dev && m.shadow.size() == bytes) {
    while (lo < bytes && h[lo] == m.shadow[lo]) ++lo;
    if (lo == bytes) return m.dev;
    while (hi > lo && h[hi - 1] == m.shadow[hi - 1]) --hi;
  }
  if (m.cap < bytes) {
    if (m.dev) {
      synchronize("array realloc");
      EMBER_CUDA_CHECK(cudaFree(m.dev));
    }
    m.cap = std::max<size_t>(bytes * 2, 256);
    EMBER_CUDA_CHECK(cudaMalloc(&m.dev, m.cap));
    lo = 0, hi = bytes;
  }
  uint8_t* dst = static_cast<uint8_t*>(m.dev) + lo;
  const size_t at = pin(h + lo, hi - lo);
  if (at == kRingBytes) {
    synchronize("big array");
    EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, h + lo, hi - lo, cudaMemcpyHostToDevice, stream_));
  } else {
    enqueue();
    EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, ring_host_ + at, hi - lo, cudaMemcpyHostToDevice, stream_));
  }
  m.shadow.assign(h, h + bytes);
  return m.dev;
}

// Uploads W once in its stored format (affine codes + scales/biases, dense elements); other
// formats are dequantized on the host to dense f32 first.
const DevMatrix& CudaBackend::mirror(const Matrix& W) {
  if (!W.data || W.rows <= 0 || W.cols <= 0) fail(ErrorCode::kInvalidArgument, W.name, ": empty matrix");
  const size_t n_bytes = size_t(W.rows) * W.row_bytes;
  const size_t fp = std::min<size_t>(16, n_bytes);
  auto it = mirrors_.find(W.data);
  if (it != mirrors_.end()) {
    const Mirror& m = it->second;
    if (m.rows == W.rows && m.cols == W.cols && m.format == W.format && m.dtype == W.dtype &&
        m.scale_dtype == W.scale_dtype && m.bits == W.bits && m.gs == W.group_size &&
        m.scales == W.scales && m.n_bytes == n_bytes && std::memcmp(m.head, W.data, fp) == 0 &&
        std::memcmp(m.tail, W.data + n_bytes - fp, fp) == 0)
      return m.d;
    synchronize("stale mirror");  // stale (the host storage was reused): drop it
    for (void* p : m.allocs) EMBER_CUDA_CHECK(cudaFree(p));
    mirrors_.erase(it);
  }
  synchronize("mirror upload");  // the uploads below are synchronous copies
  ++uploads_[W.name];
  Mirror mir;
  mir.rows = W.rows, mir.cols = W.cols, mir.format = W.format, mir.bits = W.bits, mir.gs = W.group_size;
  mir.dtype = W.dtype, mir.scale_dtype = W.scale_dtype;
  mir.scales = W.scales, mir.n_bytes = n_bytes;
  std::memcpy(mir.head, W.data, fp);
  std::memcpy(mir.tail, W.data + n_bytes - fp, fp);
  auto put = [&](const void* src, size_t bytes) -> const uint8_t* {
    void* p = nullptr;
    EMBER_CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(bytes, 16)));
    mir.allocs.push_back(p);
    // Ordered on our stream (see stage_bytes); a pageable source is consumed when this returns.
    EMBER_CUDA_CHECK(cudaMemcpyAsync(p, src, bytes, cudaMemcpyHostToDevice, stream_));
    return static_cast<const uint8_t*>(p);
  };
  DevMatrix d;
  d.rows = W.rows, d.cols = W.cols;
  const bool affine_ok = W.format == WeightFormat::kMlxAffine && W.bits >= 2 && W.bits <= 8 && W.group_size > 0 &&
                         W.cols % W.group_size == 0 && W.scales && W.biases &&
                         (W.scale_dtype == DType::BF16 || W.scale_dtype == DType::F16 || W.scale_dtype == DType::F32);
  const bool dense_ok = W.format == WeightFormat::kDense &&
                        (W.dtype == DType::F32 || W.dtype == DType::BF16 || W.dtype == DType::F16);
  if (affine_ok) {
    d.kind = DevMatrix::kAffine;
    d.bits = W.bits, d.group_size = W.group_size, d.scale_dtype = W.scale_dtype;
    d.row_bytes = W.row_bytes;
    d.data = put(W.data, size_t(W.rows) * W.row_bytes);
    const size_t sb = size_t(W.rows) * size_t(W.groups_per_row()) * dtype_size(W.scale_dtype);
    d.scales = put(W.scales, sb);
    d.biases = put(W.biases, sb);
  } else if (dense_ok) {
    d.kind = DevMatrix::kDense;
    d.dtype = W.dtype;
    d.row_bytes = W.row_bytes;
    d.data = put(W.data, size_t(W.rows) * W.row_bytes);
  } else {
    std::vector<float> host(size_t(W.rows) * size_t(W.cols));
    for (int64_t r = 0; r < W.rows; ++r) dequantize_row(W, r, host.data() + size_t(r) * size_t(W.cols));
    d.kind = DevMatrix::kDense;
    d.dtype = DType::F32;
    d.row_bytes = size_t(W.cols) * 4;
    d.data = put(host.data(), host.size() * 4);
  }
  mir.d = d;
  return mirrors_.emplace(W.data, std::move(mir)).first->second.d;
}

void CudaBackend::matmul(const Matrix& W, const float* x, int64_t T, float* y) {
  if (T <= 0 || W.rows <= 0) return;
  const DevMatrix& d = mirror(W);
  if (T <= cuda::kGemvMaxT) {
    enqueue();
    cuda::gemv(d, x, T, y, stream_);
    return;
  }
  go_eager("gemm");  // cuBLAS (prefill) runs outside graphs
  gemm(d, x, T, y);
}

// y[T, rows] = x[T, cols] · Wᵀ through cuBLAS (column-major view: yᵀ = W · xᵀ), dequantizing
// W tile by tile into a workspace of at most ~256 MiB.
void CudaBackend::gemm(const DevMatrix& W, const float* x, int64_t T, float* y) {
  const CudaGemmPrecision prec = gemm_precision();
  const bool bf16 = prec == CudaGemmPrecision::kBf16;
  const size_t es = bf16 ? 2 : 4;
  const bool direct = !bf16 ? (W.kind == DevMatrix::kDense && W.dtype == DType::F32)
                            : (W.kind == DevMatrix::kDense && W.dtype == DType::BF16);
  const int64_t tile_rows =
      direct ? W.rows : std::max<int64_t>(1, std::min<int64_t>(W.rows, (size_t(256) << 20) / (W.cols * es)));
  const __nv_bfloat16* xb = nullptr;
  if (bf16) {
    auto* p = static_cast<__nv_bfloat16*>(grow(xb_, size_t(T * W.cols) * 2));
    cuda::f32_to_bf16(x, T * W.cols, p, stream_);
    xb = p;
  }
  const float one = 1.0f, zero = 0.0f;
  for (int64_t r0 = 0; r0 < W.rows; r0 += tile_rows) {
    const int64_t n = std::min(tile_rows, W.rows - r0);
    const void* A;
    if (direct) {
      A = W.data + size_t(r0) * W.row_bytes;
    } else {
      void* ws = grow(dq_, size_t(n * W.cols) * es);
      cuda::dequant_rows(W, r0, n, bf16 ? nullptr : static_cast<float*>(ws),
                         bf16 ? static_cast<__nv_bfloat16*>(ws) : nullptr, stream_);
      A = ws;
    }
    const int m = int(n), nn = int(T), k = int(W.cols);
    if (bf16) {
      check_cublas(cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, m, nn, k, &one, A, CUDA_R_16BF, k, xb, CUDA_R_16BF,
                                k, &zero, y + r0, CUDA_R_32F, int(W.rows), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                   "cublasGemmEx(bf16)");
    } else {
      const auto compute = prec == CudaGemmPrecision::kTf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
      check_cublas(cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, m, nn, k, &one, A, CUDA_R_32F, k, x, CUDA_R_32F, k,
                                &zero, y + r0, CUDA_R_32F, int(W.rows), compute, CUBLAS_GEMM_DEFAULT),
                   "cublasGemmEx(f32)");
    }
  }
}

void CudaBackend::embedding_rows(const Matrix& E, const int32_t* ids, int64_t T, float* out, float scale) {
  for (int64_t t = 0; t < T; ++t)
    if (ids[t] < 0 || ids[t] >= E.rows)
      fail(ErrorCode::kInvalidArgument, E.name, ": token id ", ids[t], " at position ", t,
           " is outside the embedding table [0, ", E.rows, ")");
  if (T <= 0) return;
  const DevMatrix& d = mirror(E);
  enqueue();
  for (int64_t t0 = 0; t0 < T; t0 += 65535) {  // grid.y limit
    const int64_t n = std::min<int64_t>(65535, T - t0);
    cuda::embedding(d, stage(ids + t0, size_t(n)), n, out + t0 * E.cols, scale, stream_);
  }
}

void CudaBackend::rope(float* x, int64_t T, int n_heads, int head_dim, const int32_t* positions,
                       const float* inv_freq) {
  if (T <= 0) return;
  if (head_dim <= 0 || head_dim % 2) fail(ErrorCode::kInvalidArgument, "rope: head_dim must be positive and even");
  enqueue();
  const auto* f = static_cast<const float*>(mirrored_array(inv_freq, size_t(head_dim / 2) * sizeof(float)));
  for (int64_t t0 = 0; t0 < T; t0 += 65535)  // grid.x limit
    cuda::rope(x + t0 * int64_t(n_heads) * head_dim, std::min<int64_t>(65535, T - t0), n_heads, head_dim,
               pos_arg(positions + t0, std::min<int64_t>(65535, T - t0)), f, stream_);
}

void CudaBackend::attention(const ref::AttentionShape& sh, const float* q, const float* K, const float* V,
                            const int32_t* q_pos, const int32_t* k_pos, float* out) {
  if (sh.n_kv_heads <= 0 || sh.n_heads <= 0 || sh.n_heads % sh.n_kv_heads != 0)
    fail(ErrorCode::kInvalidArgument, "attention: n_heads ", sh.n_heads, " is not a multiple of n_kv_heads ",
         sh.n_kv_heads);
  if (sh.head_dim <= 0 || sh.head_dim > 512)
    fail(ErrorCode::kUnsupported, "attention: head_dim ", sh.head_dim, " is not supported by the CUDA backend (max 512)");
  if (sh.T <= 0) return;
  const int64_t qrow = int64_t(sh.n_heads) * sh.head_dim;
  enqueue();
  if (sh.S <= 0) {  // no keys at all: every query gets 0
    EMBER_CUDA_CHECK(cudaMemsetAsync(out, 0, size_t(sh.T * qrow) * sizeof(float), stream_));
    return;
  }
  const auto* kp = static_cast<const int32_t*>(mirrored_array(k_pos, size_t(sh.S) * sizeof(int32_t)));
  for (int64_t t0 = 0; t0 < sh.T; t0 += 65535) {  // grid.z limit
    ref::AttentionShape part = sh;
    part.T = std::min<int64_t>(65535, sh.T - t0);
    float* ws = static_cast<float*>(grow(attn_ws_, cuda::attention_ws_floats(part) * sizeof(float)));
    cuda::attention(part, q + t0 * qrow, K, V, pos_arg(q_pos + t0, part.T), kp, out + t0 * qrow, ws, stream_);
  }
}

double CudaBackend::time_ms(const std::function<void()>& fn, int reps, bool graph) {
  synchronize("time_ms");
  const bool saved = graphs_;
  graphs_ = false;  // the timed capture below must not nest with the per-step graphs
  fn();  // warm-up: mirrors uploaded, workspaces sized (nothing allocates inside a capture)
  synchronize("time_ms");
  cudaGraph_t g = nullptr;
  cudaGraphExec_t ge = nullptr;
  if (graph) {
    EMBER_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeRelaxed));
    fn();
    EMBER_CUDA_CHECK(cudaStreamEndCapture(stream_, &g));
    EMBER_CUDA_CHECK(cudaGraphInstantiate(&ge, g, 0));
    EMBER_CUDA_CHECK(cudaGraphLaunch(ge, stream_));
    synchronize("time_ms");
  }
  cudaEvent_t a, b;
  EMBER_CUDA_CHECK(cudaEventCreate(&a));
  EMBER_CUDA_CHECK(cudaEventCreate(&b));
  std::vector<float> ms;
  for (int i = 0; i < reps; ++i) {
    EMBER_CUDA_CHECK(cudaEventRecord(a, stream_));
    if (graph) EMBER_CUDA_CHECK(cudaGraphLaunch(ge, stream_));
    else fn();
    EMBER_CUDA_CHECK(cudaEventRecord(b, stream_));
    EMBER_CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0;
    EMBER_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  if (ge) cudaGraphExecDestroy(ge);
  if (g) cudaGraphDestroy(g);
  graphs_ = saved;
  std::sort(ms.begin(), ms.end());
  return ms.empty() ? 0.0 : double(ms[ms.size() / 2]);
}

}  // namespace

double cuda_time_ms(Backend& b, const std::function<void()>& fn, int reps, bool graph) {
  auto* c = dynamic_cast<CudaBackend*>(&b);
  if (!c) fail(ErrorCode::kInvalidArgument, "cuda_time_ms: not a CUDA backend");
  return c->time_ms(fn, reps, graph);
}

CudaBackendOptions parse_cuda_backend_name(std::string_view name) {
  CudaBackendOptions o;
  auto bad = [&] {
    fail(ErrorCode::kInvalidArgument, "unknown CUDA backend '", std::string(name),
         "' (cuda[:f32|:tf32|:bf16][:graph|:nograph])");
  };
  if (name.substr(0, 4) != "cuda") bad();
  std::string_view rest = name.substr(4);
  while (!rest.empty()) {
    if (rest[0] != ':') bad();
    rest.remove_prefix(1);
    const size_t end = std::min(rest.find(':'), rest.size());
    const std::string_view tok = rest.substr(0, end);
    rest.remove_prefix(end);
    if (tok == "f32") o.gemm = CudaGemmPrecision::kF32, o.gemm_pinned = true;
    else if (tok == "tf32") o.gemm = CudaGemmPrecision::kTf32, o.gemm_pinned = true;
    else if (tok == "bf16") o.gemm = CudaGemmPrecision::kBf16, o.gemm_pinned = true;
    else if (tok == "nograph") o.graphs = false;
    else if (tok == "graph") o.graphs = true;
    else bad();
  }
  return o;
}

bool cuda_device_available() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

std::unique_ptr<Backend> make_cuda_backend(const CudaBackendOptions& opts) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n <= 0)
    fail(ErrorCode::kUnsupported, "backend 'cuda': no usable CUDA device (", cudaGetErrorString(e), ")");
  if (opts.device < 0 || opts.device >= n)
    fail(ErrorCode::kInvalidArgument, "backend 'cuda': device ", opts.device, " does not exist (", n, " devices)");
  return std::make_unique<CudaBackend>(opts);
}

void cuda_set_gemv_rows_per_warp(int r) { cuda::set_gemv_rows_per_warp(r); }

std::string cuda_graph_stats(Backend& b) {
  auto* c = dynamic_cast<CudaBackend*>(&b);
  if (!c) return "";
  std::string why;
  for (const auto& [k, n] : c->flush_reasons_) why += detail::concat(" ", k, "=", n);
  std::string up;
  int64_t n_up = 0;
  for (const auto& [k, n] : c->uploads_) {
    n_up += n;
    if (n > 1) up += detail::concat(" ", k, "x", n);
  }
  return detail::concat("graph launches ", c->graph_launches_, ", exec updates ", c->graph_updates_,
                        ", instantiations ", c->graph_instantiations_, "; recordings ended by:", why,
                        "; weight uploads ", n_up, up.empty() ? "" : ", repeated:", up);
}

void cuda_synchronize(Backend& b) {
  if (auto* c = dynamic_cast<CudaBackend*>(&b)) c->synchronize();
}

}  // namespace ember
