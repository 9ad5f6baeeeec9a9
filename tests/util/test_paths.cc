#include "util/test_paths.h"

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace ember::testing {

std::string make_temp_dir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  return std::string(buf.data());
}

}  // namespace ember::testing
