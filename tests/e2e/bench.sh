#!/usr/bin/env bash
# `ember bench` on the tiny fixture model: the table and the --json object (pp/tg medians,
# spreads, peak RSS), and a clear non-zero exit on bad arguments.
set -euo pipefail
W="$EMBER_WORK/bench"; rm -rf "$W"; mkdir -p "$W/model"
F="$EMBER_SOURCE_DIR/tests/fixtures"
ln -s "$F"/gemma4/hf_text_e2b_bf16/* "$W/model/"
ln -s "$F"/tiny_tokenizer/* "$W/model/"
E="$EMBER_BIN/ember"

"$E" bench "$W/model" -p 24 -n 6 -r 3 -t 2 >"$W/table.txt"
grep -q '| pp24 ' "$W/table.txt"
grep -q '| tg6 ' "$W/table.txt"
grep -q 'peak RSS' "$W/table.txt"

"$E" bench "$W/model" -p 24 -n 6 -r 3 -t 2 --json >"$W/b.json"
python3 - "$W/b.json" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().strip().splitlines()
assert len(lines) == 1, lines  # exactly one JSON object
j = json.loads(lines[0])
for k in ("pp_tok_s", "tg_tok_s", "peak_rss_bytes"):
    assert k in j, k
assert j["pp_tok_s"] > 0 and j["tg_tok_s"] > 0, j
assert j["peak_rss_bytes"] > 1 << 20, j
assert j["n_prompt"] == 24 and j["n_gen"] == 6 and j["repetitions"] == 3, j
for t in ("pp", "tg"):
    s = j[t]
    assert len(s["samples"]) == 3, s
    assert s["min"] <= s["median"] <= s["max"], s
    assert sorted(s["samples"])[1] == s["median"], s  # median of 3
assert j[ "pp_tok_s"] == j["pp"]["median"] and j["tg_tok_s"] == j["tg"]["median"]
print("bench json ok:", j["pp_tok_s"], j["tg_tok_s"], j["peak_rss_bytes"])
PY

# -n 0 skips the tg test (tg_tok_s 0).
"$E" bench "$W/model" -p 8 -n 0 -r 1 -t 1 --json | python3 -c "import json,sys; j=json.load(sys.stdin); assert j['tg_tok_s']==0 and j['pp_tok_s']>0, j"

# Bad arguments: non-zero exit and a message naming the problem.
expect_fail() {  # expect_fail PATTERN ARGS...
  local pat=$1; shift
  if "$E" bench "$@" >"$W/out" 2>"$W/err"; then echo "accepted: $*"; exit 1; fi
  grep -qi -- "$pat" "$W/err" || { echo "no '$pat' in:"; cat "$W/err"; exit 1; }
}
expect_fail "repetitions" "$W/model" -r 0
expect_fail "n-prompt" "$W/model" -p -5
expect_fail "threads" "$W/model" -t abc
expect_fail "nothing to measure" "$W/model" -p 0 -n 0
expect_fail "no such file" /nonexistent/model
expect_fail "model" # no model argument
echo OK
