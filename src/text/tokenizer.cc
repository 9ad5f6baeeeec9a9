#include "text/tokenizer.h"

#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "core/gzip.h"
#include "core/status.h"
#include "text/spm_merges.h"
#include "text/tokenizer_impl.h"
#include "text/utf8.h"

namespace ember {

using text::AddedToken;

namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// "<bos>" or {"content": "<bos>", ...} in tokenizer_config.json.
std::string config_token(const nlohmann::json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  return {};
}

void apply_tokenizer_config(const std::string& path, Tokenizer::Impl& impl) {
  std::string text = read_file_maybe_gzip(path, size_t{64} << 20);
  nlohmann::json cfg;
  try {
    cfg = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kCorruptFile, path, ": invalid JSON: ", e.what());
  }
  if (!cfg.is_object()) fail(ErrorCode::kCorruptFile, path, ": expected a JSON object");
  auto id_of = [&](const char* key, int32_t& slot) {
    std::string piece = config_token(cfg, key);
    if (piece.empty()) return;
    int32_t id = impl.added.find(piece);
    if (id < 0) id = impl.model->piece_to_id(piece);
    if (id < 0) fail(ErrorCode::kInvalidCheckpoint, path, ": ", key, " \"", piece, "\" is not in the vocabulary");
    slot = id;
  };
  id_of("bos_token", impl.bos);
  id_of("eos_token", impl.eos);
  id_of("pad_token", impl.pad);
  id_of("unk_token", impl.unk);
  auto ab = cfg.find("add_bos_token");
  if (ab != cfg.end() && ab->is_boolean()) impl.add_bos = ab->get<bool>();
}

}  // namespace

void Tokenizer::Impl::finalize() {
  EMBER_CHECK(model != nullptr);
  added = text::AddedVocab(std::move(added_tokens), normalizer);
  added_tokens.clear();
  text::check_decoder_steps(decoder, source + ": decoder");
  guess_special_ids();
}

