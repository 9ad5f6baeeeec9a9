// Architecture-independent weight-table machinery (DESIGN.md "Every architecture declares its
// weight table"). An architecture lists its slots (name, shape from config, kind, required /
// optional / ignored-with-reason); the binder then
//   1. normalizes every checkpoint key once per layout, scoped per sub-model, so a text rule can
//      never see `vision_tower.*` (tower keys are set aside with a note);
//   2. binds each slot to the tensors that hold it: a matrix is dense, or MLX-quantized iff
//      `<name>.scales` exists, with bits/group from the per-module config entry else the global
//      one, cross-checked against the packed shapes;
//   3. collects ALL problems (missing, unclaimed, wrong shape/dtype/bits) and throws them as one
//      ember::Error(kInvalidCheckpoint) naming file, tensor, expected vs actual and a hint.
// Bound matrices point into the mapped files; nothing is dequantized or copied.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/load_progress.h"
#include "core/weights.h"
#include "io/quant_config.h"
#include "io/safetensors.h"

namespace ember {

enum class SubModel : uint8_t { kText, kVision, kAudio };
const char* sub_model_name(SubModel s);

enum class SlotKind : uint8_t {
  kMatrix,   // [rows, cols] (embedding tables too: rows = tokens)
  kStacked,  // [n, rows, cols]: one Matrix per leading index (MoE experts)
  kVector,   // [n] float (norm weights, scalars; a [1] slot also accepts a 0-d tensor)
};
enum class Need : uint8_t { kRequired, kOptional, kIgnored };

struct WeightSlot {
  std::string name;  // canonical, relative to the sub-model root: "layers.3.self_attn.q_proj"
  SlotKind kind = SlotKind::kMatrix;
  std::vector<int64_t> shape;  // logical shape (see SlotKind)
  Need need = Need::kRequired;
  bool quantizable = true;    // matrices only: may be stored MLX-quantized
  bool weight_suffix = true;  // tensor key is `name + ".weight"` (false: `name` itself)
  std::string role;           // for `ember inspect --tensors`
  std::string reason;         // kIgnored: why the tensor is accepted but unused
  std::string shape_hint;     // added to a shape-mismatch problem (e.g. double-wide MLP)
};

// Appends declared slots to a weight table (every model file's table is written with it).
struct WeightTableBuilder {
  std::vector<WeightSlot>* out;
  WeightSlot& add(std::string name, SlotKind kind, std::vector<int64_t> shape, std::string role) {
    WeightSlot s;
    s.name = std::move(name), s.kind = kind, s.shape = std::move(shape), s.role = std::move(role);
    out->push_back(std::move(s));
    return out->back();
  }
  WeightSlot& matrix(std::string name, int64_t rows, int64_t cols, std::string role) {
    return add(std::move(name), SlotKind::kMatrix, {rows, cols}, std::move(role));
  }
  WeightSlot& vec(std::string name, int64_t n, std::string role) {
    return add(std::move(name), SlotKind::kVector, {n}, std::move(role));
  }
  // Accepted when present, never used (shape not checked).
  WeightSlot& ignored(std::string name, SlotKind kind, std::string role, std::string reason) {
    WeightSlot& s = add(std::move(name), kind, {1, 1}, std::move(role));
    s.need = Need::kIgnored, s.reason = std::move(reason);
    return s;
  }
};

// How checkpoint keys map to sub-models: the first rule whose prefix matches wins; `local` is
// the key with `strip` removed from its front.
struct KeyRule {
  std::string prefix;
  SubModel sub;
  size_t strip;  // number of leading characters to remove
};
struct Layout {
  std::string name;  // "hf-multimodal", "mlx-multimodal", "text-only"
  std::vector<KeyRule> rules;
  std::string text_prefix;      // how text keys start in this layout (for messages)
  std::string mlx_text_prefix;  // module-path prefix of text modules in the MLX tree (quant lookup)
};
// Detects the layout from the keys (Gemma-family prefixes; see gemma4-text.md §3.1-3.3).
Layout detect_layout(const SafetensorsCollection& st);

struct TensorReport {
  std::string key, file;
  SubModel sub = SubModel::kText;
  std::string status;  // "used", "ignored", "skipped"
  std::string role;    // slot role + storage ("q projection; affine 4-bit g64")
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t nbytes = 0;
};

struct LoadReport {
  std::string layout;
  std::vector<TensorReport> tensors;  // every tensor of the checkpoint, by key
  std::vector<std::string> notes;
  uint64_t total_bytes = 0, used_bytes = 0, ignored_bytes = 0, skipped_bytes = 0;
  // Storage summary: "affine 4-bit g64" / "dense BF16" -> canonical slot names.
  std::map<std::string, std::vector<std::string>> storage;
};

struct Problem {
  std::string file, tensor, what, expected, actual, hint;
  std::string str() const;
};

struct BoundWeight {
  bool present = false;         // found and valid
  Matrix matrix;                // kMatrix
  std::vector<Matrix> stacked;  // kStacked
  std::vector<float> vec;       // kVector (converted to f32 at load; small)
};

// Logical geometry of a matrix slot: [rows, cols], or n stacked [rows, cols] (lead = {n}).
struct MatrixGeom {
  explicit MatrixGeom(const WeightSlot& s);
  std::vector<int64_t> with_lead(std::vector<int64_t> tail) const;
  bool stacked = false;
  std::vector<int64_t> lead;
  int64_t n = 1, rows = 0, cols = 0;
};

class WeightBinder {
 public:
  // Binds the tensors of sub-model `root`: text (keys normalized by the layout's text rule; tower
  // keys are set aside) or one tower (keys with a leading `model.` removed, e.g.
  // "vision_tower.encoder.layers.0.mlp.up_proj.linear.weight"; every other key is not its concern).
  WeightBinder(const SafetensorsCollection& st, const QuantConfig& quant, Layout layout,
               SubModel root = SubModel::kText);

