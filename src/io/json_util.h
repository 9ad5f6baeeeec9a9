// Typed access to untrusted JSON (config.json & co.) that reports every problem as an
// ember::Error naming the file and the full key path ("config.json: text_config.head_dim:
// expected an integer, got \"x\""). nlohmann exceptions never escape.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ember/error.hpp"

namespace ember {

// Parses JSON text; a syntax error is kCorruptFile with line:column.
nlohmann::json parse_json_text(std::string_view text, const std::string& source);
// Reads and parses a JSON file (kNotFound if absent).
nlohmann::json read_json_file(const std::string& path);

class JsonObj {
 public:
  // `j` must outlive this view. `path` is the key path of `j` ("" at the root).
  JsonObj(const nlohmann::json& j, std::string source, std::string path = "",
          ErrorCode code = ErrorCode::kInvalidCheckpoint);

  const nlohmann::json& raw() const { return j_; }
  const std::string& source() const { return source_; }
  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  bool has(const std::string& key) const;  // present and not null

  int64_t get_int(const std::string& key, int64_t def) const;
  int64_t req_int(const std::string& key) const;
  std::optional<int64_t> opt_int(const std::string& key) const;  // absent or null -> nullopt
  double get_num(const std::string& key, double def) const;
  std::optional<double> opt_num(const std::string& key) const;
  bool get_bool(const std::string& key, bool def) const;
  std::string get_str(const std::string& key, const std::string& def) const;
  std::optional<std::string> opt_str(const std::string& key) const;
  // An integer or a list of integers (e.g. eos_token_id); absent or null -> empty.
  std::vector<int64_t> int_or_list(const std::string& key) const;
  std::vector<int64_t> int_list(const std::string& key) const;
  std::vector<std::string> str_list(const std::string& key) const;
  std::optional<JsonObj> opt_obj(const std::string& key) const;  // absent or null -> nullopt

  [[noreturn]] void fail_key(const std::string& key, const std::string& what) const;
  [[noreturn]] void fail_here(const std::string& what) const;

 private:
  const nlohmann::json* get(const std::string& key) const;
  int64_t as_int(const std::string& key, const nlohmann::json& v) const;
  const nlohmann::json& j_;
  std::string source_, path_;
  ErrorCode code_;
};

}  // namespace ember