void Tokenizer::Impl::guess_special_ids() {
  auto find = [&](std::initializer_list<const char*> names) -> int32_t {
    for (const char* n : names) {
      int32_t id = added.find(n);
      if (id < 0) id = model->piece_to_id(n);
      if (id >= 0) return id;
    }
    return -1;
  };
  if (bos < 0) bos = find({"<bos>", "<s>"});
  if (eos < 0) eos = find({"<eos>", "</s>"});
  if (pad < 0) pad = find({"<pad>"});
  if (unk < 0) unk = find({"<unk>"});
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_json(std::string_view json, const std::string& source) {
  auto impl = std::make_unique<Impl>();
  try {
    text::parse_tokenizer_json(json, source, *impl);
  } catch (const nlohmann::json::exception& e) {
    // Every field is type-checked before use; this is the net for one that slipped through.
    fail(ErrorCode::kCorruptFile, source, ": unexpected JSON value: ", e.what());
  }
  impl->finalize();
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_file(const std::string& path) {
  std::string file = path, config;
  if (is_dir(path)) {
    std::string dir = path.back() == '/' ? path : path + "/";
    file = dir + "tokenizer.json";
    if (!exists(file) && exists(file + ".gz")) file += ".gz";
    if (!exists(file)) fail(ErrorCode::kNotFound, path, ": no tokenizer.json in this directory");
    config = dir + "tokenizer_config.json";
    if (!exists(config) && exists(config + ".gz")) config += ".gz";
    if (!exists(config)) config.clear();
  }
  std::string json = read_file_maybe_gzip(file, size_t{1} << 30);
  auto impl = std::make_unique<Impl>();
  text::parse_tokenizer_json(json, file, *impl);
  impl->finalize();
  if (!config.empty()) apply_tokenizer_config(config, *impl);
  return Tokenizer(std::move(impl));
}

namespace {

// The token strings the BPE model uses. SentencePiece ("llama") GGUF vocabularies store some
// whitespace-run pieces with plain spaces where the tokenizer.json of the same vocabulary (and
// the normalized text the model sees) has U+2581, so those are mapped.
std::vector<std::string> vocab_pieces(const VocabData& v, bool spm) {
  std::vector<std::string> pieces = v.tokens;
  if (!spm) return pieces;
  for (size_t i = 0; i < pieces.size(); ++i) {
    int32_t t = v.token_types.empty() ? VocabData::kNormal : v.token_types[i];
    if (t != VocabData::kNormal && t != VocabData::kUserDefined) continue;
    std::string& p = pieces[i];
    for (size_t at = p.find(' '); at != std::string::npos; at = p.find(' ', at + 3)) p.replace(at, 1, "\xE2\x96\x81");
  }
  return pieces;
}

void add_listed_merges(const VocabData& v, const std::string& src, Tokenizer::Impl& impl) {
  impl.merges.reserve(v.merges.size());
  for (size_t r = 0; r < v.merges.size(); ++r) {
    const std::string& m = v.merges[r];
    // "left right"; a piece may itself contain a space, so try every split point and take the
    // first whose halves and concatenation are all in the vocabulary.
    if (m.find(' ') == std::string::npos)
      fail(ErrorCode::kInvalidCheckpoint, src, ": merge ", r, " \"", m, "\" is not two space-separated tokens");
    int32_t l = -1, rr = -1, res = -1;
    for (size_t sp = m.find(' '); sp != std::string::npos && res < 0; sp = m.find(' ', sp + 1)) {
      std::string_view a(m.data(), sp), b(m.data() + sp + 1, m.size() - sp - 1);
      int32_t la = impl.model->piece_to_id(a), lb = impl.model->piece_to_id(b);
      int32_t lr = (la >= 0 && lb >= 0) ? impl.model->piece_to_id(std::string(a) + std::string(b)) : -1;
      if (lr >= 0) l = la, rr = lb, res = lr;
    }
    if (res < 0) fail(ErrorCode::kInvalidCheckpoint, src, ": merge ", r, " \"", m, "\" uses unknown tokens");
    impl.model->add_merge(l, rr, res);
    impl.merges.emplace_back(l, rr);
  }
}

// SentencePiece BPE: the merges HF's converter derives from the scores (text/spm_merges.h). The
// converter reads SentencePiece's scores, where only normal pieces carry one (others are 0).
void add_score_merges(const VocabData& v, Tokenizer::Impl& impl) {
  std::vector<float> rank(v.scores.size());
  for (size_t i = 0; i < rank.size(); ++i) {
    int32_t t = v.token_types.empty() ? VocabData::kNormal : v.token_types[i];
    rank[i] = t == VocabData::kNormal ? v.scores[i] : 0.0f;
  }
  std::vector<text::SpmMerge> merges = text::spm_merges(*impl.model, rank);
  impl.model->reserve_merges(merges.size());
  impl.merges.reserve(merges.size());
  for (const text::SpmMerge& m : merges) {
    impl.model->add_merge(m.left, m.right, m.result);
    impl.merges.emplace_back(m.left, m.right);
  }
}

}  // namespace

Tokenizer Tokenizer::from_vocab(const VocabData& v) {
  const std::string src = "GGUF vocabulary";
  const bool spm = v.model == "llama";
  if (!spm && v.model != "gemma4" && v.model != "gemma") {
    fail(ErrorCode::kUnsupported, src, ": tokenizer model \"", v.model,
         "\" is not supported (supported: gemma4 BPE with merges, llama SentencePiece BPE)");
  }
  if (!spm && v.merges.empty()) fail(ErrorCode::kUnsupported, src, ": \"", v.model, "\" vocabulary has no merges");
  if (spm && v.add_space_prefix) {
    fail(ErrorCode::kUnsupported, src, ": SentencePiece vocabularies with add_space_prefix are not supported");
  }
  if (spm && v.merges.empty() && v.scores.size() != v.tokens.size()) {
    fail(ErrorCode::kInvalidCheckpoint, src, ": ", v.tokens.size(), " tokens but ", v.scores.size(), " scores");
  }
  if (!v.token_types.empty() && v.token_types.size() != v.tokens.size()) {
    fail(ErrorCode::kInvalidCheckpoint, src, ": ", v.tokens.size(), " tokens but ", v.token_types.size(), " token types");
  }
  auto check_id = [&](int32_t id, const char* what) {
    if (id < -1 || id >= static_cast<int64_t>(v.tokens.size())) {
      fail(ErrorCode::kInvalidCheckpoint, src, ": ", what, " id ", id, " is out of range (", v.tokens.size(), " tokens)");
    }
  };
  check_id(v.bos_id, "BOS");
  check_id(v.eos_id, "EOS");
  check_id(v.pad_id, "padding");
  check_id(v.unk_id, "unknown-token");
  auto impl = std::make_unique<Impl>();
  impl->source = src;
  text::BpeOptions opt;
  opt.byte_fallback = true;
  opt.fuse_unk = true;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.tokens[i].empty()) fail(ErrorCode::kInvalidCheckpoint, src, ": token ", i, " is empty");
    if (!text::utf8_valid(v.tokens[i])) fail(ErrorCode::kInvalidCheckpoint, src, ": token ", i, " is not valid UTF-8");
  }
  impl->model = std::make_unique<text::BpeModel>(vocab_pieces(v, spm), opt);
  int32_t unk = v.unk_id >= 0 ? v.unk_id : impl->model->piece_to_id("<unk>");
  impl->model->set_unk_id(unk);
  if (v.merges.empty()) {
    add_score_merges(v, *impl);
  } else {
    add_listed_merges(v, src, *impl);
  }
  impl->model->finalize();
  for (size_t i = 0; i < v.token_types.size(); ++i) {
    int32_t t = v.token_types[i];
    if (t == VocabData::kControl || t == VocabData::kUnknown || t == VocabData::kUserDefined || t == VocabData::kUnused) {
      AddedToken at;
      at.id = static_cast<int32_t>(i);
      at.content = impl->model->id_to_piece(static_cast<int32_t>(i));
      at.special = t == VocabData::kControl || t == VocabData::kUnknown;
      impl->added_tokens.push_back(std::move(at));
    }
  }
  impl->normalizer.push_back({text::NormalizerStep::Kind::kReplace, " ", "\xE2\x96\x81"});
  text::PreTokenizerStep split;
  split.pattern = " ";
  split.behavior = text::PreTokenizerStep::Behavior::kMergedWithPrevious;
  impl->pre_tokenizer.push_back(split);
  impl->decoder = {{text::DecoderStep::Kind::kReplace, "\xE2\x96\x81", " "},
                   {text::DecoderStep::Kind::kByteFallback, "", ""},
                   {text::DecoderStep::Kind::kFuse, "", ""}};
  impl->has_decoder = true;
  impl->bos = v.bos_id;
  impl->eos = v.eos_id;
  impl->pad = v.pad_id;
  impl->unk = unk;
  impl->add_bos = v.add_bos;
  impl->finalize();
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view input, bool add_bos, bool parse_special) const {
  const Impl& m = *impl_;
  std::string repaired;
  std::string_view text = input;
  if (!text::utf8_valid(input)) {
    repaired = text::utf8_sanitize(input);
    text = repaired;
  }
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos && m.bos >= 0) out.push_back(m.bos);
  std::vector<text::Piece> pieces, inner;
  std::vector<text::Span> words;
  m.added.split(text, /*normalized_pass=*/false, parse_special, pieces);
  for (const text::Piece& p : pieces) {
    if (p.id >= 0) {
      out.push_back(p.id);
      continue;
    }
    std::string norm = text::normalize(m.normalizer, text.substr(p.begin, p.end - p.begin));
    inner.clear();
    if (m.added.has_normalized()) {
      m.added.split(norm, /*normalized_pass=*/true, parse_special, inner);
    } else {
      inner.push_back({0, norm.size(), -1});
    }
    for (const text::Piece& q : inner) {
      if (q.id >= 0) {
        out.push_back(q.id);
        continue;
      }
      std::string_view sub(norm.data() + q.begin, q.end - q.begin);
      text::pre_tokenize(m.pre_tokenizer, sub, words);
      for (const text::Span& w : words) m.model->tokenize(sub.substr(w.begin, w.end - w.begin), out);
    }
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  text::DecodeStream ds(&impl_->decoder, impl_->has_decoder);
  std::string out;
  for (int32_t id : ids) {
    const AddedToken* at = impl_->added.by_id(id);
    if (at != nullptr) {
      if (!(skip_special && at->special)) ds.push(at->decoded, out);
      continue;
    }
    if (id >= 0 && static_cast<size_t>(id) < impl_->model->size() && !impl_->model->id_to_piece(id).empty()) {
      ds.push(impl_->model->id_to_piece(id), out);
    }
  }
  ds.finish(out);
  return out;
}

