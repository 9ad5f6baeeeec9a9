#include "text/jinja/strings.h"

#include <algorithm>
#include <cctype>

#include "text/jinja/value.h"

namespace ember::jinja {

std::vector<std::string> split_whitespace(const std::string& s, int64_t maxsplit, bool from_right) {
  std::vector<uint32_t> cps = utf8_decode(s);
  if (from_right) std::reverse(cps.begin(), cps.end());
  std::vector<std::vector<uint32_t>> parts;
  size_t i = 0;
  const size_t n = cps.size();
  while (true) {
    while (i < n && py_isspace(cps[i])) ++i;
    if (i >= n) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      // The remainder keeps its inner and trailing whitespace, like CPython.
      parts.emplace_back(cps.begin() + static_cast<long>(i), cps.end());
      break;
    }
    size_t j = i;
    while (j < n && !py_isspace(cps[j])) ++j;
    parts.emplace_back(cps.begin() + static_cast<long>(i), cps.begin() + static_cast<long>(j));
    i = j;
  }
  std::vector<std::string> out;
  for (auto& p : parts) {
    if (from_right) std::reverse(p.begin(), p.end());
    out.push_back(utf8_encode(p, 0, p.size()));
  }
  if (from_right) std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> split_on(const std::string& s, const std::string& sep, int64_t maxsplit,
                                  bool from_right) {
  if (sep.empty()) runtime_error("empty separator");
  std::vector<std::string> out;
  if (!from_right) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      size_t p = s.find(sep, start);
      if (p == std::string::npos) break;
      out.push_back(s.substr(start, p - start));
      start = p + sep.size();
    }
    out.push_back(s.substr(start));
    return out;
  }
  size_t end = s.size();
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    if (end < sep.size()) break;
    size_t p = s.rfind(sep, end - sep.size());
    if (p == std::string::npos) break;
    out.push_back(s.substr(p + sep.size(), end - p - sep.size()));
    end = p;
  }
  out.push_back(s.substr(0, end));
  std::reverse(out.begin(), out.end());
  return out;
}

std::string py_strip(const std::string& s, const std::string* chars, bool left, bool right) {
  std::vector<uint32_t> cps = utf8_decode(s);
  std::vector<uint32_t> set;
  if (chars) set = utf8_decode(*chars);
  auto strip_it = [&](uint32_t c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : py_isspace(c);
  };
  size_t b = 0, e = cps.size();
  if (left)
    while (b < e && strip_it(cps[b])) ++b;
  if (right)
    while (e > b && strip_it(cps[e - 1])) --e;
  return utf8_encode(cps, b, e);
}

namespace {

// Simple case mappings of the scripts chat text commonly uses (ASCII, Latin-1, Latin Extended-A,
// Greek, Cyrillic), as Python's str.upper/lower map them. Returns the code point unchanged when
// it has no mapping here.
uint32_t upper_cp(uint32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return c;
  if ((c >= 0xe0 && c <= 0xfe && c != 0xf7)) return c - 32;
  if (c == 0xff) return 0x178;
  if (c == 0xb5) return 0x39c;
  if (c == 0x131) return 'I';
  if (c == 0x17f) return 'S';
  if ((c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
    return (c % 2 == 1) ? c - 1 : c;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) return (c % 2 == 0) ? c - 1 : c;
  if ((c >= 0x3b1 && c <= 0x3c1) || (c >= 0x3c3 && c <= 0x3cb)) return c - 32;
  if (c == 0x3c2) return 0x3a3;
  if (c == 0x3ac) return 0x386;
  if (c >= 0x3ad && c <= 0x3af) return c - 37;
  if (c == 0x3cc) return 0x38c;
  if (c == 0x3cd || c == 0x3ce) return c - 63;
  if (c >= 0x430 && c <= 0x44f) return c - 32;
  if (c >= 0x450 && c <= 0x45f) return c - 80;
  if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) || (c >= 0x4d0 && c <= 0x4ff))
    return (c % 2 == 1) ? c - 1 : c;
  return c;
}

uint32_t lower_cp(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 32;
  if (c == 0x178) return 0xff;
  if ((c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
    return (c % 2 == 0) ? c + 1 : c;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) return (c % 2 == 1) ? c + 1 : c;
  if ((c >= 0x391 && c <= 0x3a1) || (c >= 0x3a3 && c <= 0x3ab)) return c + 32;
  if (c == 0x386) return 0x3ac;
  if (c >= 0x388 && c <= 0x38a) return c + 37;
  if (c == 0x38c) return 0x3cc;
  if (c == 0x38e || c == 0x38f) return c + 63;
  if (c >= 0x410 && c <= 0x42f) return c + 32;
  if (c >= 0x400 && c <= 0x40f) return c + 80;
  if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) || (c >= 0x4d0 && c <= 0x4ff))
    return (c % 2 == 0) ? c + 1 : c;
  return c;
}

