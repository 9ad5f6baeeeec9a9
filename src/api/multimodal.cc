// Prompts with images and audio: Model::encode_prompt expands each <|image|> / <|audio|> marker
// into the layout the Gemma 4 processor produces (begin, n soft placeholders, end; the n soft
// tokens come from the model's tower), gemma4-multimodal.md §3.2, §4.5.
#include <fstream>
#include <sstream>

#include "api/model_impl.h"
#include "core/status.h"

namespace ember {

Media Media::from_file(const std::string& path, MediaKind kind) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail(ErrorCode::kNotFound, path, ": cannot open ", kind == MediaKind::kImage ? "image" : "audio",
         " file");
  std::ostringstream ss;
  ss << in.rdbuf();
  Media m;
  m.kind = kind;
  m.bytes = ss.str();
  m.source = path;
  return m;
}

MediaTokenIds ModelImpl::media_token_ids(MediaKind kind) const {
  const ModelSummary& s = lm_->summary();
  return kind == MediaKind::kImage ? s.image_ids : s.audio_ids;
}

namespace {
const char* kind_name(MediaKind k) { return k == MediaKind::kImage ? "image" : "audio"; }
}  // namespace

Prompt ModelImpl::encode_prompt(std::string_view text, std::span<const Media> media, bool add_bos) const {
  const std::vector<int32_t> ids = tokenize(text, add_bos, /*parse_special=*/true);
  const MediaKind kinds[2] = {MediaKind::kImage, MediaKind::kAudio};
  std::vector<const Media*> queue[2];  // media of each kind, in order
  for (const Media& m : media) queue[m.kind == MediaKind::kImage ? 0 : 1].push_back(&m);
  int64_t markers[2] = {0, 0};
  for (int k = 0; k < 2; ++k) {
    const MediaTokenIds t = media_token_ids(kinds[k]);
    for (int32_t id : ids) markers[k] += t.soft >= 0 && id == t.soft;
    if (!queue[k].empty() && t.soft < 0)
      fail(ErrorCode::kUnsupported, info_.path, ": this model has no ", kind_name(kinds[k]), " tower (",
           queue[k][0]->source, ")");
    if (markers[k] != int64_t(queue[k].size()))
      fail(ErrorCode::kInvalidArgument, "the prompt has ", markers[k], " <|", kind_name(kinds[k]),
           "|> marker", markers[k] == 1 ? "" : "s", " but ", queue[k].size(), " ", kind_name(kinds[k]),
           queue[k].size() == 1 ? " was" : "s were", " given");
  }
  Prompt p;
  size_t next[2] = {0, 0};
  const int64_t H = info_.hidden_size;
  for (int32_t id : ids) {
    int k = -1;
    for (int j = 0; j < 2; ++j)
      if (markers[j] > 0 && id == media_token_ids(kinds[j]).soft) k = j;
    if (k < 0) {
      p.tokens.push_back(id);
      continue;
    }
    const Media& m = *queue[k][next[k]++];
    const MediaEncoder* enc = lm_->media_encoder(m.kind);
    if (!enc)
      fail(ErrorCode::kUnsupported, info_.path, ": ", kind_name(m.kind), " tower is not loaded (", m.source,
           ")");
    std::vector<float> rows = enc->encode(m);
    const int64_t n = int64_t(rows.size()) / H;
    const MediaTokenIds t = media_token_ids(m.kind);
    p.tokens.push_back(t.begin);
    p.tokens.insert(p.tokens.end(), size_t(n), t.soft);
    p.tokens.push_back(t.end);
    p.soft_tokens.insert(p.soft_tokens.end(), rows.begin(), rows.end());
  }
  return p;
}

}  // namespace ember
