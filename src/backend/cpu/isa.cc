#include "backend/cpu/isa.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <atomic>
#include <cstdlib>
#include <string>

#include "core/status.h"

namespace ember::cpu {

namespace {

// CPU features from CPUID plus the OS's XSAVE state (XCR0): AVX needs the YMM state enabled,
// AVX-512 also the opmask/ZMM states. (Direct CPUID, because compilers disagree on which
// feature names __builtin_cpu_supports accepts.)
struct Features {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512 = false;  // F + BW + VL + DQ
  bool vnni = false, bf16 = false;
};

Features read_features() {
  Features f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28);
  f.fma = c & (1u << 12);
  f.f16c = c & (1u << 29);
  if (!osxsave || !avx) return f;
  unsigned xlo, xhi;
  __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  const bool ymm_state = (xlo & 0x6u) == 0x6u, zmm_state = (xlo & 0xE6u) == 0xE6u;
  if (!ymm_state) return f;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = b & (1u << 5);
  f.avx512 = zmm_state && (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) && (b & (1u << 31));
  f.vnni = f.avx512 && (c & (1u << 11));
  if (f.avx512 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) f.bf16 = a & (1u << 5);
#endif
  return f;
}

const Features& features() {
  static const Features f = read_features();
  return f;
}

Isa detect() {
  const Features& f = features();
  if (f.avx512 && f.avx2 && f.fma && f.f16c) return Isa::kAvx512;
  if (f.avx2 && f.fma && f.f16c) return Isa::kAvx2;
  return Isa::kScalar;
}

Isa initial() {
  const Isa best = detect();
  const char* env = std::getenv("EMBER_ISA");
  if (!env || !*env) return best;
  Isa want = parse_isa(env);
  if (int(want) > int(best))
    fail(ErrorCode::kInvalidArgument, "EMBER_ISA=", env, " but this CPU supports at most ", isa_name(best));
  return want;
}

std::atomic<int>& active_slot() {
  static std::atomic<int> slot{int(initial())};
  return slot;
}
}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "?";
}

Isa parse_isa(std::string_view name) {
  if (name == "scalar") return Isa::kScalar;
  if (name == "avx2") return Isa::kAvx2;
  if (name == "avx512") return Isa::kAvx512;
  fail(ErrorCode::kInvalidArgument, "unknown ISA level '", std::string(name),
       "' (expected scalar, avx2 or avx512)");
}

Isa detected_isa() {
  static const Isa best = detect();
  return best;
}

Isa active_isa() { return Isa(active_slot().load(std::memory_order_relaxed)); }

void force_isa(Isa isa) {
  if (int(isa) > int(detected_isa()))
    fail(ErrorCode::kInvalidArgument, "ISA ", isa_name(isa), " requested but this CPU supports at most ",
         isa_name(detected_isa()));
  active_slot().store(int(isa), std::memory_order_relaxed);
}

bool cpu_has_avx512_vnni() { return features().vnni; }
bool cpu_has_avx512_bf16() { return features().bf16; }

}  // namespace ember::cpu
