// Internal helpers around ember::Error: formatted throws and invariant checks.
#pragma once

#include <sstream>
#include <string>
#include <utility>

#include "ember/error.hpp"

namespace ember {

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

// Throws ember::Error(code, concat(args...)).
template <typename... Args>
[[noreturn]] void fail(ErrorCode code, Args&&... args) {
  throw Error(code, detail::concat(std::forward<Args>(args)...));
}

[[noreturn]] void internal_error(const char* file, int line, const char* what);

}  // namespace ember

// Internal invariant: a failure is a bug in ember, not bad input.
#define EMBER_CHECK(cond)                                                  \
  do {                                                                     \
    if (!(cond)) ::ember::internal_error(__FILE__, __LINE__, #cond);       \
  } while (0)
