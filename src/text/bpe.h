// Byte-pair-encoding model over UTF-8 characters (the HF `tokenizers` BPE model as Gemma uses
// it): each character starts as its own symbol (or as <0xXX> byte tokens when byte_fallback is
// on and the character is not in the vocabulary), then adjacent pairs are merged lowest rank
// first (ties: leftmost first) until no pair has a merge.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ember::text {

// Maps piece strings to ids; the pieces live in one arena (262k small strings). Each slot holds
// hash tag, id, length and arena offset, so a lookup touches one slot and the matching bytes.
class PieceMap {
 public:
  void reserve(size_t n);
  // Adds piece with id; a repeated piece keeps the last id (as a JSON object map would).
  void add(std::string_view piece, int32_t id);
  int32_t find(std::string_view piece) const;  // -1 when absent
  size_t size() const { return count_; }

 private:
  struct Slot {
    uint32_t tag;  // high hash bits
    int32_t id;    // -1: empty slot
    uint32_t length;
    uint32_t offset;
  };
  void rehash(size_t cap);
  std::string arena_;
  std::vector<Slot> table_;
  size_t count_ = 0;
};

struct BpeOptions {
  bool byte_fallback = false;
  bool fuse_unk = false;
  bool ignore_merges = false;
  int32_t unk_id = -1;  // -1: no unknown token
};

class BpeModel {
 public:
  // pieces[id] is the token string of id (empty for ids with no piece).
  BpeModel(std::vector<std::string> pieces, BpeOptions options);
  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  // Adds the merge of pair (left,right) with the next rank; result is the id of left+right.
  // A repeated pair takes the later rank (HF builds its merge map the same way).
  void add_merge(int32_t left, int32_t right, int32_t result);
  // Call once after all merges: sets up byte fallback and the segmentation used for caching.
  void finalize();
  void set_unk_id(int32_t id) { opt_.unk_id = id; }
  void set_options(const BpeOptions& o) { opt_ = o; }
  // Sizes the merge table for about n merges (avoids rehashing while loading).
  void reserve_merges(size_t n);

  // Appends the ids of one pre-tokenized word.
  void tokenize(std::string_view word, std::vector<int32_t>& out) const;

  int32_t piece_to_id(std::string_view piece) const { return map_.find(piece); }
  const std::string& id_to_piece(int32_t id) const { return pieces_[id]; }
  size_t size() const { return pieces_.size(); }
  size_t merge_count() const { return merge_count_; }

 private:
  struct MergeSlot {
    uint64_t key;  // (left << 32) | right; kEmpty when unused
    uint32_t rank;
    int32_t result;
  };
  const MergeSlot* find_merge(int32_t left, int32_t right) const;
  void grow_merges();
  void tokenize_word(std::string_view word, std::vector<int32_t>& out) const;
  void tokenize_segments(std::string_view word, std::vector<int32_t>& out) const;

  std::vector<std::string> pieces_;
  PieceMap map_;
  BpeOptions opt_;
  std::vector<MergeSlot> merges_;
  size_t merge_count_ = 0;
  int32_t byte_ids_[256];
  bool all_bytes_ = false;
  // Words are cut before each run of U+2581 unless a vocabulary piece could span that cut; the
  // pieces are then independent, so their results can be cached (see finalize()).
  bool segment_ = false;
  std::vector<uint32_t> no_cut_after_;  // sorted code points that precede U+2581 inside a piece

  // Cache of segment -> ids, shared by encode calls (taken with try_lock: never blocks).
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::pair<uint32_t, uint32_t>> cache_;
  mutable std::vector<int32_t> cache_ids_;
};

}  // namespace ember::text
