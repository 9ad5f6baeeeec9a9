// Per-sequence KV cache in backend memory.
//
// Each KV-owning layer has one LayerCache. Full-attention layers grow with the sequence
// (capacity doubles, up to the context limit). Sliding layers keep a ring of
// `window + max_chunk` slots: a chunk of up to `max_chunk` new tokens is written first and
// then attended together with everything still in the ring, so no query ever loses a key of
// its window (the oldest slots overwritten are >= window positions behind the chunk's first
// query). Slots carry their absolute position (-1 = empty); attention masks by position,
// so storage order does not matter. KV-shared layers own no cache: they attend over their
// donor's LayerCache after the donor wrote the current step.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"

namespace ember {

struct LayerCacheSpec {
  int n_kv_heads = 0;
  int head_dim = 0;
  int64_t window = 0;  // 0 = full attention (growing), else sliding ring
};

class LayerCache {
 public:
  LayerCache(const LayerCache&) = delete;
  LayerCache(Backend& backend, const LayerCacheSpec& spec, int64_t max_chunk, int64_t max_context);

  // Makes room for T new tokens at positions [pos0, pos0+T) and returns the slot index of each
  // (slots[t]); the caller writes K/V rows there with write(). T must be <= max_chunk for rings.
  void reserve(int32_t pos0, int64_t T, std::vector<int64_t>* slots);
  // Copies K and V rows ([T, n_kv, hd] backend buffers) into the given slots.
  void write(const float* k, const float* v, int64_t T, const std::vector<int64_t>& slots);

  const float* keys() const { return k_.data(); }       // [slots, n_kv, hd]
  const float* values() const { return v_.data(); }     // [slots, n_kv, hd]
  const int32_t* positions() const { return pos_.data(); }  // host [slots]
  int64_t slots() const { return int64_t(pos_.size()); }     // slots to scan in attention
  int64_t window() const { return spec_.window; }
  const LayerCacheSpec& spec() const { return spec_; }

  // Drops every entry at position >= n (prefix reuse). Sliding rings can only rewind within
  // what they still hold; returns false if the rewind is impossible (caller must recompute).
  bool truncate(int32_t n);
  void clear();
  size_t bytes() const { return 2 * size_t(capacity_) * row_floats() * sizeof(float); }
  // bytes() at the longest sequence: full layers at max_context, rings as allocated.
  size_t max_bytes() const {
    return 2 * size_t(spec_.window > 0 ? capacity_ : max_context_) * row_floats() * sizeof(float);
  }
  // A deep copy (same backend).
  std::unique_ptr<LayerCache> clone() const;

 private:
  size_t row_floats() const { return size_t(spec_.n_kv_heads) * size_t(spec_.head_dim); }
  void grow(int64_t min_capacity);

  Backend* backend_;
  LayerCacheSpec spec_;
  int64_t max_context_;
  int64_t capacity_ = 0;
  BackendBuffer k_, v_;
  std::vector<int32_t> pos_;  // position held by each slot, -1 = empty
  int64_t used_ = 0;          // full layers: slots in use (== next slot)
  int32_t min_pos_ = 0;       // ring: smallest position that can still be held after eviction
};

// All layer caches of one sequence plus its token count.
class KvCache {
 public:
  KvCache() = default;
  // specs[i] for every layer; layers with owns[i] == false get no cache.
  KvCache(Backend& backend, const std::vector<LayerCacheSpec>& specs, const std::vector<bool>& owns,
          int64_t max_chunk, int64_t max_context);

  LayerCache& layer(size_t i) { return *layers_[i]; }
  bool owns(size_t i) const { return layers_[i] != nullptr; }
  int32_t n_tokens() const { return n_tokens_; }
  void set_n_tokens(int32_t n) { n_tokens_ = n; }
  int64_t max_chunk() const { return max_chunk_; }
  int64_t max_context() const { return max_context_; }
  bool truncate(int32_t n);
  void clear();
  size_t bytes() const;
  size_t max_bytes() const;  // bytes() when the sequence reaches max_context
  KvCache clone() const;

 private:
  std::vector<std::unique_ptr<LayerCache>> layers_;
  int32_t n_tokens_ = 0;
  int64_t max_chunk_ = 0, max_context_ = 0;
};

}  // namespace ember
