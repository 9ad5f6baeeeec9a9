#include "text/pipeline.h"

#include <algorithm>

#include "core/status.h"
#include "text/utf8.h"

namespace ember::text {

namespace {

void replace_all(std::string_view text, std::string_view pattern, std::string_view content,
                 std::string& out) {
  if (pattern.empty()) {
    out.append(text);
    return;
  }
  size_t i = 0;
  while (true) {
    size_t j = text.find(pattern, i);
    if (j == std::string_view::npos) break;
    out.append(text.substr(i, j - i));
    out.append(content);
    i = j + pattern.size();
  }
  out.append(text.substr(i));
}

// HF ByteFallback: a piece of exactly "<0xHH>" (Rust's u8::from_str_radix also takes "+H").
bool byte_piece(std::string_view p, uint8_t& value) {
  if (p.size() != 6 || p.substr(0, 3) != "<0x" || p[5] != '>') return false;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int hi = hex(p[3]), lo = hex(p[4]);
  if (p[3] == '+' && lo >= 0) {
    value = static_cast<uint8_t>(lo);
    return true;
  }
  if (hi < 0 || lo < 0) return false;
  value = static_cast<uint8_t>(hi * 16 + lo);
  return true;
}

// Splits text into code points (as byte ranges); the text is valid UTF-8.
std::vector<Span> char_spans(std::string_view text) {
  std::vector<Span> out;
  auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) {
    size_t len = utf8_seq_len(s + i, text.size() - i);
    if (len == 0) len = 1;
    out.push_back({i, i + len});
    i += len;
  }
  return out;
}

// HF Strip on one token: up to `start` leading and `stop` trailing copies of `c`.
std::string strip_token(std::string_view token, std::string_view c, size_t start, size_t stop) {
  std::vector<Span> chars = char_spans(token);
  size_t start_cut = 0;
  for (size_t i = 0; i < chars.size() && i < start; ++i) {
    if (token.substr(chars[i].begin, chars[i].end - chars[i].begin) != c) break;
    start_cut = i + 1;
  }
  size_t stop_cut = chars.size();
  for (size_t i = 0; i < stop && i < chars.size(); ++i) {
    size_t idx = chars.size() - i - 1;
    if (token.substr(chars[idx].begin, chars[idx].end - chars[idx].begin) != c) break;
    stop_cut = idx;
  }
  if (stop_cut <= start_cut) return {};
  return std::string(token.substr(chars[start_cut].begin, chars[stop_cut - 1].end - chars[start_cut].begin));
}

}  // namespace

std::string normalize(const std::vector<NormalizerStep>& steps, std::string_view text) {
  std::string cur(text), next;
  for (const NormalizerStep& st : steps) {
    switch (st.kind) {
      case NormalizerStep::Kind::kReplace:
        next.clear();
        replace_all(cur, st.pattern, st.content, next);
        cur.swap(next);
        break;
      case NormalizerStep::Kind::kPrepend:
        if (!cur.empty()) cur.insert(0, st.content);  // HF prepends only to non-empty text
        break;
    }
  }
  return cur;
}

