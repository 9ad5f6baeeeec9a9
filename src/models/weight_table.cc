#include "models/weight_table.h"

#include <algorithm>

#include "core/status.h"

namespace ember {

const char* sub_model_name(SubModel s) {
  switch (s) {
    case SubModel::kText:
      return "text";
    case SubModel::kVision:
      return "vision";
    case SubModel::kAudio:
      return "audio";
  }
  return "?";
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string Problem::str() const {
  std::string s = (file.empty() ? "" : file + ": ") + tensor + ": " + what;
  if (!expected.empty() || !actual.empty()) s += " (expected " + expected + ", got " + actual + ")";
  if (!hint.empty()) s += "; hint: " + hint;
  return s;
}

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// Tower and projector keys of the Gemma multimodal checkpoints, with or without `model.`
// (HF keeps `model.vision_tower.*`; MLX conversions drop the `model.`), gemma4-text.md §3.1-3.3.
void add_tower_rules(std::vector<KeyRule>* rules) {
  const std::pair<const char*, SubModel> towers[] = {
      {"vision_tower.", SubModel::kVision},    {"embed_vision.", SubModel::kVision},
      {"vision_embedder.", SubModel::kVision}, {"multi_modal_projector.", SubModel::kVision},
      {"audio_tower.", SubModel::kAudio},      {"embed_audio.", SubModel::kAudio}};
  for (const auto& [p, sub] : towers) {
    rules->push_back({std::string("model.") + p, sub, 0});
    rules->push_back({p, sub, 0});
  }
}

bool is_float_dtype(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

std::string dt(DType t) { return std::string(dtype_name(t)); }

}  // namespace

Layout detect_layout(const SafetensorsCollection& st) {
  bool hf_mm = false, mlx_mm = false;
  for (const auto& [k, t] : st.all()) {
    hf_mm |= starts_with(k, "model.language_model.");
    mlx_mm |= starts_with(k, "language_model.model.") || starts_with(k, "language_model.lm_head.");
  }
  Layout l;
  add_tower_rules(&l.rules);  // towers first: no text rule can ever see them
  if (hf_mm) {
    l.rules.push_back({"model.language_model.", SubModel::kText, 21});
    l.rules.push_back({"lm_head.", SubModel::kText, 0});
  }
  if (mlx_mm) {
    l.rules.push_back({"language_model.model.", SubModel::kText, 21});
    l.rules.push_back({"language_model.lm_head.", SubModel::kText, 15});
  }
  if (hf_mm && mlx_mm) {
    l.name = "mixed";
  } else if (hf_mm) {
    l.name = "hf-multimodal", l.text_prefix = "model.language_model.",
    l.mlx_text_prefix = "language_model.model.";
  } else if (mlx_mm) {
    l.name = "mlx-multimodal", l.text_prefix = l.mlx_text_prefix = "language_model.model.";
  } else {
    l.name = "text-only", l.text_prefix = l.mlx_text_prefix = "model.";
    l.rules.push_back({"model.", SubModel::kText, 6});
    l.rules.push_back({"lm_head.", SubModel::kText, 0});
  }
  return l;
}

WeightBinder::WeightBinder(const SafetensorsCollection& st, const QuantConfig& quant, Layout layout,
                           SubModel root)
    : st_(st), quant_(quant), layout_(std::move(layout)), root_(root) {
  if (root_ != SubModel::kText) {  // a tower: its keys only, `model.` removed
    for (const auto& [raw, info] : st_.all()) {
      const KeyRule* rule = nullptr;
      for (const auto& r : layout_.rules)
        if (starts_with(raw, r.prefix)) {
          rule = &r;
          break;
        }
      if (!rule || rule->sub != root_) continue;
      const bool hf = starts_with(raw, "model.");
      if (hf) tower_prefix_ = "model.";
      text_.emplace(hf ? raw.substr(6) : raw, Local{&info, raw});
    }
    return;
  }
  if (layout_.name == "mixed")
    problems_.push_back({"", "(checkpoint)",
                         "holds both HF (model.language_model.*) and MLX (language_model.model.*) text keys",
                         "", "", "one checkpoint must use one layout"});
  for (const auto& [raw, info] : st_.all()) {
    const KeyRule* rule = nullptr;
    for (const auto& r : layout_.rules)
      if (starts_with(raw, r.prefix)) {
        rule = &r;
        break;
      }
    if (!rule) {
      unmatched_.push_back(raw);
    } else if (rule->sub != SubModel::kText) {
      towers_[raw] = rule->sub;
    } else {
      std::string local = raw.substr(rule->strip);
      auto [it, inserted] = text_.emplace(local, Local{&info, raw});
      if (!inserted)
        problems_.push_back(
            {info.file, raw, "names the same text tensor as '" + it->second.raw + "'", "", "", ""});
    }
  }
}

const WeightBinder::Local* WeightBinder::find(const std::string& local) const {
  auto it = text_.find(local);
  return it == text_.end() ? nullptr : &it->second;
}

std::string WeightBinder::raw_of(const std::string& local) const {
  if (root_ != SubModel::kText) return tower_prefix_ + local;
  if (starts_with(local, "lm_head."))
    return layout_.name == "mlx-multimodal" ? "language_model." + local : local;
  return layout_.text_prefix + local;
}

void WeightBinder::claim(const std::string& local, const std::string& status, const std::string& role) {
  const Local* l = find(local);
  if (!l) return;
  TensorReport r;
  r.key = l->raw, r.file = l->t->file, r.sub = root_, r.status = status, r.role = role;
  r.dtype = l->t->dtype, r.shape = l->t->shape, r.nbytes = l->t->nbytes;
  claimed_[l->raw] = std::move(r);
  if (progress_) progress_->tensor_done(l->raw, l->t->nbytes);
}

Problem WeightBinder::problem(const Local* at, const std::string& what) const {
  Problem p;
  p.file = at ? at->t->file : "";
  p.tensor = at ? at->raw : "";
  p.what = what;
  return p;
}

QuantConfig::Lookup WeightBinder::quant_for(const std::string& raw_module,
                                            const std::string& local_module) const {
  auto l = quant_.lookup(raw_module);
  if (!l.explicit_entry && root_ == SubModel::kText && !layout_.mlx_text_prefix.empty()) {
    auto alt = quant_.lookup(layout_.mlx_text_prefix + local_module);
    if (alt.explicit_entry) return alt;
  }
  return l;
}

namespace {
// "looks 8-bit with group 64" from the packed and scales widths, or "" if nothing fits.
std::string infer_quant(int64_t packed_cols, int64_t scale_cols, int64_t in) {
  std::string s;
  if (in > 0 && (packed_cols * 32) % in == 0) s = "looks " + std::to_string(packed_cols * 32 / in) + "-bit";
  if (scale_cols > 0 && in % scale_cols == 0)
    s += (s.empty() ? "looks like group " : " with group ") + std::to_string(in / scale_cols);
  return s;
}

Matrix make_matrix(const std::string& name, int64_t rows, int64_t cols) {
  Matrix m;
  m.name = name, m.rows = rows, m.cols = cols;
  return m;
}
}  // namespace

MatrixGeom::MatrixGeom(const WeightSlot& s) : stacked(s.kind == SlotKind::kStacked) {
  if (stacked) lead = {s.shape[0]};
  n = stacked ? s.shape[0] : 1;
  rows = s.shape[lead.size()];
  cols = s.shape[lead.size() + 1];
}

std::vector<int64_t> MatrixGeom::with_lead(std::vector<int64_t> tail) const {
  std::vector<int64_t> v = lead;
  v.insert(v.end(), tail.begin(), tail.end());
  return v;
}

void WeightBinder::bind_matrix(const WeightSlot& s, BoundWeight* b) {
  const std::string wkey = s.weight_suffix ? s.name + ".weight" : s.name;
  const Local* w = find(wkey);
  const Local* sc = find(s.name + ".scales");
  if (w && sc) return bind_quantized(s, MatrixGeom(s), w, sc, b);
  if (w) return bind_dense(s, MatrixGeom(s), w, b);
  if (s.need == Need::kRequired) {
    Problem p{"", raw_of(wkey), "required tensor is missing", shape_str(s.shape), "nothing", ""};
    if (sc) p.hint = "its .scales exist but the packed .weight does not";
    problems_.push_back(p);
  }
}

void WeightBinder::bind_dense(const WeightSlot& s, const MatrixGeom& g, const Local* w, BoundWeight* b) {
  claim(s.weight_suffix ? s.name + ".weight" : s.name, "used", s.role + "; dense " + dt(w->t->dtype));
  bool ok = true;
  if (const Local* bi = find(s.name + ".biases")) {
    claim(s.name + ".biases", "used", s.role + "; stray .biases");
    Problem p = problem(bi, "has .biases but no .scales");
    p.hint = "a quantized tensor needs .weight, .scales and .biases";
    problems_.push_back(p), ok = false;
  }
  if (!is_float_dtype(w->t->dtype)) {
    Problem p = problem(w, "dense matrix has dtype " + dt(w->t->dtype));
    p.expected = "F32/F16/BF16", p.actual = dt(w->t->dtype);
    if (w->t->dtype == DType::U32)
      p.hint = "looks quantized (U32 codes) but '" + raw_of(s.name + ".scales") + "' is missing";
    problems_.push_back(p), ok = false;
  }
  if (w->t->shape != g.with_lead({g.rows, g.cols})) {
    Problem p = problem(w, "wrong shape");
    p.expected = shape_str(g.with_lead({g.rows, g.cols})), p.actual = w->t->shape_str(),
    p.hint = s.shape_hint;
    problems_.push_back(p), ok = false;
  }
  if (!ok) return;
  const size_t row_bytes = size_t(g.cols) * dtype_size(w->t->dtype);
  for (int64_t e = 0; e < g.n; ++e) {
    Matrix m = make_matrix(g.stacked ? s.name + "[" + std::to_string(e) + "]" : s.name, g.rows, g.cols);
    m.format = WeightFormat::kDense, m.dtype = w->t->dtype;
    m.row_bytes = row_bytes;
    m.data = w->t->data + size_t(e) * size_t(g.rows) * row_bytes;  // expert e's [rows, cols] slice
    (g.stacked ? b->stacked.emplace_back(m) : b->matrix) = m;
  }
  storage_["dense " + dt(w->t->dtype)].push_back(s.name);
  b->present = true;
}

void WeightBinder::bind_quantized(const WeightSlot& s, const MatrixGeom& g, const Local* w, const Local* sc,
                                  BoundWeight* b) {
  const Local* bi = find(s.name + ".biases");
  const Local* gs = find(s.name + ".global_scale");
  const std::string module = w->raw.substr(0, w->raw.size() - (s.weight_suffix ? 7 : 0));
  const auto look = quant_for(module, s.name);
  const std::string q_str = look.params ? look.params->str() : std::string("quantized");
  claim(s.weight_suffix ? s.name + ".weight" : s.name, "used", s.role + "; " + q_str + " codes");
  claim(s.name + ".scales", "used", s.role + "; " + q_str + " scales");
  if (bi) claim(s.name + ".biases", "used", s.role + "; " + q_str + " biases");
  if (gs) claim(s.name + ".global_scale", "used", s.role + "; " + q_str + " global scale");
  const int64_t packed = w->t->shape.empty() ? 0 : w->t->shape.back();
  const int64_t scols = sc->t->shape.empty() ? 0 : sc->t->shape.back();
  const std::string inferred = infer_quant(packed, scols, g.cols);
  if (!s.quantizable) {
    problems_.push_back(problem(sc, "this tensor is never quantized, but the checkpoint holds .scales"));
    return;
  }
  if (!quant_.present || look.disabled) {
    Problem p = problem(sc, quant_.present
                                ? "config.json's quantization entry for '" + module +
                                      "' is false (keep float), but the checkpoint holds .scales"
                                : "quantized (has .scales) but config.json has no \"quantization\" section");
    p.hint = inferred;
    problems_.push_back(p);
    return;
  }
  const QuantParams q = *look.params;
  const std::string hint = inferred.empty() ? ""
                                            : inferred + "; config says " + q.str() + " (" +
                                                  (look.explicit_entry ? "per-module" : "global") +
                                                  " entry of '" + module + "')";
  if (!check_quantized(s, g, q, hint, w, sc, bi, gs)) return;
  const size_t row_bytes = size_t(packed) * 4;
  const size_t srow = size_t(g.cols / q.group_size) * dtype_size(sc->t->dtype);
  for (int64_t e = 0; e < g.n; ++e) {
    Matrix m = make_matrix(g.stacked ? s.name + "[" + std::to_string(e) + "]" : s.name, g.rows, g.cols);
    m.format = weight_format_of(q.mode), m.bits = q.bits, m.group_size = q.group_size;
    m.dtype = m.scale_dtype = sc->t->dtype;
    m.row_bytes = row_bytes;
    const size_t r0 = size_t(e) * size_t(g.rows);  // first row of expert e
    m.data = w->t->data + r0 * row_bytes;
    m.scales = sc->t->data + r0 * srow;
    m.biases = bi ? bi->t->data + r0 * srow : nullptr;
    // MLX dequantizes nvfp4 with e4m3(scale) * g / (448 * 6) (checked against mx.dequantize);
    // Matrix::global_scale is the factor applied to e4m3(scale), so fold the constant in here.
    if (gs) m.global_scale = load_as_f32(DType::F32, gs->t->data, size_t(e)) / (448.0f * 6.0f);
    (g.stacked ? b->stacked.emplace_back(m) : b->matrix) = m;
  }
  storage_[q.str()].push_back(s.name);
  b->present = true;
}

// Dtypes and shapes of the quantized tensors against `q` (and each other); records every problem.
bool WeightBinder::check_quantized(const WeightSlot& s, const MatrixGeom& g, const QuantParams& q,
                                   const std::string& hint, const Local* w, const Local* sc, const Local* bi,
                                   const Local* gs) {
  bool ok = true;
  auto bad = [&](const Local* at, const std::string& what, const std::string& exp, const std::string& act,
                 const std::string& h) {
    Problem p = problem(at, what);
    p.expected = exp, p.actual = act, p.hint = h;
    problems_.push_back(p), ok = false;
  };
  const bool affine = q.mode == QuantMode::kAffine;
  if (w->t->dtype != DType::U32) bad(w, "quantized codes have the wrong dtype", "U32", dt(w->t->dtype), "");
  const bool scale_dtype_ok = affine ? is_float_dtype(sc->t->dtype) : sc->t->dtype == DType::U8;
  if (!scale_dtype_ok)
    bad(sc, "scales have the wrong dtype for " + q.str(), affine ? "F32/F16/BF16" : "U8", dt(sc->t->dtype),
        "");
  if (affine && !bi)
    bad(w, "quantized tensor is missing .biases", "'" + raw_of(s.name + ".biases") + "'", "nothing",
        "affine quantization stores .weight, .scales and .biases");
  if (!affine && bi)
    bad(bi, std::string(quant_mode_name(q.mode)) + " has no biases, but .biases is present", "", "", "");
  const auto& ws = w->t->shape;
  const int64_t packed = ws.empty() ? 0 : ws.back();
  if (ws.size() != g.lead.size() + 2 || ws[g.lead.size()] != g.rows || (g.stacked && ws[0] != g.n) ||
      packed * 32 != g.cols * q.bits) {
    const int64_t want_packed = (g.cols * q.bits) % 32 == 0 ? g.cols * q.bits / 32 : -1;
    bad(w,
        "packed shape does not fit " + std::to_string(g.rows) + "x" + std::to_string(g.cols) + " at " +
            q.str(),
        want_packed >= 0 ? shape_str(g.with_lead({g.rows, want_packed})) : "in_features*bits divisible by 32",
        w->t->shape_str(), hint.empty() ? s.shape_hint : hint);
  }
  if (g.cols % q.group_size != 0 || sc->t->shape != g.with_lead({g.rows, g.cols / q.group_size})) {
    bad(sc, "scales shape does not fit group size " + std::to_string(q.group_size),
        g.cols % q.group_size ? "in_features divisible by the group size"
                              : shape_str(g.with_lead({g.rows, g.cols / q.group_size})),
        sc->t->shape_str(), hint);
  }
  if (bi && affine && (bi->t->shape != sc->t->shape || bi->t->dtype != sc->t->dtype))
    bad(bi, "biases must match scales", dt(sc->t->dtype) + " " + sc->t->shape_str(),
        dt(bi->t->dtype) + " " + bi->t->shape_str(), "");
  // nvfp4 tensor scale (mlx-lm SwitchLinear: f32 [E], one per expert; a plain matrix: [] or [1]).
  if (gs) {
    const bool shape_ok =
        g.stacked ? gs->t->shape == g.lead : (gs->t->numel() == 1 && gs->t->shape.size() <= 1);
    if (q.mode != QuantMode::kNvfp4)
      bad(gs, "only nvfp4 has a global scale, config says " + q.str(), "", "", "");
    else if (gs->t->dtype != DType::F32 || !shape_ok)
      bad(gs, "wrong global scale", "F32 " + (g.stacked ? shape_str(g.lead) : std::string("[]")),
          dt(gs->t->dtype) + " " + gs->t->shape_str(), "");
  }
  return ok;
}

void WeightBinder::bind_vector(const WeightSlot& s, BoundWeight* b) {
  const std::string key = s.weight_suffix ? s.name + ".weight" : s.name;
  const Local* v = find(key);
  const int64_t n = s.shape[0];
  if (!v) {
    if (s.need == Need::kRequired)
      problems_.push_back({"", raw_of(key), "required tensor is missing", shape_str(s.shape), "nothing", ""});
    return;
  }
  claim(key, "used", s.role + "; " + dt(v->t->dtype));
  bool ok = true;
  if (!is_float_dtype(v->t->dtype)) {
    Problem p = problem(v, "wrong dtype");
    p.expected = "F32/F16/BF16", p.actual = dt(v->t->dtype);
    problems_.push_back(p), ok = false;
  }
  const bool shape_ok = v->t->shape == s.shape || (n == 1 && v->t->shape.empty());
  if (!shape_ok) {
    Problem p = problem(v, "wrong shape");
    p.expected = shape_str(s.shape), p.actual = v->t->shape_str(), p.hint = s.shape_hint;
    problems_.push_back(p), ok = false;
  }
  if (!ok) return;
  b->vec.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) b->vec[size_t(i)] = load_as_f32(v->t->dtype, v->t->data, size_t(i));
  storage_["float vectors (" + dt(v->t->dtype) + ")"].push_back(s.name);
  b->present = true;
}

void WeightBinder::ignore(const WeightSlot& s) {
  const std::string wkey = s.weight_suffix ? s.name + ".weight" : s.name;
  for (const std::string& k : {wkey, s.name + ".scales", s.name + ".biases", s.name + ".global_scale"})
    claim(k, "ignored", s.role + " — " + s.reason);
}

std::map<std::string, BoundWeight> WeightBinder::bind(const std::vector<WeightSlot>& table) {
  std::map<std::string, BoundWeight> out;
  for (const auto& s : table) {
    BoundWeight b;
    if (s.need == Need::kIgnored)
      ignore(s);
    else if (s.kind == SlotKind::kVector)
      bind_vector(s, &b);
    else
      bind_matrix(s, &b);
    out[s.name] = std::move(b);
  }
  return out;
}

LoadReport WeightBinder::finish(const std::string& what, bool skip_towers) {
  LoadReport rep;
  rep.layout = layout_.name;
  for (const auto& [local_key, l] : text_) {
    if (claimed_.count(l.raw)) continue;
    const std::string& local = local_key;  // (clang 14 cannot capture structured bindings)
    auto frag = std::find_if(ignore_fragments_.begin(), ignore_fragments_.end(),
                             [&](const auto& f) { return local.find(f.first) != std::string::npos; });
    if (frag != ignore_fragments_.end()) {
      claim(local, "ignored", frag->second);
      continue;
    }
    const std::string table =
        root_ == SubModel::kText ? table_name_ : std::string("Gemma 4 ") + sub_model_name(root_);
    Problem p = problem(&l, "unexpected tensor: not in the " + table + " weight table");
    if (ends_with(local, ".bias"))
      p.hint = "Gemma 4 linears have no bias";
    else if (ends_with(local, ".scales") || ends_with(local, ".biases"))
      p.hint = "quantization data of a tensor that is absent or never quantized";
    problems_.push_back(p);
  }
  for (const auto& raw : unmatched_) {
    const TensorInfo* t = st_.find(raw);
    problems_.push_back({t->file, raw, "belongs to no sub-model of layout " + layout_.name, "", "",
                         "text keys here start with '" + layout_.text_prefix + "'"});
  }
  std::map<SubModel, std::pair<int, uint64_t>> skipped;
  for (const auto& [raw, sub] : towers_) {
    const TensorInfo* t = st_.find(raw);
    if (!skip_towers)
      fail(ErrorCode::kUnsupported, t->file, ": ", raw, ": ", sub_model_name(sub),
           " tower loading is not implemented yet");
    TensorReport r;
    r.key = raw, r.file = t->file, r.sub = sub, r.status = "skipped";
    r.role = std::string(sub_model_name(sub)) + " tower (not loaded: text only)";
    r.dtype = t->dtype, r.shape = t->shape, r.nbytes = t->nbytes;
    claimed_[raw] = r;
    if (progress_) progress_->tensor_done(raw, t->nbytes);
    skipped[sub].first++, skipped[sub].second += t->nbytes;
  }
  for (const auto& [sub, cnt] : skipped)
    rep.notes.push_back("skipped " + std::to_string(cnt.first) + " " + sub_model_name(sub) + " tensors (" +
                        std::to_string(cnt.second) + " bytes): text-only load");
  if (!problems_.empty()) {
    std::string msg =
        what + ": " + std::to_string(problems_.size()) + " problem" + (problems_.size() > 1 ? "s" : "") + ":";
    const size_t shown = std::min<size_t>(problems_.size(), 200);
    for (size_t i = 0; i < shown; ++i) msg += "\n  - " + problems_[i].str();
    if (shown < problems_.size()) msg += "\n  ... and " + std::to_string(problems_.size() - shown) + " more";
    throw Error(ErrorCode::kInvalidCheckpoint, msg);
  }
  for (auto& [raw, r] : claimed_) {
    rep.total_bytes += r.nbytes;
    (r.status == "used"      ? rep.used_bytes
     : r.status == "ignored" ? rep.ignored_bytes
                             : rep.skipped_bytes) += r.nbytes;
    rep.tensors.push_back(r);
  }
  rep.storage = storage_;
  return rep;
}

Matrix matrix_rows(const Matrix& m, int64_t r0, int64_t n, const std::string& name) {
  EMBER_CHECK(r0 >= 0 && n >= 0 && r0 + n <= m.rows);
  Matrix s = m;
  s.name = name;
  s.rows = n;
  s.data = m.data + size_t(r0) * m.row_bytes;
  const size_t srow = size_t(m.groups_per_row()) * dtype_size(m.scale_dtype);
  if (m.scales) s.scales = m.scales + size_t(r0) * srow;
  if (m.biases) s.biases = m.biases + size_t(r0) * srow;
  return s;
}

}  // namespace ember
