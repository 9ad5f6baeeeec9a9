#!/usr/bin/env bash
# `ember run` flags end to end on the tiny fixture model: --stop, --system, --think, --no-yoco,
# sampling defaults from generation_config.json and their overrides (--verbose shows what
# reaches the sampler), EOS ids from generation_config.json, and clear errors for bad
# arguments and for a missing or broken model directory, tokenizer or chat template.
set -euo pipefail
W="$EMBER_WORK/cli_flags"; rm -rf "$W"; mkdir -p "$W/model"
F="$EMBER_SOURCE_DIR/tests/fixtures"
ln -s "$F"/gemma4/hf_text_e2b_bf16/* "$W/model/"
ln -s "$F"/tiny_tokenizer/* "$W/model/"
E="$EMBER_BIN/ember"
Q="What is the capital of France?"
# A copy of the model directory with its own generation_config.json ($1: directory, $2: JSON).
variant() {
  mkdir -p "$1"
  for f in "$W"/model/*; do [ "$(basename "$f")" = generation_config.json ] || ln -sf "$(readlink -f "$f")" "$1/"; done
  printf '%s\n' "$2" >"$1/generation_config.json"
}
json_field() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])[sys.argv[2]])" "$@"; }

# --stop: the answer ends before the first occurrence of the stop string (greedy).
"$E" run "$W/model" -p "$Q" --temperature 0 -n 24 --stats none -t 2 >"$W/full.txt"
stop=$(python3 -c "import sys; t=open(sys.argv[1]).read().rstrip('\n'); k=len(t)//2; print(t[k:k+2])" "$W/full.txt")
if [ -n "${stop// /}" ]; then
  "$E" run "$W/model" -p "$Q" --temperature 0 -n 24 --stop "$stop" --stats none -t 2 >"$W/stopped.txt"
  python3 - "$W/full.txt" "$W/stopped.txt" "$stop" <<'PY'
import sys
full, cut, stop = open(sys.argv[1]).read()[:-1], open(sys.argv[2]).read()[:-1], sys.argv[3]
assert stop not in cut, (cut, stop)
assert full.startswith(cut) and len(cut) < len(full), (full, cut)
print(f"--stop {stop!r}: {len(full)} -> {len(cut)} chars")
PY
fi
# A --stop value never swallows the model argument.
"$E" run --stop "zz" "$W/model" -p "$Q" --temperature 0 -n 2 --stats none -t 2 >/dev/null

# --system and --think reach the chat template (more prompt tokens); --no-yoco gives the same answer.
"$E" run "$W/model" -p "$Q" --temperature 0 -n 8 --stats json -t 2 >"$W/base.txt" 2>"$W/base.json"
"$E" run "$W/model" -p "$Q" --system "Be brief." --temperature 0 -n 8 --stats json -t 2 >/dev/null 2>"$W/sys.json"
"$E" run "$W/model" -p "$Q" --think --temperature 0 -n 8 --stats json -t 2 >/dev/null 2>"$W/think.json"
"$E" run "$W/model" -p "$Q" --no-yoco --temperature 0 -n 8 --stats none -t 2 >"$W/noyoco.txt"
cmp "$W/base.txt" "$W/noyoco.txt"
base=$(json_field "$W/base.json" prompt_tokens)
[ "$(json_field "$W/sys.json" prompt_tokens)" -gt "$base" ]
[ "$(json_field "$W/think.json" prompt_tokens)" -gt "$base" ]

# Sampling defaults come from generation_config.json; flags override them; --verbose shows both.
variant "$W/gc" '{"bos_token_id": 2, "eos_token_id": [1, 15], "do_sample": true, "temperature": 0.7, "top_k": 20, "top_p": 0.9}'
"$E" run "$W/gc" -p "$Q" -n 1 --verbose --stats none -t 2 2>"$W/v1.err" >/dev/null
grep -q "temperature 0.7, top_k 20, top_p 0.9, min_p 0, repeat_penalty 1, presence_penalty 0, frequency_penalty 0" "$W/v1.err"
grep -q "stop ids 1,15" "$W/v1.err"
"$E" run "$W/gc" -p "$Q" -n 1 --verbose --stats none -t 2 --temperature 0.3 --top-k 5 --top-p 0.5 --min-p 0.05 \
  --repeat-penalty 1.2 --presence-penalty 0.5 --frequency-penalty -0.25 --seed 9 --stop a --stop b 2>"$W/v2.err" >/dev/null
grep -q "temperature 0.3, top_k 5, top_p 0.5, min_p 0.05, repeat_penalty 1.2, presence_penalty 0.5, frequency_penalty -0.25, seed 9, max_tokens 1, stop ids 1,15, stop strings 2" "$W/v2.err"
variant "$W/greedy" '{"bos_token_id": 2, "eos_token_id": [1], "do_sample": false}'
"$E" run "$W/greedy" -p "$Q" -n 1 --verbose --stats none -t 2 2>"$W/v3.err" >/dev/null
grep -q "temperature 0," "$W/v3.err"

# EOS ids from generation_config.json end generation: make the greedy first token an EOS id.
ids=$("$E" tokenize "$W/model" "hello there" --bos --no-special --ids-only | tr ' ' ',')
"$E" logits "$W/model" --ids "$ids" --out "$W/l.npy" -t 2 2>/dev/null
first=$(python3 -c "import numpy as np, sys; print(int(np.load(sys.argv[1])[-1].argmax()))" "$W/l.npy")
variant "$W/eos" "{\"bos_token_id\": 2, \"eos_token_id\": [1, $first]}"
"$E" run "$W/model" -p "hello there" --raw --temperature 0 -n 4 --stats json -t 2 >/dev/null 2>"$W/e0.json"
[ "$(json_field "$W/e0.json" generated_tokens)" = 4 ]
"$E" run "$W/eos" -p "hello there" --raw --temperature 0 -n 4 --stats json -t 2 >"$W/eos.txt" 2>"$W/e1.json"
[ "$(json_field "$W/e1.json" generated_tokens)" = 0 ]
[ "$(cat "$W/eos.txt")" = "" ]

# The loading progress bar: drawn on stderr when it is a terminal (here a pty from script(1)),
# erased when loading ends; nothing at all when stderr is not a terminal.
if command -v script >/dev/null; then
  printf 'Hello\n/exit\n' | script -qc "'$E' chat '$W/model' -n 2 --temperature 0 -t 2" /dev/null >"$W/tty.txt"
  grep -q "loading model \[#*\] 100%" "$W/tty.txt"
  grep -q "ember chat" "$W/tty.txt"
fi
if grep -q "loading" "$W/base.json"; then echo "progress bar drawn on a non-terminal"; exit 1; fi

# Bad arguments: non-zero exit and a message naming the flag.
expect_fail() {  # $1: pattern the message must contain; the rest: the command
  local pat="$1"; shift
  if "$@" </dev/null >/dev/null 2>"$W/err"; then echo "accepted: $*"; exit 1; fi
  grep -qi -- "$pat" "$W/err" || { echo "message for '$*' lacks '$pat':"; cat "$W/err"; exit 1; }
}
expect_fail "--top-p" "$E" run "$W/model" -p hi --top-p 3
expect_fail "--temperature" "$E" run "$W/model" -p hi --temperature -1
expect_fail "--min-p" "$E" run "$W/model" -p hi --min-p 2
expect_fail "--repeat-penalty" "$E" run "$W/model" -p hi --repeat-penalty 0
expect_fail "--presence-penalty" "$E" run "$W/model" -p hi --presence-penalty 5
expect_fail "--threads" "$E" run "$W/model" -p hi -t -2
expect_fail "--max-tokens" "$E" run "$W/model" -p hi -n abc
expect_fail "excludes" "$E" run "$W/model" -p hi -f "$W/full.txt"
expect_fail "excludes" "$E" run "$W/model" -p hi --raw --system x
expect_fail "excludes" "$E" run "$W/model" -p hi --raw --think
expect_fail "cannot read prompt file" "$E" run "$W/model" -f "$W/nonexistent.txt"
expect_fail "The following argument was not expected" "$E" run "$W/model" -p hi extra
# A missing or broken model directory, tokenizer or template: the message names the file.
mkdir -p "$W/empty"
expect_fail "no config.json" "$E" run "$W/empty" -p hi
mkdir -p "$W/notok"; ln -s "$F"/gemma4/hf_text_e2b_bf16/* "$W/notok/"
expect_fail "no usable tokenizer" "$E" run "$W/notok" -p hi
mkdir -p "$W/badtok"; ln -s "$F"/gemma4/hf_text_e2b_bf16/* "$W/badtok/"
echo '{"model": {"type": "BPE", "vocab": 7}}' >"$W/badtok/tokenizer.json"
expect_fail "tokenizer.json" "$E" run "$W/badtok" -p hi
mkdir -p "$W/badtpl"; ln -s "$W"/model/* "$W/badtpl/"
printf 'ok\n{%% for m in messages %%}{{ m.content }\n' >"$W/badtpl/chat_template.jinja"
expect_fail "chat_template.jinja: template syntax error at line 2" "$E" run "$W/badtpl" -p hi
mkdir -p "$W/badcfg"; ln -s "$W"/model/* "$W/badcfg/"; rm "$W/badcfg/config.json"
echo '{"model_type": "gemma4_text", "hidden_size": "big"}' >"$W/badcfg/config.json"
expect_fail "config.json" "$E" run "$W/badcfg" -p hi
echo OK
