#!/usr/bin/env bash
# End to end: make_tiny_checkpoint writes checkpoints in every layout; `ember inspect` must
# describe valid ones and exit non-zero with the specific problem for broken ones.
set -euo pipefail
: "${EMBER_BIN:?}" "${EMBER_WORK:?}"
work="$EMBER_WORK/inspect"
rm -rf "$work"; mkdir -p "$work"
mk() { "$EMBER_BIN/make_tiny_checkpoint" "$@" >/dev/null; }
fail() { echo "FAIL: $*"; exit 1; }
expect_in() { grep -qF -- "$1" "$2" || { echo "--- $2:"; cat "$2"; fail "missing '$1'"; }; }

i=0
for args in "--layout hf" "--layout hf-text" "--layout mlx --quant 4" "--layout mlx --quant mixed --group 32" \
            "--layout mlx-text --quant 8 --ple-proj-dense" "--layout mlx-text --quant 4 --moe --k-eq-v --no-ple --kv-shared 0" \
            "--layout hf-text --moe --k-eq-v --no-ple --kv-shared 0 --dtype f32" "--layout hf --double-wide --no-shared-kv --sharded"; do
  d="$work/ok$i"; i=$((i + 1))
  mk "$d" $args
  "$EMBER_BIN/ember" inspect "$d" --tensors >"$d.out" 2>&1 || { cat "$d.out"; fail "inspect rejected a valid checkpoint ($args)"; }
  expect_in "layers:" "$d.out"
  expect_in "bytes:" "$d.out"
done
expect_in "layout:       hf-multimodal" "$work/ok0.out"
expect_in "skipped  model.vision_tower.encoder.layers.0.mlp.gate_proj.linear.weight" "$work/ok0.out"
expect_in "ignored  model.language_model.layers.4.self_attn.k_proj.weight" "$work/ok0.out"
expect_in "affine 8-bit g32 (15 tensors)" "$work/ok3.out"
expect_in "layers.*.mlp.gate_proj x5" "$work/ok3.out"
expect_in "dense BF16 (1 tensors)" "$work/ok4.out"
expect_in "MoE:          4 experts, top-2" "$work/ok5.out"
expect_in "<- 2" "$work/ok0.out"

# A truncated safetensors file.
d="$work/trunc"; mk "$d" --layout mlx --quant 4
head -c 100000 "$d/model.safetensors" >"$d/t" && mv "$d/t" "$d/model.safetensors"
if "$EMBER_BIN/ember" inspect "$d" >"$d.out" 2>&1; then fail "truncated file accepted"; fi
expect_in "truncated file?" "$d.out"

# config.json says 8-bit, the file holds 4-bit codes: one report naming every tensor, with a hint.
d="$work/bits"; mk "$d" --layout mlx-text --quant 4
sed -i 's/"bits": 4/"bits": 8/g' "$d/config.json"
if "$EMBER_BIN/ember" inspect "$d" >"$d.out" 2>&1; then fail "wrong bits accepted"; fi
expect_in "problems:" "$d.out"
expect_in "model.embed_tokens.weight: packed shape does not fit 256x128 at affine 8-bit g64" "$d.out"
expect_in "hint: looks 4-bit with group 64; config says affine 8-bit g64" "$d.out"

# Not a checkpoint directory.
if "$EMBER_BIN/ember" inspect "$work/none" >"$work/none.out" 2>&1; then fail "missing dir accepted"; fi
expect_in "config.json" "$work/none.out"
# A .gguf file: described from its metadata and tensor table.
"$EMBER_BIN/ember" inspect "$EMBER_SOURCE_DIR/tests/fixtures/gguf/tiny.gguf" --tensors >"$work/gguf.out" 2>&1 ||
  { cat "$work/gguf.out"; fail "inspect rejected tiny.gguf"; }
expect_in "format:       GGUF v3" "$work/gguf.out"
expect_in "GGUF Q4_K (1 tensors):" "$work/gguf.out"
expect_in "stored   blk.0.q.weight" "$work/gguf.out"
echo "inspect e2e: ok"
