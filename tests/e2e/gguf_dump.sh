#!/usr/bin/env bash
# `ember gguf-dump` on the committed fixture, and a clean error on a file that is not GGUF.
set -euo pipefail
ember="$EMBER_BIN/ember"
fix="$EMBER_SOURCE_DIR/tests/fixtures/gguf/tiny.gguf"
out=$("$ember" gguf-dump "$fix" --tensors)
for want in "GGUF v3, 31 metadata keys, 7 tensors, alignment 64" 'test.arr_nested' 'array[2] [i32[2] [1, 2], i32[1] [3]]' \
            'blk.0.q.weight' 'Q4_K' '[32, 2, 3]'; do
  grep -qF -- "$want" <<<"$out" || { echo "gguf-dump output lacks: $want"; echo "$out"; exit 1; }
done
mkdir -p "$EMBER_WORK"
bad="$EMBER_WORK/not.gguf"
head -c 100 "$fix" >"$bad"
if err=$("$ember" gguf-dump "$bad" 2>&1); then echo "truncated file accepted"; exit 1; fi
grep -q "not.gguf: corrupt GGUF at byte" <<<"$err" || { echo "unexpected error: $err"; exit 1; }
echo "gguf_dump: ok"
