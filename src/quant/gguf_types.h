// ggml tensor types as GGUF files store them: ids, names and block geometry.
//
// Every ggml type is a sequence of fixed-size blocks, each holding `block_size` elements in
// `type_size` bytes (plain types are blocks of one element). The table covers every id the
// `gguf` Python package (0.19) knows, so a file with any of them parses; which types can be
// dequantized is a separate question (gguf_quants.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ember::gguf {

// ggml type ids (ggml.h `enum ggml_type`); ids 4, 5 and 31-33, 36-38 were removed upstream.
enum GgmlType : int {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
  kNVFP4 = 40,
  kQ1_0 = 41,
};

inline constexpr int kQK = 32;     // elements per block of the 32-element formats
inline constexpr int kQK_K = 256;  // elements per super-block of the k-quants

struct GgmlTypeInfo {
  const char* name = nullptr;  // "Q4_K"; nullptr for an unknown id
  int block_size = 0;          // elements per block
  int type_size = 0;           // bytes per block
  bool removed = false;        // an id ggml no longer accepts (old Q4_2, Q4_0_4_4, ...)
};

// Geometry of type `t`; `.name == nullptr` when the id is unknown.
GgmlTypeInfo ggml_type_info(int t);
// "Q4_K", or "unknown type 99" / "removed type Q4_2 (4)".
std::string ggml_type_name(int t);
// Type id for a name ("Q4_K"), or -1.
int ggml_type_from_name(const std::string& name);

// Byte sizes of the block layouts (ggml-common.h), checked by static_asserts in gguf_quants.cc.
inline constexpr size_t kBlockQ4_0 = 2 + 16;
inline constexpr size_t kBlockQ4_1 = 2 + 2 + 16;
inline constexpr size_t kBlockQ5_0 = 2 + 4 + 16;
inline constexpr size_t kBlockQ5_1 = 2 + 2 + 4 + 16;
inline constexpr size_t kBlockQ8_0 = 2 + 32;
inline constexpr size_t kBlockQ2_K = 16 + 64 + 2 + 2;
inline constexpr size_t kBlockQ3_K = 32 + 64 + 12 + 2;
inline constexpr size_t kBlockQ4_K = 2 + 2 + 12 + 128;
inline constexpr size_t kBlockQ5_K = 2 + 2 + 12 + 32 + 128;
inline constexpr size_t kBlockQ6_K = 128 + 64 + 16 + 2;
inline constexpr size_t kBlockQ8_K = 4 + 256 + 32;

}  // namespace ember::gguf