bool cased(uint32_t c) { return upper_cp(c) != c || lower_cp(c) != c || c == 0xdf; }

}  // namespace

std::string py_upper(const std::string& s) {
  std::string out;
  for (uint32_t c : utf8_decode(s)) {
    if (c == 0xdf) {
      out += "SS";  // German sharp s expands, as in Python
      continue;
    }
    utf8_append(out, upper_cp(c));
  }
  return out;
}

std::string py_lower(const std::string& s) {
  std::vector<uint32_t> cps = utf8_decode(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    uint32_t c = cps[i];
    if (c == 0x3a3) {  // Python's Final_Sigma: a word-final capital sigma lowercases to ς
      bool before = false, after = false;
      for (size_t j = i; j-- > 0;)
        if (cased(cps[j])) {
          before = true;
          break;
        } else if (cps[j] != '\'' && cps[j] != 0x2019) {
          break;
        }
      for (size_t j = i + 1; j < cps.size(); ++j)
        if (cased(cps[j])) {
          after = true;
          break;
        } else if (cps[j] != '\'' && cps[j] != 0x2019) {
          break;
        }
      utf8_append(out, before && !after ? 0x3c2 : 0x3c3);
      continue;
    }
    if (c == 0x130) {  // İ lowercases to i + combining dot above
      out += "i\xcc\x87";
      continue;
    }
    utf8_append(out, lower_cp(c));
  }
  return out;
}

std::string py_title(const std::string& s) {
  std::string out;
  bool prev_cased = false;
  const std::vector<uint32_t> cps = utf8_decode(s);
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t c = cps[i];
    const bool is_cased = cased(c);
    if (c == 0x3a3 && prev_cased) {  // final sigma inside a word
      utf8_append(out, i + 1 < cps.size() && cased(cps[i + 1]) ? 0x3c3 : 0x3c2);
      continue;
    }
    if (is_cased && !prev_cased)
      out += c == 0xdf ? "Ss" : py_upper(utf8_encode({c}, 0, 1));  // titlecase
    else
      utf8_append(out, is_cased ? lower_cp(c) : c);
    prev_cased = is_cased;
  }
  return out;
}

std::string py_capitalize(const std::string& s) {
  std::vector<uint32_t> cps = utf8_decode(s);
  if (cps.empty()) return "";
  const std::string head = cps[0] == 0xdf ? "Ss" : py_upper(utf8_encode(cps, 0, 1));  // titlecase of ß
  return head + py_lower(utf8_encode(cps, 1, cps.size()));
}

std::string py_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count,
                       size_t max_bytes) {
  std::string out;
  int64_t done = 0;
  auto grow = [&](const std::string& piece) {
    out += piece;
    if (out.size() > max_bytes) runtime_error("replace() result exceeds the size limit");
  };
  if (from.empty()) {  // Python inserts `to` before every character and at the end
    std::vector<uint32_t> cps = utf8_decode(s);
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        grow(to);
        ++done;
      }
      if (i < cps.size()) utf8_append(out, cps[i]);
    }
    return out;
  }
  size_t start = 0;
  while (count < 0 || done < count) {
    size_t p = s.find(from, start);
    if (p == std::string::npos) break;
    grow(s.substr(start, p - start));
    grow(to);
    start = p + from.size();
    ++done;
  }
  grow(s.substr(start));
  return out;
}

int64_t py_count(const std::string& s, const std::string& sub) {
  if (sub.empty()) return static_cast<int64_t>(utf8_length(s)) + 1;
  int64_t n = 0;
  for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
  return n;
}

bool ascii_predicate(const std::string& s, const std::string& name) {
  if (s.empty()) return false;
  if (name == "isspace") {
    for (uint32_t c : utf8_decode(s))
      if (!py_isspace(c)) return false;
    return true;
  }
  bool any_cased = false;
  for (unsigned char c : s) {
    const bool ok = name == "isdigit"   ? std::isdigit(c)
                    : name == "isalpha" ? std::isalpha(c)
                    : name == "isalnum" ? std::isalnum(c)
                    : name == "islower" ? !std::isupper(c)
                                        : !std::islower(c);
    if (!ok) return false;
    if (std::isalpha(c)) any_cased = true;
  }
  return (name == "islower" || name == "isupper") ? any_cased : true;
}

}  // namespace ember::jinja
