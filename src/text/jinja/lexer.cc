#include "text/jinja/lexer.h"

#include <algorithm>
#include <cstring>

#include "core/status.h"
#include "text/jinja/value.h"

namespace ember::jinja {

SourceMap::SourceMap(std::string source) : source_(std::move(source)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < source_.size(); ++i)
    if (source_[i] == '\n') line_starts_.push_back(i + 1);
}

std::string SourceMap::position(size_t offset) const {
  offset = std::min(offset, source_.size());
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const size_t line = static_cast<size_t>(it - line_starts_.begin());
  const size_t start = line_starts_[line - 1];
  const size_t col = utf8_length(std::string_view(source_).substr(start, offset - start)) + 1;
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

std::string normalize_template_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
  return out;
}

namespace {

// Python's \s (str.isspace) at byte position i; returns the UTF-8 length of the space or 0.
size_t space_at(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return py_isspace(c) ? 1 : 0;
  size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  if (i + len > s.size()) return 0;
  auto cps = utf8_decode(s.substr(i, len));
  return cps.size() == 1 && py_isspace(cps[0]) ? len : 0;
}

size_t skip_spaces(std::string_view s, size_t i) {
  while (i < s.size()) {
    size_t n = space_at(s, i);
    if (!n) break;
    i += n;
  }
  return i;
}

// Python str.rstrip() of whitespace.
std::string_view rstrip_view(std::string_view s) {
  auto cps = utf8_decode(s);
  size_t n = cps.size();
  while (n > 0 && py_isspace(cps[n - 1])) --n;
  return s.substr(0, utf8_encode(cps, 0, n).size());
}

bool all_spaces(std::string_view s) {
  if (s.empty()) return false;  // jinja's whitespace_re.fullmatch needs one character
  return skip_spaces(s, 0) == s.size();
}

class Lexer {
 public:
  explicit Lexer(const SourceMap& map) : map_(map), src_(map.source()) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) lex_root();
    out_.push_back(Token{Tok::kEof, "", src_.size()});
    return std::move(out_);
  }

 private:
  [[noreturn]] void error(size_t offset, const std::string& msg) {
    fail(ErrorCode::kTemplate, "template syntax error at ", map_.position(offset), ": ", msg);
  }

  bool at(size_t i, const char* lit) const { return src_.compare(i, std::strlen(lit), lit) == 0; }

  // Emits the text before a tag, applying '-' stripping or lstrip_blocks like jinja2.
  void emit_text(std::string_view text, size_t text_offset, char sign, bool lstrip_allowed) {
    if (sign == '-') {
      text = rstrip_view(text);
    } else if (sign != '+' && lstrip_allowed) {
      const size_t nl = text.rfind('\n');
      const size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting_) && all_spaces(text.substr(l_pos))) text = text.substr(0, l_pos);
    }
    if (!text.empty()) out_.push_back(Token{Tok::kData, std::string(text), text_offset});
  }

  // Consumes a block end at pos_ ("+%}", "-%}\s*", "%}\n?"); returns false if none is there.
  bool block_end(const char* close) {
    const size_t start = pos_;
    if (src_[pos_] == '+' && at(pos_ + 1, close)) {
      pos_ += 3;
    } else if (src_[pos_] == '-' && at(pos_ + 1, close)) {
      pos_ = skip_spaces(src_, pos_ + 3);
    } else if (at(pos_, close)) {
      pos_ += 2;
      if (pos_ < src_.size() && src_[pos_] == '\n') ++pos_;  // trim_blocks
    } else {
      return false;
    }
    line_starting_ = pos_ > start && src_[pos_ - 1] == '\n';
    return true;
  }

  void lex_root() {
    size_t i = pos_;
    while (true) {
      i = src_.find('{', i);
      if (i == std::string_view::npos || i + 1 >= src_.size()) {
        out_.push_back(Token{Tok::kData, std::string(src_.substr(pos_)), pos_});
        pos_ = src_.size();
        return;
      }
      const char c = src_[i + 1];
      if (c == '{' || c == '%' || c == '#') break;
      ++i;
    }
    const char kind = src_[i + 1];
    const char sign = i + 2 < src_.size() && (src_[i + 2] == '-' || src_[i + 2] == '+') ? src_[i + 2] : 0;
    const std::string_view text = src_.substr(pos_, i - pos_);
    const size_t text_offset = pos_;
    size_t after = i + 2 + (sign ? 1 : 0);
    if (kind == '%' && lex_raw(text, text_offset, i, sign, after)) return;
    emit_text(text, text_offset, sign, kind != '{');
    line_starting_ = false;
    pos_ = after;
    if (kind == '#') return lex_comment(i);
    out_.push_back(Token{kind == '{' ? Tok::kVarBegin : Tok::kBlockBegin, "", i});
    lex_tag(kind == '{' ? "}}" : "%}", kind == '{' ? Tok::kVarEnd : Tok::kBlockEnd, kind == '{');
  }

  void lex_comment(size_t open) {
    for (size_t i = pos_; i < src_.size(); ++i) {
      if ((src_[i] == '+' || src_[i] == '-') && at(i + 1, "#}")) {
        pos_ = i;
        block_end("#}");
        return;
      }
      if (at(i, "#}")) {
        pos_ = i;
        block_end("#}");
        return;
      }
    }
    error(open, "Missing end of comment tag");
  }

  // {% raw %}...{% endraw %}: the body is data. Returns false if the tag is not "raw".
  bool lex_raw(std::string_view text, size_t text_offset, size_t open, char sign, size_t after) {
    size_t j = skip_spaces(src_, after);
    if (!at(j, "raw")) return false;
    j = skip_spaces(src_, j + 3);
    size_t body;
    if (src_[j] == '-' && at(j + 1, "%}")) body = skip_spaces(src_, j + 3);
    else if (at(j, "%}")) body = j + 2;  // no trim_blocks suffix on the raw opener, as in jinja2
    else return false;
    emit_text(text, text_offset, sign, true);
    line_starting_ = body > 0 && src_[body - 1] == '\n';
    for (size_t k = body; k + 1 < src_.size(); ++k) {
      if (!at(k, "{%")) continue;
      const char esign = k + 2 < src_.size() && (src_[k + 2] == '-' || src_[k + 2] == '+') ? src_[k + 2] : 0;
      size_t m = skip_spaces(src_, k + 2 + (esign ? 1 : 0));
      if (!at(m, "endraw")) continue;
      pos_ = skip_spaces(src_, m + 6);
      const size_t save = pos_;
      if (pos_ >= src_.size() || !block_end("%}")) {
        pos_ = save;
        continue;
      }
      const bool ls = line_starting_;
      line_starting_ = body > 0 && src_[body - 1] == '\n';
      emit_text(src_.substr(body, k - body), body, esign, true);
      line_starting_ = ls;
      return true;
    }
    error(open, "Missing end of raw directive");
  }

  void lex_tag(const char* close, Tok end_tok, bool is_var) {
    std::vector<char> balance;
    while (true) {
      if (pos_ >= src_.size()) error(pos_, std::string("unexpected end of template, expected '") + close + "'");
      const size_t start = pos_;
      if (balance.empty()) {
        bool ended = false;
        if (is_var) {
          if (src_[pos_] == '-' && at(pos_ + 1, close)) {
            pos_ = skip_spaces(src_, pos_ + 3);
            ended = true;
          } else if (at(pos_, close)) {
            pos_ += 2;
            ended = true;
          }
          if (ended) line_starting_ = src_[pos_ - 1] == '\n';
        } else {
          ended = block_end(close);
        }
        if (ended) {
          out_.push_back(Token{end_tok, "", start});
          return;
        }
      }
      if (size_t n = skip_spaces(src_, pos_); n != pos_) {
        pos_ = n;
        continue;
      }
      const char c = src_[pos_];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        lex_number();
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t e = pos_;
        while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
        out_.push_back(Token{Tok::kName, std::string(src_.substr(pos_, e - pos_)), pos_});
        pos_ = e;
      } else if (c == '\'' || c == '"') {
        lex_string();
      } else {
        lex_operator(balance);
      }
    }
  }

  void lex_number() {
    const size_t start = pos_;
    auto digits = [&](size_t i) {  // (\d+_)*\d+
      size_t e = i;
      while (e < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[e])) ||
                                 (src_[e] == '_' && e + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e + 1])) && e > i)))
        ++e;
      return e;
    };
    size_t e = digits(pos_);
    bool is_float = false;
    if (e + 1 < src_.size() && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
      e = digits(e + 1);
      is_float = true;
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t x = e + 1;
      if (x < src_.size() && (src_[x] == '+' || src_[x] == '-')) ++x;
      if (x < src_.size() && std::isdigit(static_cast<unsigned char>(src_[x]))) {
        e = digits(x);
        is_float = true;
      }
    }
    std::string text(src_.substr(start, e - start));
    std::string clean;
    for (char ch : text)
      if (ch != '_') clean += ch;
    Token t{is_float ? Tok::kFloat : Tok::kInt, text, start};
    if (is_float) {
      t.float_value = std::strtod(clean.c_str(), nullptr);
    } else {
      errno = 0;
      t.int_value = std::strtoll(clean.c_str(), nullptr, 10);
      if (errno == ERANGE) error(start, "integer literal too large: " + text);
    }
    out_.push_back(std::move(t));
    pos_ = e;
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // String literal with Python unicode-escape semantics (what jinja2 applies to literals).
  void lex_string() {
    const size_t start = pos_;
    const char quote = src_[pos_];
    size_t i = pos_ + 1;
    std::string value;
    while (true) {
      if (i >= src_.size()) error(start, "unexpected end of string literal");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) error(start, "unexpected end of string literal");
      const char e = src_[i + 1];
      i += 2;
      switch (e) {
        case '\n': break;  // line continuation
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'n': value += '\n'; break;
        case 'r': value += '\r'; break;
        case 't': value += '\t'; break;
        case 'v': value += '\v'; break;
        case 'x':
        case 'u':
        case 'U': {
          const int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int k = 0; k < n; ++k) {
            const int h = i + k < src_.size() ? hex_value(src_[i + k]) : -1;
            if (h < 0) error(i - 2, std::string("truncated \\") + e + " escape in string literal");
            cp = cp * 16 + h;
          }
          if (cp > 0x10ffff) error(i - 2, "illegal Unicode character in string literal");
          utf8_append(value, cp);
          i += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = e - '0';
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k) cp = cp * 8 + (src_[i++] - '0');
            utf8_append(value, cp);
          } else if (e == 'N') {
            error(i - 2, "\\N{...} escapes are not supported");
          } else if (static_cast<unsigned char>(e) >= 0x80) {
            // jinja2 backslash-replaces non-ASCII before unescaping: "\é" becomes the text "\xe9".
            size_t len = 1;
            while (i - 1 + len < src_.size() && (static_cast<unsigned char>(src_[i - 1 + len]) & 0xc0) == 0x80) ++len;
            auto cps = utf8_decode(src_.substr(i - 1, len));
            char buf[16];
            const uint32_t cp = cps.empty() ? 0 : cps[0];
            std::snprintf(buf, sizeof buf, cp < 0x100 ? "\\x%02x" : cp < 0x10000 ? "\\u%04x" : "\\U%08x", cp);
            value += buf;
            i += len - 1;
          } else {
            value += '\\';  // unknown escapes stay as written
            value += e;
          }
      }
    }
    out_.push_back(Token{Tok::kString, std::move(value), start});
    pos_ = i + 1;
  }

  void lex_operator(std::vector<char>& balance) {
    static const char* kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : kTwo)
      if (at(pos_, op)) {
        out_.push_back(Token{Tok::kOp, op, pos_});
        pos_ += 2;
        return;
      }
    const char c = src_[pos_];
    if (!std::strchr("+-/*%~[](){}><=.:|,;", c)) {
      error(pos_, "unexpected char " + Value(std::string(1, c)).repr());
    }
    if (c == '(' || c == '[' || c == '{') balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    if (c == ')' || c == ']' || c == '}') {
      if (balance.empty()) error(pos_, std::string("unexpected '") + c + "'");
      if (balance.back() != c) error(pos_, std::string("unexpected '") + c + "', expected '" + balance.back() + "'");
      balance.pop_back();
    }
    out_.push_back(Token{Tok::kOp, std::string(1, c), pos_});
    ++pos_;
  }

  const SourceMap& map_;
  std::string_view src_;
  size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<Token> out_;
};

}  // namespace

std::vector<Token> tokenize(const SourceMap& source) { return Lexer(source).run(); }

}  // namespace ember::jinja
