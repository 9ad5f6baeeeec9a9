// UTF-8 helpers shared by the tokenizer, the detokenizer and the JSON scanner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ember::text {

// Length in bytes of the well-formed UTF-8 sequence starting at s[0], or 0 when the bytes at s
// are not a complete well-formed sequence (truncated, overlong, surrogate, > U+10FFFF).
size_t utf8_seq_len(const unsigned char* s, size_t avail);

// True when `s` is entirely well-formed UTF-8.
bool utf8_valid(std::string_view s);

// Replaces every ill-formed subsequence by U+FFFD using the Unicode "maximal subpart" rule
// (the one Python's bytes.decode("utf-8", "replace") follows), so raw bytes given to the
// tokenizer encode exactly like the Python string HF tokenizers would receive.
std::string utf8_sanitize(std::string_view s);

// Appends the UTF-8 encoding of code point cp (must be a scalar value).
void utf8_append(std::string& out, uint32_t cp);

// Decodes the well-formed sequence at s (len from utf8_seq_len) to its code point.
uint32_t utf8_decode(const unsigned char* s, size_t len);

// Unicode White_Space property (what Rust's char::is_whitespace tests).
bool is_unicode_whitespace(uint32_t cp);

}  // namespace ember::text
