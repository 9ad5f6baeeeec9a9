// Picks the architecture a checkpoint declares. Adding an architecture: its own file plus
// one line here.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "io/gguf.h"
#include "models/language_model.h"

namespace ember {

std::unique_ptr<LanguageModel> make_gemma4(const std::string& dir, const ModelLoadOptions& opts);
std::unique_ptr<LanguageModel> make_gemma3_hf(const std::string& dir, const ModelLoadOptions& opts);
std::unique_ptr<LanguageModel> make_gemma3_gguf(std::unique_ptr<GgufFile> file, const ModelLoadOptions& opts);
std::unique_ptr<LanguageModel> make_gemma4_gguf(std::unique_ptr<GgufFile> file, const ModelLoadOptions& opts);

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string config_model_type(const std::string& dir) {
  const std::string path = dir + "/config.json";
  std::ifstream in(path);
  if (!in) fail(ErrorCode::kNotFound, dir, ": not a model directory (no config.json)");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) fail(ErrorCode::kInvalidCheckpoint, path, ": not a JSON object");
  if (!j.contains("model_type") || !j["model_type"].is_string())
    fail(ErrorCode::kInvalidCheckpoint, path, ": missing string field \"model_type\"");
  return j["model_type"].get<std::string>();
}

}  // namespace

std::unique_ptr<LanguageModel> load_language_model(const std::string& path, const ModelLoadOptions& opts) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ErrorCode::kNotFound, path, ": no such file or directory");
  if (fs::is_regular_file(path, ec)) {
    if (!ends_with(path, ".gguf")) fail(ErrorCode::kInvalidArgument, path, ": expected a model directory or a .gguf file");
    auto f = GgufFile::open(path);
    std::string arch = f->get_string("general.architecture");
    if (arch == "gemma3") return make_gemma3_gguf(std::move(f), opts);
    if (arch == "gemma4") return make_gemma4_gguf(std::move(f), opts);
    fail(ErrorCode::kUnsupported, path, ": GGUF architecture \"", arch,
         "\" is not supported (supported: gemma3, gemma4)");
  }
  const std::string type = config_model_type(path);
  if (type == "gemma4" || type == "gemma4_text") return make_gemma4(path, opts);
  if (type == "gemma3" || type == "gemma3_text") return make_gemma3_hf(path, opts);
  fail(ErrorCode::kUnsupported, path, "/config.json: model_type \"", type,
       "\" is not supported (supported: gemma4, gemma4_text, gemma3, gemma3_text)");
}

}  // namespace ember
