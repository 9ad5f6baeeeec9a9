#include "core/dtype.h"

#include <cmath>

#include "core/status.h"

namespace ember {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F64: case DType::I64: case DType::U64: return 8;
    case DType::F32: case DType::U32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: case DType::U16: return 2;
    case DType::U8: case DType::I8: case DType::F8_E4M3: case DType::F8_E5M2: case DType::BOOL: return 1;
  }
  return 0;
}

namespace {
struct NameEntry { DType t; std::string_view name; };
constexpr NameEntry kNames[] = {
    {DType::F32, "F32"}, {DType::F16, "F16"}, {DType::BF16, "BF16"}, {DType::U32, "U32"},
    {DType::U8, "U8"}, {DType::I8, "I8"}, {DType::I32, "I32"}, {DType::I64, "I64"},
    {DType::F8_E4M3, "F8_E4M3"}, {DType::F8_E5M2, "F8_E5M2"}, {DType::F64, "F64"},
    {DType::BOOL, "BOOL"}, {DType::I16, "I16"}, {DType::U16, "U16"}, {DType::U64, "U64"},
};
}  // namespace

std::string_view dtype_name(DType t) {
  for (const auto& e : kNames) if (e.t == t) return e.name;
  return "?";
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& e : kNames) if (e.name == name) return e.t;
  return std::nullopt;
}

bool dtype_is_float(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64 ||
         t == DType::F8_E4M3 || t == DType::F8_E5M2;
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  uint32_t u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: renormalize
      exp = 127 - 15 + 1;
      while (!(man & 0x400)) { man <<= 1; --exp; }
      man &= 0x3ff;
      u = sign | (exp << 23) | (man << 13);
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (man << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000;
  int32_t exp = int32_t((u >> 23) & 0xff) - 127 + 15;
  uint32_t man = u & 0x7fffff;
  if (((u >> 23) & 0xff) == 0xff) return uint16_t(sign | 0x7c00 | (man ? 0x200 : 0));
  if (exp >= 31) return uint16_t(sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10) return uint16_t(sign);
    man |= 0x800000;
    uint32_t shift = uint32_t(14 - exp);
    uint32_t half = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return uint16_t(sign | half);
  }
  uint32_t half = sign | (uint32_t(exp) << 10) | (man >> 13);
  uint32_t rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;
  return uint16_t(half);
}

float fp8_e4m3_to_f32(uint8_t v) {
  // E4M3 "fn" variant: bias 7, no infinities, 0x7f/0xff are NaN.
  uint32_t sign = v >> 7, exp = (v >> 3) & 0xf, man = v & 7;
  float r;
  if (exp == 0xf && man == 7) return NAN;
  if (exp == 0) r = std::ldexp(float(man) / 8.0f, -6);
  else r = std::ldexp(1.0f + float(man) / 8.0f, int(exp) - 7);
  return sign ? -r : r;
}

float fp8_e5m2_to_f32(uint8_t v) { return f16_to_f32(uint16_t(v) << 8); }

float load_as_f32(DType t, const void* base, size_t i) {
  switch (t) {
    case DType::F32: { float f; std::memcpy(&f, static_cast<const char*>(base) + 4 * i, 4); return f; }
    case DType::F16: { uint16_t h; std::memcpy(&h, static_cast<const char*>(base) + 2 * i, 2); return f16_to_f32(h); }
    case DType::BF16: { uint16_t h; std::memcpy(&h, static_cast<const char*>(base) + 2 * i, 2); return bf16_to_f32(h); }
    case DType::F64: { double d; std::memcpy(&d, static_cast<const char*>(base) + 8 * i, 8); return float(d); }
    case DType::F8_E4M3: return fp8_e4m3_to_f32(static_cast<const uint8_t*>(base)[i]);
    case DType::F8_E5M2: return fp8_e5m2_to_f32(static_cast<const uint8_t*>(base)[i]);
    default: break;
  }
  fail(ErrorCode::kInternal, "load_as_f32 on non-float dtype ", dtype_name(t));
}

}  // namespace ember
