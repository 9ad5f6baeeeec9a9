// libFuzzer target: GGUF parsing from a buffer, then every accessor a loader would use on
// whatever parsed (metadata dump, tokenizer extraction, Matrix views, row dequantization
// and dot products). Only ember::Error may escape the library.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ember/error.hpp"
#include "io/gguf.h"
#include "quant/gguf_quants.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<ember::GgufFile> f;
  try {
    f = ember::GgufFile::parse(data, size, "fuzz.gguf");
  } catch (const ember::Error&) {
    return 0;
  }
  for (const auto& kv : f->metadata()) (void)kv.second.to_string();
  try {
    (void)ember::gguf_tokenizer_data(*f);
  } catch (const ember::Error&) {
  }
  for (const auto& t : f->tensors()) {
    try {
      ember::Matrix m = f->matrix(t);
      if (m.rows == 0 || m.cols == 0 || m.cols > (1 << 20)) continue;
      std::vector<float> row(size_t(m.cols)), x(size_t(m.cols), 0.5f);
      ember::dequantize_row(m, m.rows - 1, row.data());
      (void)ember::gguf::gguf_dot_row(m, 0, x.data());
      std::vector<float> y(size_t(m.rows > 64 ? 64 : m.rows));
      m.rows = int64_t(y.size());
      ember::gguf::gguf_matvec(m, x.data(), y.data());
    } catch (const ember::Error&) {
    }
  }
  return 0;
}
