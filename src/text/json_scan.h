// A small pull scanner for large JSON documents (tokenizer.json is ~33 MB; a DOM parser spends
// over a second on it). The caller walks the structure it expects; anything else is skipped.
// Every error names the source and the line:column of the offending byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ember::text {

class JsonScanner {
 public:
  JsonScanner(std::string_view text, std::string source) : s_(text), source_(std::move(source)) {}

  void skip_ws();
  // Next non-space byte (0 at end of input) without consuming it.
  char peek();
  void expect(char c);
  // Consumes c (after whitespace) when present.
  bool consume(char c);
  bool at_end();

  // Reads a JSON string (validating escapes and UTF-8) into out.
  void read_string(std::string& out);
  // Reads a JSON integer that fits in int64.
  int64_t read_int();
  // Reads true/false.
  bool read_bool();
  // Consumes null when present.
  bool consume_null();
  // Skips one value of any type and returns its raw text.
  std::string_view skip_value();

  // Iterates the members of an object: call begin_object(), then while(next_key(key)) { value }.
  void begin_object() {
    expect('{');
    first_ = true;
  }
  bool next_key(std::string& key);
  // Arrays: begin_array(), then while(next_element()) { value }.
  void begin_array() {
    expect('[');
    first_ = true;
  }
  bool next_element();

  size_t pos() const { return pos_; }
  void seek(size_t pos) { pos_ = pos; }
  // "file:line:col" of byte offset `at` (default: the current position).
  std::string where(size_t at = SIZE_MAX) const;
  [[noreturn]] void error(const std::string& what, size_t at = SIZE_MAX) const;

 private:
  void read_string_slow(std::string& out);
  uint32_t read_hex4();
  void skip_string();
  void skip_literal(std::string_view word);
  void skip_number();

  std::string_view s_;
  std::string source_;
  size_t pos_ = 0;
  bool first_ = true;
  int depth_ = 0;
};

}  // namespace ember::text
