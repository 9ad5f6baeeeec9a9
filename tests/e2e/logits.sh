#!/usr/bin/env bash
# `ember logits` writes [T, vocab] float32 logits equal to the reference fixture, dumps named
# activations, and rejects bad ids with a clear error.
set -euo pipefail
F="$EMBER_SOURCE_DIR/tests/fixtures/gemma4/mlx_mm_e2b_mixed"
W="$EMBER_WORK/logits"; rm -rf "$W"; mkdir -p "$W"
ids=$(python3 -c "import json,sys;print(','.join(map(str,json.load(open(sys.argv[1]))['ids'])))" "$F/inputs.json")
"$EMBER_BIN/ember" logits "$F" --ids "$ids" --out "$W/l.npy" --precision f32 --dump "$W/dump" -t 2
python3 - "$W/l.npy" "$F/logits.npy" <<'PY'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert a.shape == b.shape, (a.shape, b.shape)
d = float(abs(a - b).max())
assert d <= 1e-3, d
assert (a.argmax(-1) == b.argmax(-1)).all()
print("logits max-abs", d)
PY
test -f "$W/dump/layer.0.attn_out.npy" && test -f "$W/dump/final_norm.npy"
if "$EMBER_BIN/ember" logits "$F" --ids 2,99999999 --out "$W/x.npy" 2>"$W/err"; then echo "bad id accepted"; exit 1; fi
grep -q "outside the vocabulary" "$W/err"
if "$EMBER_BIN/ember" logits /nonexistent --ids 2 --out "$W/x.npy" 2>"$W/err"; then echo "missing dir accepted"; exit 1; fi
grep -q "no such file or directory" "$W/err"
echo OK