  bool has_local(const std::string& local_key) const { return text_.count(local_key) > 0; }
  // Binds every slot of `table`; problems are collected, not thrown.
  std::map<std::string, BoundWeight> bind(const std::vector<WeightSlot>& table);
  void add_problem(Problem p) { problems_.push_back(std::move(p)); }
  // Every tensor claimed from now on (used, ignored, set aside) is reported to `p`.
  void set_progress(LoadProgressReporter* p) { progress_ = p; }
  // Names the table in "unexpected tensor" problems (default "Gemma 4 text").
  void set_table_name(std::string name) { table_name_ = std::move(name); }
  // Text tensors whose local key contains `fragment` are accepted and ignored (e.g. saved RoPE
  // buffers), instead of being reported as unclaimed.
  void ignore_containing(const std::string& fragment, const std::string& reason) {
    ignore_fragments_.emplace_back(fragment, reason);
  }
  // Reports unclaimed text tensors and sets tower tensors aside; throws one Error listing every
  // problem if there is any. `skip_towers=false` makes tower tensors an error (not loadable yet).
  LoadReport finish(const std::string& what, bool skip_towers);

 private:
  struct Local {
    const TensorInfo* t;
    std::string raw;
  };
  const Local* find(const std::string& local) const;
  void claim(const std::string& local, const std::string& status, const std::string& role);
  void bind_matrix(const WeightSlot& s, BoundWeight* b);
  void bind_dense(const WeightSlot& s, const MatrixGeom& g, const Local* w, BoundWeight* b);
  void bind_quantized(const WeightSlot& s, const MatrixGeom& g, const Local* w, const Local* sc,
                      BoundWeight* b);
  bool check_quantized(const WeightSlot& s, const MatrixGeom& g, const QuantParams& q,
                       const std::string& hint, const Local* w, const Local* sc, const Local* bi,
                       const Local* gs);
  void bind_vector(const WeightSlot& s, BoundWeight* b);
  void ignore(const WeightSlot& s);
  QuantConfig::Lookup quant_for(const std::string& raw_module, const std::string& local_module) const;
  std::string raw_of(const std::string& local) const;  // key a missing local tensor would have
  Problem problem(const Local* at, const std::string& what) const;

  const SafetensorsCollection& st_;
  const QuantConfig& quant_;
  Layout layout_;
  SubModel root_ = SubModel::kText;
  std::string tower_prefix_;                     // "model." when the root tower's keys carry it
  std::map<std::string, Local> text_;            // local key -> tensor (of the root sub-model)
  std::map<std::string, SubModel> towers_;       // raw key -> tower sub-model
  std::vector<std::string> unmatched_;           // raw keys no layout rule accepts
  std::map<std::string, TensorReport> claimed_;  // raw key -> report row
  std::vector<Problem> problems_;
  std::map<std::string, std::vector<std::string>> storage_;
  std::vector<std::pair<std::string, std::string>> ignore_fragments_;
  LoadProgressReporter* progress_ = nullptr;
  std::string table_name_ = "Gemma 4 text";
};

// Rows [r0, r0 + n) of a bound matrix, as a Matrix pointing into the same storage (dense or
// quantized): how a fused [gate; up] expert tensor is split without copying.
Matrix matrix_rows(const Matrix& m, int64_t r0, int64_t n, const std::string& name);

std::string shape_str(const std::vector<int64_t>& s);

}  // namespace ember
