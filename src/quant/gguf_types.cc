#include "quant/gguf_types.h"

#include <iterator>

namespace ember::gguf {

namespace {
struct Entry {
  int id;
  GgmlTypeInfo info;
};
// Block geometry per ggml-common.h. Q8_1 is 36 bytes there (two fp16 + 32 int8); the gguf
// Python package's table still says 40 (its old float layout) - files follow ggml.
constexpr Entry kTypes[] = {
    {kF32, {"F32", 1, 4}},
    {kF16, {"F16", 1, 2}},
    {kQ4_0, {"Q4_0", 32, kBlockQ4_0}},
    {kQ4_1, {"Q4_1", 32, kBlockQ4_1}},
    {4, {"Q4_2", 0, 0, true}},
    {5, {"Q4_3", 0, 0, true}},
    {kQ5_0, {"Q5_0", 32, kBlockQ5_0}},
    {kQ5_1, {"Q5_1", 32, kBlockQ5_1}},
    {kQ8_0, {"Q8_0", 32, kBlockQ8_0}},
    {kQ8_1, {"Q8_1", 32, 36}},
    {kQ2_K, {"Q2_K", 256, kBlockQ2_K}},
    {kQ3_K, {"Q3_K", 256, kBlockQ3_K}},
    {kQ4_K, {"Q4_K", 256, kBlockQ4_K}},
    {kQ5_K, {"Q5_K", 256, kBlockQ5_K}},
    {kQ6_K, {"Q6_K", 256, kBlockQ6_K}},
    {kQ8_K, {"Q8_K", 256, kBlockQ8_K}},
    {kIQ2_XXS, {"IQ2_XXS", 256, 2 + 64}},
    {kIQ2_XS, {"IQ2_XS", 256, 2 + 64 + 8}},
    {kIQ3_XXS, {"IQ3_XXS", 256, 2 + 64 + 32}},
    {kIQ1_S, {"IQ1_S", 256, 2 + 32 + 16}},
    {kIQ4_NL, {"IQ4_NL", 32, 2 + 16}},
    {kIQ3_S, {"IQ3_S", 256, 2 + 64 + 32 + 8 + 4}},
    {kIQ2_S, {"IQ2_S", 256, 2 + 64 + 16}},
    {kIQ4_XS, {"IQ4_XS", 256, 2 + 2 + 128 + 4}},
    {kI8, {"I8", 1, 1}},
    {kI16, {"I16", 1, 2}},
    {kI32, {"I32", 1, 4}},
    {kI64, {"I64", 1, 8}},
    {kF64, {"F64", 1, 8}},
    {kIQ1_M, {"IQ1_M", 256, 32 + 16 + 8}},
    {kBF16, {"BF16", 1, 2}},
    {31, {"Q4_0_4_4", 0, 0, true}},
    {32, {"Q4_0_4_8", 0, 0, true}},
    {33, {"Q4_0_8_8", 0, 0, true}},
    {kTQ1_0, {"TQ1_0", 256, 2 + 4 * 13}},
    {kTQ2_0, {"TQ2_0", 256, 2 + 64}},
    {36, {"IQ4_NL_4_4", 0, 0, true}},
    {37, {"IQ4_NL_4_8", 0, 0, true}},
    {38, {"IQ4_NL_8_8", 0, 0, true}},
    {kMXFP4, {"MXFP4", 32, 1 + 16}},
    {kNVFP4, {"NVFP4", 64, 4 + 32}},
    {kQ1_0, {"Q1_0", 128, 2 + 16}},
};
}  // namespace

GgmlTypeInfo ggml_type_info(int t) {
  for (const auto& e : kTypes)
    if (e.id == t) return e.info;
  return {};
}

std::string ggml_type_name(int t) {
  GgmlTypeInfo info = ggml_type_info(t);
  if (!info.name) return "unknown type " + std::to_string(t);
  if (info.removed) return std::string("removed type ") + info.name + " (" + std::to_string(t) + ")";
  return info.name;
}

int ggml_type_from_name(const std::string& name) {
  for (const auto& e : kTypes)
    if (!e.info.removed && name == e.info.name) return e.id;
  return -1;
}

}  // namespace ember::gguf
