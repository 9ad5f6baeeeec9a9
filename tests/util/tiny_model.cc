#include "util/tiny_model.h"

#include <filesystem>
#include <map>
#include <mutex>

#include "util/test_paths.h"

namespace ember::testing {

std::string tiny_model_dir(const std::string& fixture) {
  static std::mutex mu;
  static std::map<std::string, std::string> made;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = made.find(fixture); it != made.end()) return it->second;
  namespace fs = std::filesystem;
  const fs::path src = fs::path(EMBER_FIXTURES_DIR) / fixture;
  const fs::path tok = fs::path(EMBER_FIXTURES_DIR) / ".." / "tiny_tokenizer";
  const std::string dir = make_temp_dir("ember-tiny");
  for (const auto& e : fs::directory_iterator(src)) fs::create_symlink(e.path(), fs::path(dir) / e.path().filename());
  for (const auto& e : fs::directory_iterator(tok)) fs::create_symlink(e.path(), fs::path(dir) / e.path().filename());
  made[fixture] = dir;
  return dir;
}

}  // namespace ember::testing
