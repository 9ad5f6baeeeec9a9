#include "text/bpe.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/status.h"
#include "text/utf8.h"

namespace ember::text {

namespace {
constexpr uint64_t kEmptyKey = ~uint64_t{0};
constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // U+2581, Gemma's space
constexpr size_t kMaxCachedSegment = 128;                // bytes; longer segments rarely repeat
constexpr size_t kMaxCacheEntries = 1 << 18;

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, then a final mix
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return mix64(h);
}
}  // namespace

// ---------------------------------------------------------------------------- PieceMap

void PieceMap::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  if (cap > table_.size()) rehash(cap);
}

void PieceMap::rehash(size_t cap) {
  std::vector<Slot> old;
  old.swap(table_);
  table_.assign(cap, Slot{0, -1, 0, 0});
  size_t mask = cap - 1;
  for (const Slot& e : old) {
    if (e.id < 0) continue;
    size_t h = hash_bytes(std::string_view(arena_.data() + e.offset, e.length)) & mask;
    while (table_[h].id >= 0) h = (h + 1) & mask;
    table_[h] = e;
  }
}

void PieceMap::add(std::string_view piece, int32_t id) {
  if ((count_ + 1) * 2 > table_.size()) rehash(std::max<size_t>(16, table_.size() * 2));
  size_t mask = table_.size() - 1;
  uint64_t hv = hash_bytes(piece);
  uint32_t tag = uint32_t(hv >> 32);
  size_t h = hv & mask;
  while (table_[h].id >= 0) {
    Slot& e = table_[h];
    if (e.tag == tag && e.length == piece.size() &&
        std::memcmp(arena_.data() + e.offset, piece.data(), piece.size()) == 0) {
      e.id = id;
      return;
    }
    h = (h + 1) & mask;
  }
  table_[h] = Slot{tag, id, static_cast<uint32_t>(piece.size()), static_cast<uint32_t>(arena_.size())};
  arena_.append(piece);
  ++count_;
}

int32_t PieceMap::find(std::string_view piece) const {
  if (table_.empty()) return -1;
  size_t mask = table_.size() - 1;
  uint64_t hv = hash_bytes(piece);
  uint32_t tag = uint32_t(hv >> 32);
  size_t h = hv & mask;
  while (table_[h].id >= 0) {
    const Slot& e = table_[h];
    if (e.tag == tag && e.length == piece.size() &&
        std::memcmp(arena_.data() + e.offset, piece.data(), piece.size()) == 0) {
      return e.id;
    }
    h = (h + 1) & mask;
  }
  return -1;
}

// ---------------------------------------------------------------------------- BpeModel

BpeModel::BpeModel(std::vector<std::string> pieces, BpeOptions options)
    : pieces_(std::move(pieces)), opt_(options) {
  map_.reserve(pieces_.size());
  for (size_t i = 0; i < pieces_.size(); ++i) {
    if (!pieces_[i].empty()) map_.add(pieces_[i], static_cast<int32_t>(i));
  }
  merges_.assign(16, MergeSlot{kEmptyKey, 0, 0});
}

void BpeModel::grow_merges() {
  std::vector<MergeSlot> old;
  old.swap(merges_);
  merges_.assign(old.size() * 2, MergeSlot{kEmptyKey, 0, 0});
  size_t mask = merges_.size() - 1;
  for (const MergeSlot& m : old) {
    if (m.key == kEmptyKey) continue;
    size_t h = mix64(m.key) & mask;
    while (merges_[h].key != kEmptyKey) h = (h + 1) & mask;
    merges_[h] = m;
  }
}

void BpeModel::reserve_merges(size_t n) {
  size_t cap = merges_.size();
  while (cap < n * 2) cap <<= 1;
  if (cap > merges_.size()) {
    merges_.resize(cap / 2, MergeSlot{kEmptyKey, 0, 0});  // grow_merges doubles from here
    grow_merges();
  }
}

