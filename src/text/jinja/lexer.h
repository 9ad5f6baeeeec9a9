// Lexer of the Jinja2 subset, configured like transformers' chat-template environment:
// trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False, default delimiters.
// Whitespace control ({%- -%} {{- -}} {#- -#}, {%+ +%}) follows jinja2's lexer exactly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ember::jinja {

enum class Tok {
  kData,
  kVarBegin,
  kVarEnd,
  kBlockBegin,
  kBlockEnd,
  kName,
  kString,
  kInt,
  kFloat,
  kOp,  // text holds the operator: "+", "//", "==", "(", ...
  kEof,
};

struct Token {
  Tok type;
  std::string text;  // data text, name, unescaped string value, operator, or the number's source text
  size_t offset;     // byte offset into the normalized source
  int64_t int_value = 0;
  double float_value = 0;
};

// Maps byte offsets of the normalized source to "line L, column C" (1-based, columns in characters).
class SourceMap {
 public:
  explicit SourceMap(std::string source);
  const std::string& source() const { return source_; }
  std::string position(size_t offset) const;

 private:
  std::string source_;
  std::vector<size_t> line_starts_;
};

// Newline normalization and trailing-newline removal, as jinja2 does before lexing.
std::string normalize_template_source(std::string_view source);

// Tokenizes a normalized source. Throws ember::Error(kTemplate) with line:column on bad input.
std::vector<Token> tokenize(const SourceMap& source);

}  // namespace ember::jinja
