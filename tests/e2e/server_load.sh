#!/usr/bin/env bash
# ctest-labels: slow
# e2e: bounded load test of `ember serve` on the tiny model (tests/server/load_test.py): throughput
# at concurrency 1/8/32, then 32 clients x 20 mixed requests with disconnects; zero failures and
# RSS back near its baseline.
set -euo pipefail
WORK="$EMBER_WORK/server_load"
rm -rf "$WORK"; mkdir -p "$WORK"
source "$EMBER_SOURCE_DIR/tests/server/run_servers.sh"
make_tiny_model "$WORK/tiny"
start_server load "$WORK" "$WORK/tiny" -t 1 --ctx 512 --max-seqs 32 --queue 64 --max-tokens 256
python3 "$EMBER_SOURCE_DIR/tests/server/load_test.py" --base "http://127.0.0.1:$PORT_load/v1" --pid "$PID_load" \
  --requests "${EMBER_LOAD_REQUESTS:-20}"
