// CPU feature checks that __builtin_cpu_supports does not cover on every compiler
// (clang 14 has no "f16c").
#pragma once

#include <cpuid.h>

namespace ember {

// F16C: CPUID leaf 1, ECX bit 29.
inline bool cpu_has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  return (c >> 29) & 1u;
}

}  // namespace ember
