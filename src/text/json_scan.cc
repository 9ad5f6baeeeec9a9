#include "text/json_scan.h"

#include <cstring>

#include "core/status.h"
#include "text/utf8.h"

namespace ember::text {

namespace {
constexpr int kMaxDepth = 512;  // bounds recursion in skip_value on hostile input
}

std::string JsonScanner::where(size_t at) const {
  if (at == SIZE_MAX) at = pos_;
  if (at > s_.size()) at = s_.size();
  size_t line = 1, col = 1;
  for (size_t i = 0; i < at; ++i) {
    if (s_[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return detail::concat(source_, ":", line, ":", col);
}

void JsonScanner::error(const std::string& what, size_t at) const {
  fail(ErrorCode::kCorruptFile, where(at), ": invalid JSON: ", what);
}

void JsonScanner::skip_ws() {
  while (pos_ < s_.size()) {
    char c = s_[pos_];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      ++pos_;
    } else {
      break;
    }
  }
}

char JsonScanner::peek() {
  skip_ws();
  return pos_ < s_.size() ? s_[pos_] : '\0';
}

bool JsonScanner::at_end() {
  skip_ws();
  return pos_ >= s_.size();
}

void JsonScanner::expect(char c) {
  if (peek() != c) {
    if (pos_ >= s_.size()) error(detail::concat("expected '", c, "' but the input ended"));
    error(detail::concat("expected '", c, "'"));
  }
  ++pos_;
}

bool JsonScanner::consume(char c) {
  if (peek() != c) return false;
  ++pos_;
  return true;
}

bool JsonScanner::next_key(std::string& key) {
  if (first_) {
    first_ = false;
    if (consume('}')) return false;
  } else {
    if (consume('}')) return false;
    expect(',');
  }
  if (peek() != '"') error("expected an object key (a string)");
  read_string(key);
  expect(':');
  return true;
}

bool JsonScanner::next_element() {
  if (first_) {
    first_ = false;
    return !consume(']');
  }
  if (consume(']')) return false;
  expect(',');
  return true;
}

void JsonScanner::read_string(std::string& out) {
  expect('"');
  // Fast path: no escapes and plain bytes up to the closing quote.
  size_t start = pos_;
  const char* p = s_.data();
  size_t n = s_.size();
  bool ascii = true;
  size_t i = start;
  for (; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    if (c == '"' || c == '\\' || c < 0x20) break;
    ascii &= c < 0x80;
  }
  if (i < n && p[i] == '"') {
    std::string_view body(p + start, i - start);
    if (!ascii && !utf8_valid(body)) error("string is not valid UTF-8", start);
    out.assign(body);
    pos_ = i + 1;
    return;
  }
  out.assign(p + start, i - start);
  pos_ = i;
  if (!ascii && !utf8_valid(out)) error("string is not valid UTF-8", start);
  read_string_slow(out);
}

uint32_t JsonScanner::read_hex4() {
  if (pos_ + 4 > s_.size()) error("truncated \\u escape");
  uint32_t v = 0;
  for (int k = 0; k < 4; ++k) {
    char c = s_[pos_++];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v |= c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v |= c - 'A' + 10;
    } else {
      error("bad hex digit in \\u escape", pos_ - 1);
    }
  }
  return v;
}

// Continues a string after the fast path stopped at an escape or control byte.
void JsonScanner::read_string_slow(std::string& out) {
  size_t n = s_.size();
  while (true) {
    if (pos_ >= n) error("unterminated string");
    unsigned char c = static_cast<unsigned char>(s_[pos_]);
    if (c == '"') {
      ++pos_;
      return;
    }
    if (c < 0x20) error("control character inside a string");
    if (c != '\\') {
      size_t len =
          c < 0x80 ? 1 : utf8_seq_len(reinterpret_cast<const unsigned char*>(s_.data()) + pos_, n - pos_);
      if (len == 0) error("string is not valid UTF-8");
      out.append(s_.data() + pos_, len);
      pos_ += len;
      continue;
    }
    if (++pos_ >= n) error("unterminated escape");
    char e = s_[pos_++];
    switch (e) {
      case '"':
        out.push_back('"');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '/':
        out.push_back('/');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        size_t at = pos_ - 2;
        uint32_t cp = read_hex4();
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (pos_ + 2 > n || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') error("unpaired surrogate escape", at);
          pos_ += 2;
          uint32_t lo = read_hex4();
          if (lo < 0xDC00 || lo > 0xDFFF) error("unpaired surrogate escape", at);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          error("unpaired surrogate escape", at);
        }
        utf8_append(out, cp);
        break;
      }
      default:
        error("unknown escape", pos_ - 2);
    }
  }
}

void JsonScanner::skip_string() {
  expect('"');
  size_t n = s_.size();
  while (pos_ < n) {
    char c = s_[pos_++];
    if (c == '"') return;
    if (c == '\\') ++pos_;
  }
  error("unterminated string");
}

int64_t JsonScanner::read_int() {
  skip_ws();
  size_t start = pos_;
  bool neg = false;
  if (pos_ < s_.size() && s_[pos_] == '-') {
    neg = true;
    ++pos_;
  }
  if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') error("expected an integer", start);
  int64_t v = 0;
  while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
    if (v > (INT64_MAX - 9) / 10) error("integer out of range", start);
    v = v * 10 + (s_[pos_++] - '0');
  }
  if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) {
    error("expected an integer, found a fractional number", start);
  }
  return neg ? -v : v;
}

void JsonScanner::skip_literal(std::string_view word) {
  if (s_.substr(pos_, word.size()) != word) error("unexpected token");
  pos_ += word.size();
}

bool JsonScanner::read_bool() {
  char c = peek();
  if (c == 't') {
    skip_literal("true");
    return true;
  }
  if (c == 'f') {
    skip_literal("false");
    return false;
  }
  error("expected true or false");
}

bool JsonScanner::consume_null() {
  if (peek() != 'n') return false;
  skip_literal("null");
  return true;
}

void JsonScanner::skip_number() {
  size_t start = pos_;
  if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
  size_t digits = pos_;
  while (pos_ < s_.size() && std::strchr("0123456789.eE+-", s_[pos_]) && s_[pos_] != '\0') ++pos_;
  if (pos_ == digits) error("unexpected character", start);
}

std::string_view JsonScanner::skip_value() {
  char c = peek();
  size_t start = pos_;
  if (++depth_ > kMaxDepth) error("nesting too deep");
  switch (c) {
    case '"':
      skip_string();
      break;
    case '{': {
      begin_object();
      std::string key;
      while (next_key(key)) skip_value();
      break;
    }
    case '[': {
      begin_array();
      while (next_element()) skip_value();
      break;
    }
    case 't':
      skip_literal("true");
      break;
    case 'f':
      skip_literal("false");
      break;
    case 'n':
      skip_literal("null");
      break;
    case '\0':
      if (pos_ >= s_.size()) error("unexpected end of input");
      [[fallthrough]];
    default:
      skip_number();
  }
  --depth_;
  first_ = false;
  return s_.substr(start, pos_ - start);
}

}  // namespace ember::text
