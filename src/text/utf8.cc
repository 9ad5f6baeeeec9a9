#include "text/utf8.h"

namespace ember::text {

namespace {
inline bool cont(unsigned char c) { return (c & 0xC0) == 0x80; }

// Number of leading bytes of s that form a valid prefix of a UTF-8 sequence (>= 1 when s[0] is
// a valid lead byte), and whether the sequence is complete. Follows Unicode Table 3-7.
struct Prefix {
  size_t valid;  // bytes belonging to the (possibly partial) sequence
  bool complete;
};

Prefix scan_seq(const unsigned char* s, size_t avail) {
  unsigned char b = s[0];
  if (b < 0x80) return {1, true};
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b >= 0xC2 && b <= 0xDF) {
    need = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 4;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return {0, false};  // never a lead byte
  }
  size_t i = 1;
  if (i >= avail || s[i] < lo || s[i] > hi) return {1, false};
  for (i = 2; i < need; ++i) {
    if (i >= avail || !cont(s[i])) return {i, false};
  }
  return {need, true};
}
}  // namespace

size_t utf8_seq_len(const unsigned char* s, size_t avail) {
  if (avail == 0) return 0;
  Prefix p = scan_seq(s, avail);
  return p.complete ? p.valid : 0;
}

bool utf8_valid(std::string_view s) {
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    size_t len = utf8_seq_len(p + i, n - i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string utf8_sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      out.push_back(static_cast<char>(p[i++]));
      continue;
    }
    Prefix pre = scan_seq(p + i, n - i);
    if (pre.complete) {
      out.append(s.data() + i, pre.valid);
      i += pre.valid;
    } else {
      out.append("\xEF\xBF\xBD");  // one U+FFFD per maximal ill-formed subpart
      i += pre.valid == 0 ? 1 : pre.valid;
    }
  }
  return out;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

uint32_t utf8_decode(const unsigned char* s, size_t len) {
  switch (len) {
    case 1:
      return s[0];
    case 2:
      return ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu);
    case 3:
      return ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    case 4:
      return ((s[0] & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
    default:
      return 0xFFFD;
  }
}

bool is_unicode_whitespace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

}  // namespace ember::text
