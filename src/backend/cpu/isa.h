// Runtime instruction-set dispatch for the CPU kernels.
//
// The active level is the best one the CPU supports, unless lowered by the environment
// variable EMBER_ISA=scalar|avx2|avx512 (read once, at first use) or by force_isa() (tests,
// benchmarks). Asking for a level above what the CPU supports is an error, never a crash.
#pragma once

#include <string_view>

namespace ember::cpu {

enum class Isa : int {
  kScalar = 0,  // reference ops only
  kAvx2 = 1,    // AVX2 + FMA + F16C
  kAvx512 = 2,  // AVX-512 F/BW/VL/DQ (+ VNNI, BF16 when present)
};

const char* isa_name(Isa isa);
// Parses "scalar", "avx2", "avx512"; ember::Error kInvalidArgument otherwise.
Isa parse_isa(std::string_view name);
// Best level this CPU (and OS, via XCR0) supports.
Isa detected_isa();
// The level the kernels use now.
Isa active_isa();
// Sets the level for all later calls; kInvalidArgument if the CPU lacks it.
void force_isa(Isa isa);

// Optional extensions on top of kAvx512 (informational; for benchmarks / descriptions).
bool cpu_has_avx512_vnni();
bool cpu_has_avx512_bf16();

}  // namespace ember::cpu
