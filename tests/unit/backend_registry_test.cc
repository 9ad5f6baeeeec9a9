// make_backend name handling, in every build: "cuda" is a clear ember::Error in a build
// without CUDA (and on a machine without a GPU); backend-name options parse strictly.
#include <gtest/gtest.h>

#include <string>

#include "backend/backend.h"
#include "ember/error.hpp"
#ifdef EMBER_HAVE_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

namespace ember {
namespace {

TEST(BackendRegistry, CudaNameIsAClearErrorWhenUnavailable) {
#ifdef EMBER_HAVE_CUDA
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
#endif
  try {
    make_backend("cuda");
    FAIL() << "make_backend(\"cuda\") should have thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
#ifndef EMBER_HAVE_CUDA
    EXPECT_NE(std::string(e.what()).find("without CUDA"), std::string::npos) << e.what();
#endif
  }
}

TEST(BackendRegistry, UnknownNamesAreInvalidArguments) {
  for (const char* n : {"tpu", "cudax", "CUDA", ""}) {
    try {
      make_backend(n);
      FAIL() << n;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << n;
    }
  }
}

#ifdef EMBER_HAVE_CUDA
TEST(BackendRegistry, CudaOptionsParse) {
  EXPECT_FALSE(parse_cuda_backend_name("cuda").gemm_pinned);  // follows the matmul mode
  EXPECT_FALSE(parse_cuda_backend_name("cuda").graphs);
  EXPECT_EQ(parse_cuda_backend_name("cuda:f32").gemm, CudaGemmPrecision::kF32);
  EXPECT_TRUE(parse_cuda_backend_name("cuda:f32").gemm_pinned);
  EXPECT_EQ(parse_cuda_backend_name("cuda:bf16").gemm, CudaGemmPrecision::kBf16);
  EXPECT_EQ(parse_cuda_backend_name("cuda:tf32:graph").gemm, CudaGemmPrecision::kTf32);
  EXPECT_TRUE(parse_cuda_backend_name("cuda:tf32:graph").graphs);
  EXPECT_FALSE(parse_cuda_backend_name("cuda:graph:nograph").graphs);
  for (const char* bad : {"cuda:", "cuda:fp64", "cuda::bf16", "cudagraph", "cuda:bf16:"})
    EXPECT_THROW(parse_cuda_backend_name(bad), Error) << bad;
}
#endif

}  // namespace
}  // namespace ember
