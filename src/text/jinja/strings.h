// Python str operations on UTF-8 strings, with Python's semantics (whitespace = str.isspace,
// indices in code points). Case mapping covers ASCII only: non-ASCII letters are left unchanged.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ember::jinja {

// str.split() / str.rsplit() with no separator: runs of whitespace, ends trimmed.
std::vector<std::string> split_whitespace(const std::string& s, int64_t maxsplit, bool from_right);
// str.split(sep) / str.rsplit(sep); an empty separator is a runtime error like in Python.
std::vector<std::string> split_on(const std::string& s, const std::string& sep, int64_t maxsplit, bool from_right);
// str.strip(chars) / lstrip / rstrip; chars == nullptr strips whitespace.
std::string py_strip(const std::string& s, const std::string* chars, bool left, bool right);
std::string ascii_upper(const std::string& s);
std::string ascii_lower(const std::string& s);
std::string py_title(const std::string& s);
std::string py_capitalize(const std::string& s);
// str.replace(old, new, count); the result is bounded by max_bytes (a runtime error beyond).
std::string py_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count,
                       size_t max_bytes);
int64_t py_count(const std::string& s, const std::string& sub);
// str.isdigit/isalpha/isalnum/isspace/islower/isupper (ASCII classes; isspace is exact).
bool ascii_predicate(const std::string& s, const std::string& name);

}  // namespace ember::jinja
