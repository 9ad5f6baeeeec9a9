#include "runtime/kv_cache.h"

#include <algorithm>

#include "core/status.h"

namespace ember {

LayerCache::LayerCache(Backend& backend, const LayerCacheSpec& spec, int64_t max_chunk, int64_t max_context)
    : backend_(&backend), spec_(spec), max_context_(max_context) {
  EMBER_CHECK(spec.n_kv_heads > 0 && spec.head_dim > 0 && max_chunk > 0);
  if (spec_.window > 0) {
    capacity_ = std::min<int64_t>(spec_.window + max_chunk, std::max<int64_t>(max_context, 1));
    k_ = BackendBuffer(backend, size_t(capacity_) * row_floats());
    v_ = BackendBuffer(backend, size_t(capacity_) * row_floats());
    pos_.assign(size_t(capacity_), -1);
  }
}

void LayerCache::grow(int64_t min_capacity) {
  int64_t cap = std::max<int64_t>(capacity_, 256);
  while (cap < min_capacity) cap *= 2;
  cap = std::min(cap, std::max(max_context_, min_capacity));
  BackendBuffer k(*backend_, size_t(cap) * row_floats()), v(*backend_, size_t(cap) * row_floats());
  if (used_ > 0) {
    backend_->copy(k.data(), k_.data(), size_t(used_) * row_floats());
    backend_->copy(v.data(), v_.data(), size_t(used_) * row_floats());
  }
  k_ = std::move(k);
  v_ = std::move(v);
  capacity_ = cap;
}

void LayerCache::reserve(int32_t pos0, int64_t T, std::vector<int64_t>* slots) {
  slots->resize(size_t(T));
  if (spec_.window <= 0) {
    if (used_ + T > capacity_) grow(used_ + T);
    for (int64_t t = 0; t < T; ++t) (*slots)[size_t(t)] = used_ + t;
    used_ += T;
    pos_.resize(size_t(used_), -1);
    for (int64_t t = 0; t < T; ++t) pos_[size_t((*slots)[size_t(t)])] = pos0 + int32_t(t);
    return;
  }
  EMBER_CHECK(T <= capacity_);
  for (int64_t t = 0; t < T; ++t) {
    int64_t s = (int64_t(pos0) + t) % capacity_;
    (*slots)[size_t(t)] = s;
    pos_[size_t(s)] = pos0 + int32_t(t);
  }
  min_pos_ = std::max<int32_t>(0, pos0 + int32_t(T) - int32_t(capacity_));
}

void LayerCache::write(const float* k, const float* v, int64_t T, const std::vector<int64_t>& slots) {
  const size_t row = row_floats();
  // Contiguous runs of slots are copied in one call.
  int64_t t = 0;
  while (t < T) {
    int64_t run = 1;
    while (t + run < T && slots[size_t(t + run)] == slots[size_t(t)] + run) ++run;
    size_t dst = size_t(slots[size_t(t)]) * row;
    backend_->copy(k_.data() + dst, k + size_t(t) * row, size_t(run) * row);
    backend_->copy(v_.data() + dst, v + size_t(t) * row, size_t(run) * row);
    t += run;
  }
}

bool LayerCache::truncate(int32_t n) {
  if (spec_.window <= 0) {
    used_ = std::min<int64_t>(used_, n);
    pos_.resize(size_t(used_));
    return true;
  }
  // A ring holds positions [min_pos_, end); rewinding to n is exact only if every position
  // the next queries need (>= n - window + 1) is still held.
  if (n > 0 && int64_t(n) - spec_.window + 1 < min_pos_) return false;
  for (auto& p : pos_)
    if (p >= n) p = -1;
  return true;
}

void LayerCache::clear() {
  if (spec_.window <= 0) {
    used_ = 0;
    pos_.clear();
  } else {
    std::fill(pos_.begin(), pos_.end(), -1);
    min_pos_ = 0;
  }
}

std::unique_ptr<LayerCache> LayerCache::clone() const {
  auto c = std::unique_ptr<LayerCache>(new LayerCache(*backend_, spec_, 1, max_context_));
  c->capacity_ = capacity_;
  c->k_ = BackendBuffer(*backend_, size_t(capacity_) * row_floats());
  c->v_ = BackendBuffer(*backend_, size_t(capacity_) * row_floats());
  if (capacity_ > 0) {
    backend_->copy(c->k_.data(), k_.data(), size_t(capacity_) * row_floats());
    backend_->copy(c->v_.data(), v_.data(), size_t(capacity_) * row_floats());
  }
  c->pos_ = pos_;
  c->used_ = used_;
  c->min_pos_ = min_pos_;
  return c;
}

KvCache KvCache::clone() const {
  KvCache c;
  c.max_chunk_ = max_chunk_;
  c.max_context_ = max_context_;
  c.n_tokens_ = n_tokens_;
  c.layers_.resize(layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i)
    if (layers_[i]) c.layers_[i] = layers_[i]->clone();
  return c;
}

KvCache::KvCache(Backend& backend, const std::vector<LayerCacheSpec>& specs, const std::vector<bool>& owns,
                 int64_t max_chunk, int64_t max_context)
    : max_chunk_(max_chunk), max_context_(max_context) {
  layers_.resize(specs.size());
  for (size_t i = 0; i < specs.size(); ++i)
    if (owns[i]) layers_[i] = std::make_unique<LayerCache>(backend, specs[i], max_chunk, max_context);
}

bool KvCache::truncate(int32_t n) {
  if (n >= n_tokens_) return true;
  for (auto& l : layers_)
    if (l && !l->truncate(n)) return false;
  n_tokens_ = n;
  return true;
}

void KvCache::clear() {
  for (auto& l : layers_)
    if (l) l->clear();
  n_tokens_ = 0;
}

size_t KvCache::max_bytes() const {
  size_t n = 0;
  for (auto& l : layers_)
    if (l) n += l->max_bytes();
  return n;
}

size_t KvCache::bytes() const {
  size_t n = 0;
  for (auto& l : layers_)
    if (l) n += l->bytes();
  return n;
}

}  // namespace ember
