// Helpers shared by the ops_*_test.cc files: random data, owned test matrices in every
// stored format, tolerance checks, ISA sweeps.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/isa.h"
#include "core/dtype.h"
#include "core/weights.h"
#include "quant/mlx_formats.h"

namespace ember::testing {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// A Matrix plus the storage it points into. `pad` shifts data/scales by a few bytes so the
// kernels see pointers that are not vector-aligned.
struct OwnedMatrix {
  std::vector<uint8_t> data, scales, biases;
  Matrix m;
};

inline void store_as(DType t, float v, uint8_t* dst) {
  if (t == DType::F32) std::memcpy(dst, &v, 4);
  uint16_t h = t == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
  if (t != DType::F32) std::memcpy(dst, &h, 2);
}

// Dense [rows, cols] of dtype t from f32 values (rounded to t).
inline OwnedMatrix make_dense(const std::vector<float>& w, int64_t rows, int64_t cols, DType t,
                              size_t pad = 0) {
  OwnedMatrix o;
  const size_t es = dtype_size(t);
  o.data.assign(pad + size_t(rows * cols) * es, 0);
  for (int64_t i = 0; i < rows * cols; ++i) store_as(t, w[size_t(i)], o.data.data() + pad + size_t(i) * es);
  o.m.name = "test.dense";
  o.m.format = WeightFormat::kDense;
  o.m.dtype = t;
  o.m.rows = rows, o.m.cols = cols;
  o.m.data = o.data.data() + pad;
  o.m.row_bytes = size_t(cols) * es;
  return o;
}

// MLX affine [rows, cols] quantized with mlx_affine_quantize; scales/biases stored as `st`.
inline OwnedMatrix make_affine(const std::vector<float>& w, int64_t rows, int64_t cols, int bits, int gs,
                               DType st, size_t pad = 0) {
  AffineQuantized q = mlx_affine_quantize(w.data(), rows, cols, bits, gs);
  OwnedMatrix o;
  o.data.assign(pad + q.packed.size(), 0);
  std::memcpy(o.data.data() + pad, q.packed.data(), q.packed.size());
  const size_t ss = dtype_size(st);
  o.scales.assign(pad + q.scales.size() * ss, 0);
  o.biases.assign(pad + q.biases.size() * ss, 0);
  for (size_t i = 0; i < q.scales.size(); ++i) {
    store_as(st, q.scales[i], o.scales.data() + pad + i * ss);
    store_as(st, q.biases[i], o.biases.data() + pad + i * ss);
  }
  o.m.name = "test.affine";
  o.m.format = WeightFormat::kMlxAffine;
  o.m.dtype = st;
  o.m.scale_dtype = st;
  o.m.rows = rows, o.m.cols = cols;
  o.m.bits = bits, o.m.group_size = gs;
  o.m.data = o.data.data() + pad;
  o.m.row_bytes = size_t(cols * bits / 8);
  o.m.scales = o.scales.data() + pad;
  o.m.biases = o.biases.data() + pad;
  return o;
}

// |got - want| <= atol + rtol·|want| for every element; reports the first few failures.
inline void expect_close(const float* got, const float* want, size_t n, double atol, double rtol,
                         const std::string& what) {
  int bad = 0;
  double worst = 0.0;
  for (size_t i = 0; i < n; ++i) {
    double err = std::fabs(double(got[i]) - double(want[i]));
    double tol = atol + rtol * std::fabs(double(want[i]));
    worst = std::max(worst, err / tol);
    if (!(err <= tol) && bad++ < 5)
      ADD_FAILURE() << what << ": element " << i << " got " << got[i] << " want " << want[i] << " (tol "
                    << tol << ")";
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << n << " elements out of tolerance; worst err/tol "
                    << worst;
}

// Every ISA level this CPU supports, scalar first.
inline std::vector<cpu::Isa> supported_isas() {
  std::vector<cpu::Isa> v;
  for (int i = 0; i <= int(cpu::detected_isa()); ++i) v.push_back(cpu::Isa(i));
  return v;
}

// Forces an ISA level for the lifetime of the object, then restores the previous one.
class ScopedIsa {
 public:
  explicit ScopedIsa(cpu::Isa isa) : prev_(cpu::active_isa()) { cpu::force_isa(isa); }
  ~ScopedIsa() { cpu::force_isa(prev_); }

 private:
  cpu::Isa prev_;
};

}  // namespace ember::testing
