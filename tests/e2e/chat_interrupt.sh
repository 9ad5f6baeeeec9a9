#!/usr/bin/env bash
# `ember chat` with a non-TTY stdin (a FIFO kept open): multi-line messages (a """ block and a
# line ending in \) are one message each; Ctrl-C (SIGINT) during an answer stops that answer
# only; SIGINT while waiting for input is harmless; /system, /help, unknown commands; /exit
# exits 0.
set -euo pipefail
W="$EMBER_WORK/chat_interrupt"; rm -rf "$W"; mkdir -p "$W/model"
F="$EMBER_SOURCE_DIR/tests/fixtures"
ln -s "$F"/gemma4/hf_text_e2b_bf16/* "$W/model/"
ln -s "$F"/tiny_tokenizer/* "$W/model/"
E="$EMBER_BIN/ember"

# 1. Multi-line messages and commands over a pipe (short answers).
printf '"""\nfirst line\nsecond line\n"""\ncontinued \\\nline\n/system Be brief.\n/help\n/nonsense\n/stats\n/exit\n' |
  "$E" chat "$W/model" --temperature 0 -n 4 --stats json -t 2 >"$W/out1" 2>"$W/err1"
[ "$(grep -c '"generated_tokens"' "$W/err1")" = 2 ]  # the block and the continued line: one message each
grep -q "system prompt set" "$W/err1"
grep -q "commands: /reset" "$W/err1"
grep -q "unknown command /nonsense" "$W/err1"
grep -q "tokens in the cache" "$W/err1"
grep -q "decode 4 tokens" "$W/err1"  # /stats shows the last turn

# 2. Ctrl-C over a FIFO kept open: a long answer (greedy past the stop tokens, up to the whole
#    context) is cut short.
mkfifo "$W/in"
"$E" chat "$W/model" --temperature 0 --ignore-eos -n 1000000 -c 0 --stats json -t 2 <"$W/in" >"$W/out" 2>"$W/err" &
pid=$!
exec 3>"$W/in"
cleanup() { exec 3>&- || true; kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT
wait_for() {  # $1: file, $2: grep pattern; up to 60 s
  for _ in $(seq 600); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1"; cat "$W/err"; exit 1
}
printf 'Tell me a long story.\n' >&3
for _ in $(seq 600); do [ "$(wc -c <"$W/out")" -gt 100 ] && break; sleep 0.1; done
kill -INT "$pid"                                   # Ctrl-C during the answer
wait_for "$W/out" '\[stopped\]'
sleep 0.3
kill -INT "$pid"                                   # Ctrl-C at the prompt
sleep 0.3
printf '/stats\n/exit\n' >&3
exec 3>&-
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || { echo "chat exited $rc after Ctrl-C"; cat "$W/err"; exit 1; }
grep -q "tokens in the cache" "$W/err"
# The stopped answer was short of the context.
python3 - "$W/err" "$W/model/config.json" <<'PY'
import json, sys
stats = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ctx = json.load(open(sys.argv[2]))["max_position_embeddings"]
assert len(stats) == 1, stats
assert 0 < stats[0]["generated_tokens"] < ctx - 100, (stats[0], ctx)
print(f"stopped after {stats[0]['generated_tokens']} of up to {ctx} tokens")
PY
echo OK