void BpeModel::add_merge(int32_t left, int32_t right, int32_t result) {
  if ((merge_count_ + 1) * 2 > merges_.size()) grow_merges();
  uint64_t key = (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
  size_t mask = merges_.size() - 1;
  size_t h = mix64(key) & mask;
  uint32_t rank = static_cast<uint32_t>(merge_count_);
  while (merges_[h].key != kEmptyKey) {
    if (merges_[h].key == key) {  // repeated pair: the later rank wins, as in HF's HashMap
      merges_[h].rank = rank;
      merges_[h].result = result;
      ++merge_count_;
      return;
    }
    h = (h + 1) & mask;
  }
  merges_[h] = MergeSlot{key, rank, result};
  ++merge_count_;
}

const BpeModel::MergeSlot* BpeModel::find_merge(int32_t left, int32_t right) const {
  uint64_t key = (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
  size_t mask = merges_.size() - 1;
  size_t h = mix64(key) & mask;
  while (true) {
    const MergeSlot& m = merges_[h];
    if (m.key == key) return &m;
    if (m.key == kEmptyKey) return nullptr;
    h = (h + 1) & mask;
  }
}

void BpeModel::finalize() {
  all_bytes_ = true;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    byte_ids_[b] = map_.find(name);
    if (byte_ids_[b] < 0) all_bytes_ = false;
  }
  // Segmenting a word before runs of U+2581 gives the same result as merging the whole word iff
  // no merge can produce a symbol crossing such a cut. Symbols are vocabulary pieces, so collect
  // the characters that precede a U+2581 inside any piece and never cut after those. Byte tokens
  // stand for other text than their piece, so any merge touching them disables segmentation;
  // so do unknown tokens (they fuse across characters) and ignore_merges (whole-word lookup).
  segment_ = opt_.byte_fallback && all_bytes_ && !opt_.ignore_merges && map_.find(kMetaspace) >= 0;
  std::vector<bool> is_byte(pieces_.size(), false);
  for (int b = 0; b < 256 && segment_; ++b) is_byte[byte_ids_[b]] = true;
  for (const MergeSlot& m : merges_) {
    if (!segment_) break;
    if (m.key == kEmptyKey) continue;
    int32_t l = int32_t(m.key >> 32), r = int32_t(m.key & 0xffffffffu);
    if (is_byte[l] || is_byte[r] || l == opt_.unk_id || r == opt_.unk_id) segment_ = false;
  }
  no_cut_after_.clear();
  for (const std::string& p : pieces_) {
    auto* s = reinterpret_cast<const unsigned char*>(p.data());
    size_t i = 0;
    uint32_t prev = 0;
    bool have_prev = false;
    while (i < p.size()) {
      size_t len = utf8_seq_len(s + i, p.size() - i);
      if (len == 0) len = 1;
      uint32_t cp = utf8_decode(s + i, len);
      if (cp == 0x2581 && have_prev && prev != 0x2581) no_cut_after_.push_back(prev);
      prev = cp;
      have_prev = true;
      i += len;
    }
  }
  std::sort(no_cut_after_.begin(), no_cut_after_.end());
  no_cut_after_.erase(std::unique(no_cut_after_.begin(), no_cut_after_.end()), no_cut_after_.end());
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (segment_) {
    tokenize_segments(word, out);
  } else {
    tokenize_word(word, out);
  }
}

void BpeModel::tokenize_segments(std::string_view word, std::vector<int32_t>& out) const {
  std::unique_lock<std::mutex> lock(cache_mu_, std::try_to_lock);
  bool cached = lock.owns_lock();
  if (cached && cache_.size() > kMaxCacheEntries) {
    cache_.clear();
    cache_ids_.clear();
  }
  auto* s = reinterpret_cast<const unsigned char*>(word.data());
  size_t n = word.size(), seg_start = 0, i = 0;
  uint32_t prev = 0;
  auto emit = [&](size_t end) {
    std::string_view seg = word.substr(seg_start, end - seg_start);
    if (!cached || seg.size() > kMaxCachedSegment) {
      tokenize_word(seg, out);
      return;
    }
    std::string key(seg);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      out.insert(out.end(), cache_ids_.begin() + it->second.first,
                 cache_ids_.begin() + it->second.first + it->second.second);
      return;
    }
    size_t before = out.size();
    tokenize_word(seg, out);
    uint32_t off = static_cast<uint32_t>(cache_ids_.size());
    cache_ids_.insert(cache_ids_.end(), out.begin() + before, out.end());
    cache_.emplace(std::move(key), std::make_pair(off, static_cast<uint32_t>(out.size() - before)));
  };
  while (i < n) {
    size_t len = s[i] < 0x80 ? 1 : utf8_seq_len(s + i, n - i);
    if (len == 0) len = 1;
    uint32_t cp = len == 1 ? s[i] : utf8_decode(s + i, len);
    if (cp == 0x2581 && i > seg_start && prev != 0x2581 &&
        !std::binary_search(no_cut_after_.begin(), no_cut_after_.end(), prev)) {
      emit(i);
      seg_start = i;
    }
    prev = cp;
    i += len;
  }
  emit(n);
}

