// Paths shared by tests and tools.
#pragma once

#include <string>

namespace ember::testing {

// A fresh, empty temporary directory for one test (removed by the caller or left in /tmp).
std::string make_temp_dir(const std::string& prefix);

}  // namespace ember::testing