namespace {
// One Split step over one piece [b, e) of text; appends the resulting pieces.
void split_piece(const PreTokenizerStep& st, std::string_view text, Span piece, std::vector<Span>& out) {
  using B = PreTokenizerStep::Behavior;
  struct Part {
    Span span;
    bool is_match;
  };
  std::vector<Part> parts;
  std::string_view body = text.substr(piece.begin, piece.end - piece.begin);
  size_t i = 0;
  while (!st.pattern.empty()) {
    size_t j = body.find(st.pattern, i);
    if (j == std::string_view::npos) break;
    if (j > i) parts.push_back({{piece.begin + i, piece.begin + j}, false});
    parts.push_back({{piece.begin + j, piece.begin + j + st.pattern.size()}, true});
    i = j + st.pattern.size();
  }
  if (i < body.size()) parts.push_back({{piece.begin + i, piece.end}, false});
  if (st.invert) {
    for (Part& p : parts) p.is_match = !p.is_match;
  }
  std::vector<Span> res;
  bool prev_match = false;
  switch (st.behavior) {
    case B::kRemoved:
      for (const Part& p : parts)
        if (!p.is_match) res.push_back(p.span);
      break;
    case B::kIsolated:
      for (const Part& p : parts) res.push_back(p.span);
      break;
    case B::kMergedWithPrevious:
      for (const Part& p : parts) {
        if (p.is_match && !prev_match && !res.empty()) {
          res.back().end = p.span.end;
        } else {
          res.push_back(p.span);
        }
        prev_match = p.is_match;
      }
      break;
    case B::kMergedWithNext: {
      for (size_t k = parts.size(); k-- > 0;) {
        const Part& p = parts[k];
        if (p.is_match && !prev_match && !res.empty()) {
          res.back().begin = p.span.begin;
        } else {
          res.push_back(p.span);
        }
        prev_match = p.is_match;
      }
      std::reverse(res.begin(), res.end());
      break;
    }
    case B::kContiguous:
      for (size_t k = 0; k < parts.size(); ++k) {
        if (k > 0 && parts[k].is_match == prev_match) {
          res.back().end = parts[k].span.end;
        } else {
          res.push_back(parts[k].span);
        }
        prev_match = parts[k].is_match;
      }
      break;
  }
  for (const Span& s : res)
    if (s.end > s.begin) out.push_back(s);
}
}  // namespace

void pre_tokenize(const std::vector<PreTokenizerStep>& steps, std::string_view text, std::vector<Span>& out) {
  out.clear();
  if (text.empty()) return;
  out.push_back({0, text.size()});
  std::vector<Span> next;
  for (const PreTokenizerStep& st : steps) {
    next.clear();
    for (const Span& piece : out) split_piece(st, text, piece, next);
    out.swap(next);
  }
}

// ---------------------------------------------------------------------------- decoding

void check_decoder_steps(const std::vector<DecoderStep>& steps, const std::string& where) {
  bool fused = false, byte_fallback = false;
  for (const DecoderStep& st : steps) {
    switch (st.kind) {
      case DecoderStep::Kind::kFuse:
        fused = true;
        break;
      case DecoderStep::Kind::kByteFallback:
        if (fused || byte_fallback) {
          fail(ErrorCode::kUnsupported, where, ": ByteFallback decoder after Fuse or twice is not supported");
        }
        byte_fallback = true;
        break;
      case DecoderStep::Kind::kStrip:
        if (char_spans(st.content).size() != 1 || !utf8_valid(st.content)) {
          fail(ErrorCode::kCorruptFile, where, ": Strip decoder content must be one character");
        }
        break;
      case DecoderStep::Kind::kReplace:
        break;
    }
  }
}

DecodeStream::DecodeStream(const std::vector<DecoderStep>* steps, bool has_decoder)
    : steps_(steps), has_decoder_(has_decoder) {
  fuse_at_ = steps_->size();
  for (size_t i = 0; i < steps_->size(); ++i) {
    if ((*steps_)[i].kind == DecoderStep::Kind::kFuse) {
      fuse_at_ = i;
      break;
    }
  }
  post_.resize(steps_->size());
}

bool DecodeStream::holding() const {
  if (!bytes_.empty()) return true;
  for (const PostState& p : post_)
    if (!p.held.empty()) return true;
  return false;
}

void DecodeStream::push(std::string_view piece, std::string& out) {
  if (!has_decoder_) {
    if (!first_piece_) out.push_back(' ');
    first_piece_ = false;
    out.append(piece);
    return;
  }
  feed(0, std::string(piece), out);
}

void DecodeStream::feed(size_t stage, std::string token, std::string& out) {
  if (stage >= fuse_at_) {
    emit_fused(token, fuse_at_ + 1, out);
    return;
  }
  const DecoderStep& st = (*steps_)[stage];
  switch (st.kind) {
    case DecoderStep::Kind::kReplace: {
      std::string r;
      replace_all(token, st.pattern, st.content, r);
      feed(stage + 1, std::move(r), out);
      return;
    }
    case DecoderStep::Kind::kStrip:
      feed(stage + 1, strip_token(token, st.content, st.start, st.stop), out);
      return;
    case DecoderStep::Kind::kByteFallback: {
      uint8_t b;
      if (byte_piece(token, b)) {
        bytes_.push_back(b);
        return;
      }
      flush_stage(stage, out);
      feed(stage + 1, std::move(token), out);
      return;
    }
    case DecoderStep::Kind::kFuse:
      emit_fused(token, stage + 1, out);
      return;
  }
}

