#!/usr/bin/env bash
# Server throughput before vs after continuous batching (docs/benchmarks-server.md): starts
# `ember serve MODEL` with --no-batch (one forward per sequence per step) and then with batching,
# one after the other on the same machine, and runs tools/bench_server.py against each.
#   tools/bench_server.sh MODEL THREADS [bench_server.py args...]
# env: EMBER (the binary, default build/bin/ember), CTX (default 1024).
set -euo pipefail
MODEL=$1 THREADS=$2; shift 2
EMBER=${EMBER:-build/bin/ember}
HERE=$(cd "$(dirname "$0")" && pwd)
for mode in no-batch batch; do
  flags=(); [ "$mode" = no-batch ] && flags=(--no-batch)
  log=$(mktemp)
  "$EMBER" serve "$MODEL" --port 0 -t "$THREADS" --ctx "${CTX:-1024}" --max-seqs 32 --queue 64 "${flags[@]}" 2>"$log" &
  pid=$!
  port=""
  for _ in $(seq 1 600); do
    port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$log")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.2
  done
  python3 "$HERE/bench_server.py" --base "http://127.0.0.1:$port" --label "$mode" "$@" || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$log"
done
