#include <gtest/gtest.h>

#include <cmath>

#include "core/dtype.h"
#include "ember/error.hpp"

namespace ember {

TEST(DType, NamesRoundTrip) {
  for (auto t : {DType::F32, DType::F16, DType::BF16, DType::U32, DType::U8, DType::I8, DType::I32, DType::I64,
                 DType::F8_E4M3, DType::F8_E5M2}) {
    auto back = dtype_from_name(dtype_name(t));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, t);
  }
  EXPECT_FALSE(dtype_from_name("F12").has_value());
}

TEST(DType, HalfConversionsExactOnRepresentableValues) {
  for (float v : {0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.960464477539063e-08f}) {
    EXPECT_EQ(f16_to_f32(f32_to_f16(v)), v) << v;
  }
  for (float v : {0.0f, 1.0f, -2.5f, 39.25f, 3.3895313892515355e38f}) EXPECT_EQ(bf16_to_f32(f32_to_bf16(v)), v) << v;
  // bf16 rounding of sqrt(1536) is 39.25 (the embedding scale of E2B).
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(std::sqrt(1536.0f))), 39.25f);
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(std::sqrt(2560.0f))), 50.5f);
}

TEST(DType, Fp8) {
  EXPECT_EQ(fp8_e4m3_to_f32(0x38), 1.0f);   // exp 7, man 0
  EXPECT_EQ(fp8_e4m3_to_f32(0x7e), 448.0f); // max finite
  EXPECT_TRUE(std::isnan(fp8_e4m3_to_f32(0x7f)));
  EXPECT_EQ(fp8_e5m2_to_f32(0x3c), 1.0f);
}

}  // namespace ember
