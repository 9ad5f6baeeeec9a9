// tokenizer.json loader. The 33 MB model section (vocab, merges) is read with the pull scanner;
// the small sections are read into nlohmann::json from their raw text.
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "text/json_scan.h"
#include "text/tokenizer_impl.h"

namespace ember::text {

namespace {

using nlohmann::json;
constexpr int64_t kMaxId = 1 << 22;  // far above any real vocabulary (262k); bounds allocations

// nlohmann view of one small section, with errors naming the section and its position.
json parse_section(JsonScanner& sc, const char* name) {
  size_t at = sc.pos();
  std::string_view raw = sc.skip_value();
  try {
    return json::parse(raw);
  } catch (const json::exception& e) {
    sc.error(detail::concat("in \"", name, "\": ", e.what()), at);
  }
}

std::string str_field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    fail(ErrorCode::kCorruptFile, where, ": missing string field \"", key, "\"");
  return it->get<std::string>();
}

// A Replace/Split pattern: {"String": "..."} (literal). Regex patterns are not supported.
std::string pattern_field(const json& j, const std::string& where) {
  auto it = j.find("pattern");
  if (it == j.end() || !it->is_object()) fail(ErrorCode::kCorruptFile, where, ": missing \"pattern\" object");
  if (it->contains("Regex")) {
    fail(ErrorCode::kUnsupported, where, ": regex patterns are not supported (only {\"String\": ...})");
  }
  return str_field(*it, "String", where);
}

std::string type_of(const json& j, const std::string& where) {
  if (!j.is_object()) fail(ErrorCode::kCorruptFile, where, ": expected an object");
  return str_field(j, "type", where);
}

void read_normalizer(const json& j, const std::string& where, std::vector<NormalizerStep>& out) {
  if (j.is_null()) return;
  std::string type = type_of(j, where);
  if (type == "Sequence") {
    auto it = j.find("normalizers");
    if (it == j.end() || !it->is_array())
      fail(ErrorCode::kCorruptFile, where, ": Sequence without \"normalizers\"");
    for (const json& c : *it) read_normalizer(c, where, out);
  } else if (type == "Replace") {
    out.push_back({NormalizerStep::Kind::kReplace, pattern_field(j, where), str_field(j, "content", where)});
  } else if (type == "Prepend") {
    out.push_back({NormalizerStep::Kind::kPrepend, "", str_field(j, "prepend", where)});
  } else {
    fail(ErrorCode::kUnsupported, where, ": normalizer type \"", type,
         "\" is not supported (supported: Sequence, Replace, Prepend)");
  }
}

void read_pre_tokenizer(const json& j, const std::string& where, std::vector<PreTokenizerStep>& out) {
  if (j.is_null()) return;
  std::string type = type_of(j, where);
  if (type == "Sequence") {
    auto it = j.find("pretokenizers");
    if (it == j.end() || !it->is_array())
      fail(ErrorCode::kCorruptFile, where, ": Sequence without \"pretokenizers\"");
    for (const json& c : *it) read_pre_tokenizer(c, where, out);
  } else if (type == "Split") {
    using B = PreTokenizerStep::Behavior;
    PreTokenizerStep st;
    st.pattern = pattern_field(j, where);
    if (st.pattern.empty()) fail(ErrorCode::kUnsupported, where, ": Split with an empty pattern");
    std::string b = str_field(j, "behavior", where);
    if (b == "Removed")
      st.behavior = B::kRemoved;
    else if (b == "Isolated")
      st.behavior = B::kIsolated;
    else if (b == "MergedWithPrevious")
      st.behavior = B::kMergedWithPrevious;
    else if (b == "MergedWithNext")
      st.behavior = B::kMergedWithNext;
    else if (b == "Contiguous")
      st.behavior = B::kContiguous;
    else
      fail(ErrorCode::kCorruptFile, where, ": unknown Split behavior \"", b, "\"");
    auto inv = j.find("invert");
    st.invert = inv != j.end() && inv->is_boolean() && inv->get<bool>();
    out.push_back(st);
  } else {
    fail(ErrorCode::kUnsupported, where, ": pre-tokenizer type \"", type,
         "\" is not supported (supported: Sequence, Split with a string pattern)");
  }
}

void read_decoder(const json& j, const std::string& where, std::vector<DecoderStep>& out) {
  if (j.is_null()) return;
  std::string type = type_of(j, where);
  if (type == "Sequence") {
    auto it = j.find("decoders");
    if (it == j.end() || !it->is_array())
      fail(ErrorCode::kCorruptFile, where, ": Sequence without \"decoders\"");
    for (const json& c : *it) read_decoder(c, where, out);
  } else if (type == "Replace") {
    out.push_back({DecoderStep::Kind::kReplace, pattern_field(j, where), str_field(j, "content", where)});
  } else if (type == "ByteFallback") {
    out.push_back({DecoderStep::Kind::kByteFallback, "", ""});
  } else if (type == "Fuse") {
    out.push_back({DecoderStep::Kind::kFuse, "", ""});
  } else if (type == "Strip") {
    DecoderStep st{DecoderStep::Kind::kStrip, "", str_field(j, "content", where)};
    auto num = [&](const char* k) -> size_t {
      auto it = j.find(k);
      if (it == j.end() || !it->is_number_unsigned())
        fail(ErrorCode::kCorruptFile, where, ": Strip needs \"", k, "\"");
      return it->get<size_t>();
    };
    st.start = num("start");
    st.stop = num("stop");
    out.push_back(st);
  } else {
    fail(ErrorCode::kUnsupported, where, ": decoder type \"", type,
         "\" is not supported (supported: Sequence, Replace, ByteFallback, Fuse, Strip)");
  }
}

// TemplateProcessing whose single-sequence template starts with a special token: that token
// is the BOS added by add_special_tokens=True.
void read_post_processor(const json& j, Tokenizer::Impl& impl) {
  if (!j.is_object()) return;
  auto type = j.find("type");
  if (type == j.end() || !type->is_string() || type->get<std::string>() != "TemplateProcessing") return;
  auto single = j.find("single");
  auto specials = j.find("special_tokens");
  if (single == j.end() || !single->is_array() || single->empty() || specials == j.end()) return;
  const json& first = (*single)[0];
  if (!first.is_object() || !first.contains("SpecialToken")) return;
  const json& st = first["SpecialToken"];
  if (!st.is_object() || !st.contains("id") || !st["id"].is_string()) return;
  auto sp = specials->find(st["id"].get<std::string>());
  if (sp == specials->end() || !sp->is_object()) return;
  auto ids = sp->find("ids");
  if (ids == sp->end() || !ids->is_array() || ids->size() != 1 || !(*ids)[0].is_number_integer()) return;
  const int64_t id = (*ids)[0].get<int64_t>();
  if (id < 0 || id >= kMaxId) return;
  impl.bos = static_cast<int32_t>(id);
  impl.add_bos = true;
}

void read_added_tokens(JsonScanner& sc, Tokenizer::Impl& impl) {
  if (sc.consume_null()) return;
  sc.begin_array();
  std::string key;
  while (sc.next_element()) {
    size_t at = sc.pos();
    AddedToken t;
    bool have_id = false, have_content = false;
    sc.begin_object();
    while (sc.next_key(key)) {
      if (key == "id") {
        int64_t id = sc.read_int();
        if (id < 0 || id >= kMaxId) sc.error(detail::concat("added token id ", id, " out of range"), at);
        t.id = static_cast<int32_t>(id);
        have_id = true;
      } else if (key == "content") {
        sc.read_string(t.content);
        have_content = true;
      } else if (key == "special") {
        t.special = sc.read_bool();
      } else if (key == "lstrip") {
        t.lstrip = sc.read_bool();
      } else if (key == "rstrip") {
        t.rstrip = sc.read_bool();
      } else if (key == "normalized") {
        t.normalized = sc.read_bool();
      } else if (key == "single_word") {
        t.single_word = sc.read_bool();
      } else {
        sc.skip_value();
      }
    }
    if (!have_id || !have_content) sc.error("added token without \"id\" or \"content\"", at);
    impl.added_tokens.push_back(std::move(t));
  }
}

void read_vocab(JsonScanner& sc, std::vector<std::string>& pieces) {
  sc.begin_object();
  std::string piece;
  while (sc.next_key(piece)) {
    size_t at = sc.pos();
    int64_t id = sc.read_int();
    if (id < 0 || id >= kMaxId) sc.error(detail::concat("vocab id ", id, " out of range"), at);
    if (static_cast<size_t>(id) >= pieces.size()) pieces.resize(static_cast<size_t>(id) + 1);
    if (!pieces[id].empty()) sc.error(detail::concat("vocab id ", id, " is used twice"), at);
    if (piece.empty()) sc.error("empty vocab piece", at);
    pieces[id].swap(piece);
  }
}

void read_merges(JsonScanner& sc, Tokenizer::Impl& impl) {
  BpeModel& m = *impl.model;
  sc.begin_array();
  std::string a, b, joined;
  while (sc.next_element()) {
    size_t at = sc.pos();
    if (sc.peek() == '"') {  // legacy "left right"
      sc.read_string(joined);
      size_t sp = joined.find(' ');
      if (sp == std::string::npos || joined.find(' ', sp + 1) != std::string::npos) {
        sc.error("merge \"" + joined + "\" is not two space-separated tokens", at);
      }
      a = joined.substr(0, sp);
      b = joined.substr(sp + 1);
    } else {
      sc.begin_array();
      if (!sc.next_element()) sc.error("merge must be a pair", at);
      sc.read_string(a);
      if (!sc.next_element()) sc.error("merge must be a pair", at);
      sc.read_string(b);
      if (sc.next_element()) sc.error("merge must be a pair", at);
    }
    int32_t l = m.piece_to_id(a), r = m.piece_to_id(b);
    if (l < 0 || r < 0) sc.error("merge token \"" + (l < 0 ? a : b) + "\" is not in the vocabulary", at);
    a += b;
    int32_t res = m.piece_to_id(a);
    if (res < 0) sc.error("merge result \"" + a + "\" is not in the vocabulary", at);
    m.add_merge(l, r, res);
    impl.merges.emplace_back(l, r);
  }
}

void read_model(JsonScanner& sc, Tokenizer::Impl& impl) {
  size_t model_at = sc.pos();
  std::string key, type, unk_token;
  std::vector<std::string> pieces;
  BpeOptions opt;
  size_t merges_at = SIZE_MAX, merges_len = 0;
  bool have_vocab = false, merges_read = false;
  sc.begin_object();
  while (sc.next_key(key)) {
    size_t at = sc.pos();
    if (key == "type") {
      sc.read_string(type);
      if (type != "BPE") {
        fail(ErrorCode::kUnsupported, sc.where(model_at), ": tokenizer model type \"", type,
             "\" is not supported (supported: BPE)");
      }
    } else if (key == "vocab") {
      read_vocab(sc, pieces);
      have_vocab = true;
    } else if (key == "merges") {
      if (have_vocab) {  // the usual order: read merges in place
        impl.model = std::make_unique<BpeModel>(std::move(pieces), opt);
        size_t start = sc.pos();
        merges_len = sc.skip_value().size();
        sc.seek(start);
        impl.model->reserve_merges(merges_len / 32);  // >= 32 bytes per pretty-printed merge
        read_merges(sc, impl);
        merges_read = true;
      } else {
        merges_at = at;  // read once the vocabulary is known
        sc.skip_value();
      }
    } else if (key == "unk_token") {
      if (!sc.consume_null()) sc.read_string(unk_token);
    } else if (key == "fuse_unk") {
      opt.fuse_unk = sc.read_bool();
    } else if (key == "byte_fallback") {
      opt.byte_fallback = sc.read_bool();
    } else if (key == "ignore_merges") {
      opt.ignore_merges = sc.read_bool();
    } else if (key == "dropout") {
      std::string_view v = sc.skip_value();
      if (v != "null" && v != "0" && v != "0.0")
        sc.error("BPE dropout is not supported (nondeterministic)", at);
    } else if (key == "continuing_subword_prefix" || key == "end_of_word_suffix") {
      std::string_view v = sc.skip_value();
      if (v != "null" && v != "\"\"") {
        fail(ErrorCode::kUnsupported, sc.where(at), ": BPE ", key, " is not supported");
      }
    } else {
      sc.skip_value();
    }
  }
  size_t end = sc.pos();
  if (type.empty() && (merges_at != SIZE_MAX || merges_read)) type = "BPE";
  if (type != "BPE") {
    fail(ErrorCode::kUnsupported, sc.where(model_at), ": tokenizer model type \"", type,
         "\" is not supported (supported: BPE)");
  }
  if (!have_vocab) sc.error("BPE model without \"vocab\"", model_at);
  if (!impl.model) impl.model = std::make_unique<BpeModel>(std::move(pieces), opt);
  if (!unk_token.empty()) {
    // HF only fails when an unknown token is actually needed; an absent one acts as none.
    impl.unk = impl.model->piece_to_id(unk_token);
    opt.unk_id = impl.unk;
  }
  impl.model->set_options(opt);
  if (merges_at != SIZE_MAX) {
    sc.seek(merges_at);
    read_merges(sc, impl);
  }
  impl.model->finalize();
  sc.seek(end);
}

}  // namespace

