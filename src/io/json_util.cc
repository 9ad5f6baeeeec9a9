#include "io/json_util.h"

#include <cmath>

#include "core/mapped_file.h"
#include "core/status.h"

namespace ember {

using nlohmann::json;

namespace {
// "an integer", "a string", ... for error messages, with a short excerpt of the value.
std::string describe(const json& v) {
  std::string d = v.dump();
  if (d.size() > 40) d = d.substr(0, 37) + "...";
  return std::string(v.type_name()) + " " + d;
}

// Line and column of byte offset `pos` in `text` (1-based).
std::string line_col(std::string_view text, size_t pos) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n')
      ++line, col = 1;
    else
      ++col;
  }
  return std::to_string(line) + ":" + std::to_string(col);
}
}  // namespace

json parse_json_text(std::string_view text, const std::string& source) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    size_t pos = e.byte ? e.byte - 1 : 0;
    std::string why = e.what();
    auto p = why.find("syntax error");
    fail(ErrorCode::kCorruptFile, source, ":", line_col(text, pos), ": invalid JSON",
         p != std::string::npos ? " (" + why.substr(p) + ")" : std::string());
  } catch (const json::exception& e) {
    // e.g. out_of_range.406 for a number literal like 1e999999 (found by fuzz_config).
    fail(ErrorCode::kCorruptFile, source, ": invalid JSON (", e.what(), ")");
  }
}

json read_json_file(const std::string& path) {
  auto map = MappedFile::open(path);
  std::string_view text(reinterpret_cast<const char*>(map->data()), map->size());
  return parse_json_text(text, path);
}

JsonObj::JsonObj(const json& j, std::string source, std::string path, ErrorCode code)
    : j_(j), source_(std::move(source)), path_(std::move(path)), code_(code) {
  if (!j_.is_object()) fail_here("expected an object, got " + describe(j_));
}

void JsonObj::fail_key(const std::string& key, const std::string& what) const {
  fail(code_, source_, ": ", key_path(key), ": ", what);
}

void JsonObj::fail_here(const std::string& what) const {
  fail(code_, source_, ": ", path_.empty() ? "(top level)" : path_, ": ", what);
}

const json* JsonObj::get(const std::string& key) const {
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonObj::has(const std::string& key) const { return get(key) != nullptr; }

int64_t JsonObj::as_int(const std::string& key, const json& v) const {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
      fail_key(key, "integer out of range");
    return v.get<int64_t>();
  }
  fail_key(key, "expected an integer, got " + describe(v));
}

int64_t JsonObj::get_int(const std::string& key, int64_t def) const {
  const json* v = get(key);
  return v ? as_int(key, *v) : def;
}

int64_t JsonObj::req_int(const std::string& key) const {
  const json* v = get(key);
  if (!v) fail_key(key, "required key is missing");
  return as_int(key, *v);
}

std::optional<int64_t> JsonObj::opt_int(const std::string& key) const {
  const json* v = get(key);
  if (!v) return std::nullopt;
  return as_int(key, *v);
}

std::optional<double> JsonObj::opt_num(const std::string& key) const {
  const json* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) fail_key(key, "expected a number, got " + describe(*v));
  double d = v->get<double>();
  if (!std::isfinite(d)) fail_key(key, "number is not finite");
  return d;
}

double JsonObj::get_num(const std::string& key, double def) const { return opt_num(key).value_or(def); }

bool JsonObj::get_bool(const std::string& key, bool def) const {
  const json* v = get(key);
  if (!v) return def;
  if (!v->is_boolean()) fail_key(key, "expected true/false, got " + describe(*v));
  return v->get<bool>();
}

std::optional<std::string> JsonObj::opt_str(const std::string& key) const {
  const json* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) fail_key(key, "expected a string, got " + describe(*v));
  return v->get<std::string>();
}

std::string JsonObj::get_str(const std::string& key, const std::string& def) const {
  return opt_str(key).value_or(def);
}

std::vector<int64_t> JsonObj::int_or_list(const std::string& key) const {
  const json* v = get(key);
  if (!v) return {};
  if (v->is_array()) return int_list(key);
  return {as_int(key, *v)};
}

std::vector<int64_t> JsonObj::int_list(const std::string& key) const {
  const json* v = get(key);
  if (!v) return {};
  if (!v->is_array()) fail_key(key, "expected a list of integers, got " + describe(*v));
  std::vector<int64_t> out;
  for (size_t i = 0; i < v->size(); ++i) out.push_back(as_int(key + "[" + std::to_string(i) + "]", (*v)[i]));
  return out;
}

std::vector<std::string> JsonObj::str_list(const std::string& key) const {
  const json* v = get(key);
  if (!v) return {};
  if (!v->is_array()) fail_key(key, "expected a list of strings, got " + describe(*v));
  std::vector<std::string> out;
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string())
      fail_key(key + "[" + std::to_string(i) + "]", "expected a string, got " + describe((*v)[i]));
    out.push_back((*v)[i].get<std::string>());
  }
  return out;
}

std::optional<JsonObj> JsonObj::opt_obj(const std::string& key) const {
  const json* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_object()) fail_key(key, "expected an object, got " + describe(*v));
  return JsonObj(*v, source_, key_path(key), code_);
}

}  // namespace ember
