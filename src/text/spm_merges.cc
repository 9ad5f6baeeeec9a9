#include "text/spm_merges.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"

namespace ember::text {

namespace {

struct Candidate {
  float score;
  uint32_t len_left;   // code points
  uint32_t len_right;  // code points
  uint32_t seq;        // generation order: piece id, then split position
  SpmMerge m;
};

bool is_lead_byte(unsigned char c) { return (c & 0xC0) != 0x80; }

}  // namespace

std::vector<SpmMerge> spm_merges(const BpeModel& map, const std::vector<float>& rank_score) {
  EMBER_CHECK(map.size() == rank_score.size());
  std::vector<Candidate> cands;
  cands.reserve(map.size() * 2);
  uint32_t seq = 0;
  for (size_t id = 0; id < map.size(); ++id) {
    const std::string& p = map.id_to_piece(static_cast<int32_t>(id));
    // A repeated piece is visited once, at the id the map holds (its last id). The converter
    // visits it at its first position; vocabularies with repeated pieces may differ in order.
    int32_t res = map.piece_to_id(p);
    if (res != static_cast<int32_t>(id) || p.size() < 2) continue;
    float score = rank_score[res];
    if (std::isnan(score)) fail(ErrorCode::kInvalidCheckpoint, "GGUF vocabulary: token ", res, " has a NaN score");
    uint32_t total = 0;
    for (unsigned char c : p) total += is_lead_byte(c);
    uint32_t left_cp = 0;
    for (size_t k = 1; k < p.size(); ++k) {
      if (is_lead_byte(static_cast<unsigned char>(p[k - 1]))) ++left_cp;
      if (!is_lead_byte(static_cast<unsigned char>(p[k]))) continue;
      int32_t l = map.piece_to_id(std::string_view(p.data(), k));
      if (l < 0) continue;
      int32_t r = map.piece_to_id(std::string_view(p.data() + k, p.size() - k));
      if (r < 0) continue;
      cands.push_back({score, left_cp, total - left_cp, seq++, {l, r, res}});
    }
  }
  std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.len_left != b.len_left) return a.len_left > b.len_left;
    if (a.len_right != b.len_right) return a.len_right > b.len_right;
    return a.seq < b.seq;
  });
  std::vector<SpmMerge> out;
  out.reserve(cands.size());
  for (const Candidate& c : cands) out.push_back(c.m);
  return out;
}

}  // namespace ember::text
