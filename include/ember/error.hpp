// ember — public error type.
//
// Every failure caused by input (a file, a config, a template, a request, an argument) is
// reported as an ember::Error carrying a category and a message that names what was wrong
// and where. The library never aborts on bad input; asserts guard internal invariants only.
#pragma once

#include <stdexcept>
#include <string>

namespace ember {

enum class ErrorCode {
  kInvalidArgument = 1,  // a caller passed something unusable
  kNotFound,             // a file, tensor or key that must exist does not
  kIo,                   // reading or mapping a file failed
  kCorruptFile,          // a file's bytes contradict its own format
  kInvalidCheckpoint,    // a well-formed file that does not fit the architecture
  kUnsupported,          // recognized but not implemented (a quant mode, a tokenizer type)
  kTemplate,             // chat template syntax or runtime error
  kInternal,             // a bug in ember
  kResourceExhausted,    // a configured limit would be exceeded (e.g. ModelOptions::kv_memory_limit)
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace ember