void parse_tokenizer_json(std::string_view text, const std::string& source, Tokenizer::Impl& impl) {
  JsonScanner sc(text, source);
  impl.source = source;
  if (sc.peek() != '{') sc.error("expected a JSON object at the top level");
  sc.begin_object();
  std::string key;
  bool have_model = false;
  while (sc.next_key(key)) {
    if (key == "model") {
      read_model(sc, impl);
      have_model = true;
    } else if (key == "added_tokens") {
      read_added_tokens(sc, impl);
    } else if (key == "normalizer") {
      read_normalizer(parse_section(sc, "normalizer"), source + ": normalizer", impl.normalizer);
    } else if (key == "pre_tokenizer") {
      read_pre_tokenizer(parse_section(sc, "pre_tokenizer"), source + ": pre_tokenizer", impl.pre_tokenizer);
    } else if (key == "decoder") {
      json d = parse_section(sc, "decoder");
      impl.has_decoder = !d.is_null();
      read_decoder(d, source + ": decoder", impl.decoder);
    } else if (key == "post_processor") {
      read_post_processor(parse_section(sc, "post_processor"), impl);
    } else {
      sc.skip_value();
    }
  }
  if (!sc.at_end()) sc.error("trailing data after the top-level object");
  if (!have_model) fail(ErrorCode::kCorruptFile, source, ": no \"model\" section");
}

}  // namespace ember::text
