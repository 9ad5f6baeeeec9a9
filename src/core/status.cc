#include "core/status.h"

namespace ember {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kIo: return "I/O error";
    case ErrorCode::kCorruptFile: return "corrupt file";
    case ErrorCode::kInvalidCheckpoint: return "invalid checkpoint";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kTemplate: return "template error";
    case ErrorCode::kInternal: return "internal error";
    case ErrorCode::kResourceExhausted: return "resource limit";
  }
  return "error";
}

void internal_error(const char* file, int line, const char* what) {
  fail(ErrorCode::kInternal, "internal check failed at ", file, ":", line, ": ", what);
}

}  // namespace ember
