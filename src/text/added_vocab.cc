#include "text/added_vocab.h"

#include <algorithm>

#include "text/utf8.h"

namespace ember::text {

void AddedVocab::Trie::insert(std::string_view key, int32_t token) {
  if (nodes.empty()) nodes.push_back(-1);
  if (key.empty()) return;  // HF never matches an empty token
  first_byte[static_cast<unsigned char>(key[0])] = true;
  int32_t node = 0;
  for (unsigned char c : key) {
    uint64_t e = (uint64_t(node) << 8) | c;
    auto it = edges.find(e);
    if (it == edges.end()) {
      nodes.push_back(-1);
      int32_t child = static_cast<int32_t>(nodes.size() - 1);
      edges.emplace(e, child);
      node = child;
    } else {
      node = it->second;
    }
  }
  if (nodes[node] < 0) nodes[node] = token;  // a duplicate content keeps its first token
}

int32_t AddedVocab::Trie::longest(std::string_view text, size_t pos, size_t& len) const {
  int32_t best = -1;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    auto it = edges.find((uint64_t(node) << 8) | static_cast<unsigned char>(text[i]));
    if (it == edges.end()) break;
    node = it->second;
    if (nodes[node] >= 0) {
      best = nodes[node];
      len = i + 1 - pos;
    }
  }
  return best;
}

AddedVocab::AddedVocab(std::vector<AddedToken> tokens, const std::vector<NormalizerStep>& normalizer)
    : tokens_(std::move(tokens)) {
  tries_[0].nodes.push_back(-1);
  tries_[1].nodes.push_back(-1);
  for (size_t i = 0; i < tokens_.size(); ++i) {
    AddedToken& t = tokens_[i];
    by_id_[t.id] = i;
    by_content_.emplace(t.content, t.id);
    t.decoded = t.normalized ? normalize(normalizer, t.content) : t.content;
    if (t.normalized) {
      tries_[1].insert(t.decoded, static_cast<int32_t>(i));
    } else {
      tries_[0].insert(t.content, static_cast<int32_t>(i));
    }
  }
}

const AddedToken* AddedVocab::by_id(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

int32_t AddedVocab::find(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? -1 : it->second;
}

namespace {
// Code point ending just before byte `pos` / starting at `pos` (text is valid UTF-8).
uint32_t cp_before(std::string_view s, size_t pos, size_t& start) {
  size_t i = pos;
  do {
    --i;
  } while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80);
  start = i;
  return utf8_decode(reinterpret_cast<const unsigned char*>(s.data()) + i, pos - i);
}
uint32_t cp_at(std::string_view s, size_t pos, size_t& len) {
  len = utf8_seq_len(reinterpret_cast<const unsigned char*>(s.data()) + pos, s.size() - pos);
  if (len == 0) len = 1;
  return utf8_decode(reinterpret_cast<const unsigned char*>(s.data()) + pos, len);
}
// Regex \w (Unicode word characters) approximated without tables: ASCII alphanumerics and '_',
// and non-ASCII code points outside the blocks of spaces, punctuation and symbols. Only
// single_word tokens use it (Gemma has none).
bool is_word_char(uint32_t cp) {
  if (cp < 0x80)
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_';
  if (cp <= 0xBF) return cp == 0xAA || cp == 0xB5 || cp == 0xBA;  // Latin-1 punctuation/symbols
  if (cp == 0xD7 || cp == 0xF7) return false;                     // multiplication, division signs
  if (is_unicode_whitespace(cp)) return false;
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;    // punctuation, symbols, arrows, math, box drawing
  if (cp >= 0x3000 && cp <= 0x303F) return false;    // CJK punctuation
  if (cp >= 0xFE30 && cp <= 0xFE4F) return false;    // CJK compatibility forms
  if (cp >= 0xFF00 && cp <= 0xFF0F) return false;    // fullwidth punctuation
  if (cp >= 0x1F000 && cp <= 0x1FAFF) return false;  // emoji and pictographs
  return true;
}
}  // namespace

void AddedVocab::split(std::string_view text, bool normalized_pass, bool parse_special,
                       std::vector<Piece>& out) const {
  const Trie& trie = tries_[normalized_pass ? 1 : 0];
  size_t start_offset = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!trie.first_byte[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t len = 0;
    int32_t ti = trie.longest(text, pos, len);
    if (ti < 0) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + len;
    pos = stop;  // matches never overlap, even when one is then skipped
    const AddedToken& tok = tokens_[ti];
    if (!parse_special && tok.special) continue;
    if (tok.single_word) {
      size_t b, l;
      bool start_space = start == 0 || !is_word_char(cp_before(text, start, b));
      bool stop_space = stop == text.size() || !is_word_char(cp_at(text, stop, l));
      if (!start_space || !stop_space) continue;
    }
    if (tok.lstrip) {
      size_t s = start;
      while (s > 0) {
        size_t b;
        uint32_t cp = cp_before(text, s, b);
        if (!is_unicode_whitespace(cp)) break;
        s = b;
      }
      start = std::max(s, start_offset);
    }
    if (tok.rstrip) {
      while (stop < text.size()) {
        size_t l;
        if (!is_unicode_whitespace(cp_at(text, stop, l))) break;
        stop += l;
      }
    }
    if (start_offset < start) out.push_back({start_offset, start, -1});
    out.push_back({start, stop, tok.id});
    start_offset = stop;
  }
  if (start_offset < text.size()) out.push_back({start_offset, text.size(), -1});
}

}  // namespace ember::text