namespace {
struct Sym {
  int32_t id;
  int32_t prev;
  int32_t next;
  uint32_t len;  // bytes; 0 once merged into its left neighbour
};
struct Cand {
  uint32_t rank;
  uint32_t pos;
  int32_t left;
  int32_t right;
  int32_t result;
};
// Heap order: lowest rank first, then leftmost position (HF's Merge ordering).
struct CandLess {
  bool operator()(const Cand& a, const Cand& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};
}  // namespace

void BpeModel::tokenize_word(std::string_view word, std::vector<int32_t>& out) const {
  if (opt_.ignore_merges) {
    int32_t id = map_.find(word);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  thread_local std::vector<Sym> syms;
  thread_local std::vector<Cand> heap;
  syms.clear();
  heap.clear();
  auto add = [&](int32_t id, uint32_t len) {
    int32_t n = static_cast<int32_t>(syms.size());
    if (n > 0) syms.back().next = n;
    syms.push_back(Sym{id, n - 1, -1, len});
  };
  // Characters to symbols, mirroring HF's merge_word (including where a pending unknown is
  // flushed: not before byte-fallback tokens).
  auto* s = reinterpret_cast<const unsigned char*>(word.data());
  size_t n = word.size(), i = 0;
  int32_t unk_len = -1;  // pending unknown run, -1 when none
  while (i < n) {
    size_t len = s[i] < 0x80 ? 1 : utf8_seq_len(s + i, n - i);
    if (len == 0) len = 1;
    int32_t id = map_.find(word.substr(i, len));
    if (id >= 0) {
      if (unk_len >= 0) add(opt_.unk_id, uint32_t(unk_len));
      unk_len = -1;
      add(id, uint32_t(len));
    } else if (opt_.byte_fallback && all_bytes_) {
      for (size_t k = 0; k < len; ++k) add(byte_ids_[s[i + k]], 1);
    } else if (opt_.byte_fallback && [&] {
                 for (size_t k = 0; k < len; ++k)
                   if (byte_ids_[s[i + k]] < 0) return false;
                 return true;
               }()) {
      for (size_t k = 0; k < len; ++k) add(byte_ids_[s[i + k]], 1);
    } else if (opt_.unk_id >= 0) {
      if (unk_len >= 0 && opt_.fuse_unk) {
        unk_len += int32_t(len);
      } else {
        if (unk_len >= 0) add(opt_.unk_id, uint32_t(unk_len));
        unk_len = int32_t(len);
      }
    }
    i += len;
  }
  if (unk_len >= 0) add(opt_.unk_id, uint32_t(unk_len));

  CandLess less;
  for (size_t k = 0; k + 1 < syms.size(); ++k) {
    if (const MergeSlot* m = find_merge(syms[k].id, syms[k + 1].id)) {
      heap.push_back(Cand{m->rank, uint32_t(k), syms[k].id, syms[k + 1].id, m->result});
    }
  }
  std::make_heap(heap.begin(), heap.end(), less);
  auto push = [&](uint32_t pos, int32_t l, int32_t r) {
    if (const MergeSlot* m = find_merge(l, r)) {
      heap.push_back(Cand{m->rank, pos, l, r, m->result});
      std::push_heap(heap.begin(), heap.end(), less);
    }
  };
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), less);
    Cand top = heap.back();
    heap.pop_back();
    Sym& cur = syms[top.pos];
    if (cur.len == 0 || cur.next < 0) continue;
    Sym& right = syms[cur.next];
    // A stale candidate: one side changed since it was pushed (same pair => same result).
    if (cur.id != top.left || right.id != top.right) continue;
    cur.id = top.result;
    cur.len += right.len;
    right.len = 0;
    cur.next = right.next;
    if (cur.next >= 0) syms[cur.next].prev = int32_t(top.pos);
    if (cur.prev >= 0) push(uint32_t(cur.prev), syms[cur.prev].id, cur.id);
    if (cur.next >= 0) push(top.pos, cur.id, syms[cur.next].id);
  }
  for (const Sym& sym : syms) {
    if (sym.len != 0) out.push_back(sym.id);
  }
}

}  // namespace ember::text