// Releases a pending byte run as HF does: the run as text when it is valid UTF-8 as a whole,
// else one U+FFFD per byte.
void DecodeStream::flush_stage(size_t stage, std::string& out) {
  if (bytes_.empty()) return;
  std::string run(bytes_.begin(), bytes_.end());
  size_t n = bytes_.size();
  bytes_.clear();
  if (utf8_valid(run)) {
    feed(stage + 1, std::move(run), out);
  } else {
    for (size_t i = 0; i < n; ++i) feed(stage + 1, "\xEF\xBF\xBD", out);
  }
}

// Post-Fuse stages see the whole text as one string; they hold back only what could still
// change: a possible start of a Replace pattern, or trailing characters Strip may remove.
void DecodeStream::emit_fused(std::string_view text, size_t post, std::string& out) {
  while (post < steps_->size() && (*steps_)[post].kind == DecoderStep::Kind::kFuse) ++post;
  if (post >= steps_->size()) {
    out.append(text);
    return;
  }
  const DecoderStep& st = (*steps_)[post];
  PostState& ps = post_[post];
  std::string buf = ps.held;
  buf.append(text);
  ps.held.clear();
  std::string res;
  if (st.kind == DecoderStep::Kind::kReplace) {
    if (st.pattern.empty()) {
      res = buf;
    } else {
      size_t i = 0;
      while (true) {
        size_t j = buf.find(st.pattern, i);
        if (j == std::string::npos) break;
        res.append(buf, i, j - i);
        res.append(st.content);
        i = j + st.pattern.size();
      }
      std::string_view tail(buf.data() + i, buf.size() - i);
      size_t keep = 0;  // longest proper prefix of the pattern that ends the tail
      for (size_t k = std::min(tail.size(), st.pattern.size() - 1); k > 0; --k) {
        if (tail.substr(tail.size() - k) == std::string_view(st.pattern).substr(0, k)) {
          keep = k;
          break;
        }
      }
      res.append(tail.substr(0, tail.size() - keep));
      ps.held.assign(tail.substr(tail.size() - keep));
    }
  } else {  // kStrip
    std::string_view c = st.content;
    size_t i = 0;
    while (!ps.start_done && ps.stripped_start < st.start && i < buf.size()) {
      if (buf.compare(i, c.size(), c) == 0) {
        i += c.size();
        ++ps.stripped_start;
      } else {
        ps.start_done = true;
      }
    }
    if (ps.stripped_start >= st.start) ps.start_done = true;
    std::string_view rest(buf.data() + i, buf.size() - i);
    size_t held = 0, count = 0;
    while (count < st.stop && rest.size() >= held + c.size() &&
           rest.substr(rest.size() - held - c.size(), c.size()) == c) {
      held += c.size();
      ++count;
    }
    res.assign(rest.substr(0, rest.size() - held));
    ps.held.assign(rest.substr(rest.size() - held));
  }
  if (!res.empty()) emit_fused(res, post + 1, out);
}

void DecodeStream::finish_post(size_t post, std::string& out) {
  while (post < steps_->size() && (*steps_)[post].kind == DecoderStep::Kind::kFuse) ++post;
  if (post >= steps_->size()) return;
  PostState& ps = post_[post];
  std::string held;
  held.swap(ps.held);
  // Replace: the held text can no longer complete the pattern. Strip: held text is trailing.
  if ((*steps_)[post].kind == DecoderStep::Kind::kReplace && !held.empty()) emit_fused(held, post + 1, out);
  finish_post(post + 1, out);
}

void DecodeStream::finish(std::string& out) {
  if (!has_decoder_) return;
  for (size_t s = 0; s < fuse_at_; ++s) {
    if ((*steps_)[s].kind == DecoderStep::Kind::kByteFallback) flush_stage(s, out);
  }
  finish_post(fuse_at_ + 1, out);
}

}  // namespace ember::text
