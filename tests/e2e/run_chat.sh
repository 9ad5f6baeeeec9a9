#!/usr/bin/env bash
# `ember run` and `ember chat` end to end on the tiny fixture model (weights from a golden
# fixture + the tiny Gemma-style tokenizer): greedy output is deterministic, seeded sampling
# reproduces, chat keeps the cache across turns, bad arguments give a useful non-zero exit.
set -euo pipefail
W="$EMBER_WORK/run_chat"; rm -rf "$W"; mkdir -p "$W/model"
F="$EMBER_SOURCE_DIR/tests/fixtures"
ln -s "$F"/gemma4/hf_text_e2b_bf16/* "$W/model/"
ln -s "$F"/tiny_tokenizer/* "$W/model/"
E="$EMBER_BIN/ember"

# run: greedy twice gives the same text; stats as JSON on stderr.
"$E" run "$W/model" -p "What is the capital of France?" --temperature 0 -n 12 --stats json -t 2 >"$W/a.txt" 2>"$W/a.err"
"$E" run "$W/model" -p "What is the capital of France?" --temperature 0 -n 12 --stats json -t 2 >"$W/b.txt" 2>/dev/null
cmp "$W/a.txt" "$W/b.txt"
grep -q '"generated_tokens": 12' "$W/a.err" || grep -q '"generated_tokens"' "$W/a.err"
grep -q '"decode_tok_s"' "$W/a.err"
# --raw, -f FILE and stdin.
echo "hello there" >"$W/p.txt"
"$E" run "$W/model" -f "$W/p.txt" --raw --temperature 0 -n 4 --stats none -t 2 >"$W/c.txt"
echo "hello there" | "$E" run "$W/model" --raw --temperature 0 -n 4 --stats none -t 2 >"$W/d.txt"
cmp "$W/c.txt" "$W/d.txt"
# Seeds: same seed, same output.
"$E" run "$W/model" -p "Hi" --seed 5 --temperature 1 -n 16 --stats none -t 2 >"$W/s1.txt"
"$E" run "$W/model" -p "Hi" --seed 5 --temperature 1 -n 16 --stats none -t 2 >"$W/s2.txt"
cmp "$W/s1.txt" "$W/s2.txt"

# chat over a pipe: two turns, /stats shows the cache, /reset, /exit.
printf 'What is the capital of France?\n/stats\nAnd of Italy?\n/stats\n/reset\n/exit\n' |
  "$E" chat "$W/model" --temperature 0 -n 6 -t 2 >"$W/chat.out" 2>"$W/chat.err"
grep -q "tokens in the cache" "$W/chat.err"
grep -q "conversation reset" "$W/chat.err"
# The second turn prefilled fewer tokens than the whole conversation held.
python3 - "$W/chat.err" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
m = re.findall(r"\[(\d+) tokens in the cache, last turn prefilled (\d+)\]", s)
assert len(m) == 2, s
(c1, p1), (c2, p2) = [(int(a), int(b)) for a, b in m]
assert p1 == c1 - 6 or p1 <= c1, m
assert p2 < c1, ("second turn recomputed the history", m)
print("chat turns:", m)
PY

# Bad arguments and inputs: non-zero exit, a message naming the problem.
if "$E" run "$W/model" 2>"$W/e1" </dev/null; then echo "empty prompt accepted"; exit 1; fi
grep -qi "prompt" "$W/e1"
if "$E" run /nonexistent -p hi 2>"$W/e2"; then echo "missing model accepted"; exit 1; fi
grep -q "no such file or directory" "$W/e2"
if "$E" run "$W/model" -p hi --top-p 3 2>"$W/e3"; then echo "bad top-p accepted"; exit 1; fi
grep -q -- "--top-p" "$W/e3"  # names the flag (checked before the model loads)
if "$E" run "$W/model" -p hi --stats xml 2>"$W/e4"; then echo "bad --stats accepted"; exit 1; fi
if "$E" run 2>"$W/e5"; then echo "missing model arg accepted"; exit 1; fi
echo OK
