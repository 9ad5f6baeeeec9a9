#include "backend/cpu/isa.h"

#include <atomic>
#include <cstdlib>
#include <string>

#include "core/cpu_features.h"
#include "core/status.h"

namespace ember::cpu {

namespace {

Isa detect() {
  // __builtin_cpu_supports consults CPUID and the OS's XSAVE state (AVX-512 needs both).
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("fma"))
    return Isa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c())
    return Isa::kAvx2;
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
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

Isa parse_isa(std::string_view name) {
  if (name == "scalar") return Isa::kScalar;
  if (name == "avx2") return Isa::kAvx2;
  if (name == "avx512") return Isa::kAvx512;
  fail(ErrorCode::kInvalidArgument, "unknown ISA level '", std::string(name), "' (expected scalar, avx2 or avx512)");
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

bool cpu_has_avx512_vnni() { return __builtin_cpu_supports("avx512vnni"); }
bool cpu_has_avx512_bf16() { return __builtin_cpu_supports("avx512bf16"); }

}  // namespace ember::cpu
