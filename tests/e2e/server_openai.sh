#!/usr/bin/env bash
# e2e: `ember serve` on the tiny fixture model, exercised with the official openai Python client
# (tests/server/test_openai.py): chat (streaming and not), completions, tools, usage, stop strings,
# seeds, concurrent == sequential greedy, prefix cache, errors 400/401/404/413/429, timeout,
# client disconnect, metrics.
set -euo pipefail
WORK="$EMBER_WORK/server_openai"
rm -rf "$WORK"; mkdir -p "$WORK"
source "$EMBER_SOURCE_DIR/tests/server/run_servers.sh"
python3 -c "import openai" || { echo "FAIL: the openai package is missing (scripts/install-deps.sh)" >&2; exit 1; }
make_tiny_model "$WORK/tiny"
KEY=test-key-123
start_server main "$WORK" "$WORK/tiny" -t 1 --ctx 512 --api-key "$KEY" --max-seqs 4 --queue 16 \
  --max-prompt-tokens 300 --max-tokens 256 --max-body 65536 --step-tokens 16
EMBER_API_KEY=$KEY start_server limited "$WORK" "$WORK/tiny" -t 1 --ctx 512 --max-seqs 1 --queue 1 \
  --prefix-cache 0 --timeout 2 --debug-step-delay-ms 20
python3 "$EMBER_SOURCE_DIR/tests/server/test_openai.py" --key "$KEY" \
  --base "http://127.0.0.1:$PORT_main/v1" --limited "http://127.0.0.1:$PORT_limited/v1"

# SIGTERM with a request in flight: the client still gets an answer (503) and the server exits
# promptly instead of waiting for the generation.
PYTHONPATH="$EMBER_SOURCE_DIR/tests/server" python3 -c "
import sys, common
st, body = common.http('POST', 'http://127.0.0.1:$PORT_limited/v1/chat/completions',
    {'messages': [{'role': 'user', 'content': 'hi'}], 'max_tokens': 250, 'temperature': 0}, {'Authorization': 'Bearer $KEY'}, timeout=20)
print(st, body[:200].decode(errors='replace'))
" > "$WORK/inflight.out" 2>&1 &
CLIENT=$!
for _ in $(seq 1 50); do  # until the request runs
  PYTHONPATH="$EMBER_SOURCE_DIR/tests/server" python3 -c "
import common, sys
sys.exit(0 if common.metrics('http://127.0.0.1:$PORT_limited')['ember_active_sequences'] >= 1 else 1)" && break
  sleep 0.05
done
kill -TERM "$PID_limited"
alive() { local st=""; read -r _ _ st _ 2>/dev/null < "/proc/$1/stat" || return 1; [ "$st" != Z ]; }  # zombie = exited
for _ in $(seq 1 50); do alive "$PID_limited" || break; sleep 0.1; done
alive "$PID_limited" && { echo "FAIL: server did not exit within 5 s of SIGTERM" >&2; exit 1; }
wait "$CLIENT" || true
grep -q '^503 ' "$WORK/inflight.out" || { cat "$WORK/inflight.out"; echo "FAIL: in-flight request at shutdown" >&2; exit 1; }
echo "shutdown with a request in flight: ok"
