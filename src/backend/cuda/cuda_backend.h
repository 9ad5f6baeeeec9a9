// The CUDA implementation of Backend (issue #8). Activations live in device memory (f32);
// weights are mirrored to the device once, in their stored format, on first use of a Matrix
// (cache keyed by its data pointer, so a Matrix's storage must outlive the backend, as the
// mapped checkpoint of a model does). All work is queued on one stream, in call order; the
// host waits only in download(), free(), first-use weight uploads and when the small-argument
// staging ring wraps, so a call's output is visible to every later call, as the interface
// requires. Not thread-safe: one backend serves one thread.
//
// Precision of large-T matmuls (prefill, T > kGemvMaxT): dequantize + cuBLAS GEMM in
//   f32   exact reference numerics, slower      (MatmulMode::kExact, or "cuda:f32"),
//   tf32  f32 storage, TF32 tensor cores        ("cuda:tf32"),
//   bf16  bf16 weights and activations, f32 accumulation, fastest
//         (MatmulMode::kFast, the default, or "cuda:bf16").
// A precision in the name pins it; otherwise it follows set_matmul_mode(). T <= kGemvMaxT
// (decode) always runs the f32-accumulating GEMV kernels on stored weights (exact).
//
// This header has no CUDA types so that host-only code (make_backend, tools) can include it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "backend/backend.h"

namespace ember {

enum class CudaGemmPrecision { kF32, kTf32, kBf16 };

struct CudaBackendOptions {
  int device = 0;
  CudaGemmPrecision gemm = CudaGemmPrecision::kBf16;
  bool gemm_pinned = false;  // a precision was named: ignore the matmul mode
  // Record each decode step as one CUDA graph (":graph"). Off by default: on the H200 it was
  // slower (decode is GPU-bound and most steps needed a re-instantiation, see
  // docs/benchmarks-cuda.md).
  bool graphs = false;
};

// Parses "cuda" followed by any of ":f32" ":tf32" ":bf16" ":graph" ":nograph" (ember::Error
// otherwise).
CudaBackendOptions parse_cuda_backend_name(std::string_view name);

// Throws ember::Error kUnsupported when no CUDA device is usable.
std::unique_ptr<Backend> make_cuda_backend(const CudaBackendOptions& opts);

// True when the build has CUDA and a device is present (tests skip otherwise).
bool cuda_device_available();

// Waits for all queued work of a CUDA backend (benchmarks); no-op for other backends.
void cuda_synchronize(Backend& b);

// Benchmark helper: device milliseconds per call of fn (which must only queue backend ops),
// median of `reps` timed calls after one warm-up call. With graph = true fn is captured
// once into a CUDA graph and the graph is replayed, which removes host launch gaps.
double cuda_time_ms(Backend& b, const std::function<void()>& fn, int reps, bool graph);

// Benchmarks: "graph launches N, exec updates N, instantiations N" ("" for other backends).
std::string cuda_graph_stats(Backend& b);

// Benchmarks: force the T = 1 GEMV's rows per warp (1, 2, 4; 0 = the heuristic).
void cuda_set_gemv_rows_per_warp(int r);

}  // namespace ember