std::string Tokenizer::token_to_piece(int32_t id) const {
  if (const AddedToken* at = impl_->added.by_id(id)) return at->decoded;
  if (id >= 0 && static_cast<size_t>(id) < impl_->model->size()) return impl_->model->id_to_piece(id);
  return {};
}

int32_t Tokenizer::piece_to_id(std::string_view piece) const {
  int32_t id = impl_->added.find(piece);
  return id >= 0 ? id : impl_->model->piece_to_id(piece);
}

bool Tokenizer::is_special(int32_t id) const {
  const AddedToken* at = impl_->added.by_id(id);
  return at != nullptr && at->special;
}

int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }
int32_t Tokenizer::pad_id() const { return impl_->pad; }
int32_t Tokenizer::unk_id() const { return impl_->unk; }
bool Tokenizer::add_bos_default() const { return impl_->add_bos; }
size_t Tokenizer::merge_count() const { return impl_->merges.size(); }

size_t Tokenizer::vocab_size() const {
  size_t n = impl_->model->size();
  for (const AddedToken& t : impl_->added.tokens()) n = std::max(n, static_cast<size_t>(t.id) + 1);
  return n;
}

VocabData Tokenizer::to_vocab_data() const {
  VocabData v;
  size_t n = vocab_size();
  v.tokens.resize(n);
  v.token_types.assign(n, VocabData::kNormal);
  for (size_t i = 0; i < n; ++i) {
    v.tokens[i] = token_to_piece(static_cast<int32_t>(i));
    const std::string& p = v.tokens[i];
    if (p.size() == 6 && p.compare(0, 3, "<0x") == 0 && p[5] == '>') v.token_types[i] = VocabData::kByte;
  }
  for (const AddedToken& t : impl_->added.tokens()) {
    v.tokens[t.id] = t.content;  // the raw content (token_to_piece shows normalized tokens normalized)
    v.token_types[t.id] = t.special ? (t.id == impl_->unk ? VocabData::kUnknown : VocabData::kControl)
                                    : VocabData::kUserDefined;
  }
  v.merges.reserve(impl_->merges.size());
  for (auto [l, r] : impl_->merges) v.merges.push_back(impl_->model->id_to_piece(l) + " " + impl_->model->id_to_piece(r));
  v.bos_id = impl_->bos;
  v.eos_id = impl_->eos;
  v.pad_id = impl_->pad;
  v.unk_id = impl_->unk;
  v.add_bos = impl_->add_bos;
  return v;
}

std::unique_ptr<text::DecodeStream> Tokenizer::make_decode_stream() const {
  return std::make_unique<text::DecodeStream>(&impl_->decoder, impl_->has_decoder);
}

}  // namespace ember
