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
  --max-prompt-tokens 300 --max-tokens 256 --max-body 65536
EMBER_API_KEY=$KEY start_server limited "$WORK" "$WORK/tiny" -t 1 --ctx 512 --max-seqs 1 --queue 1 \
  --prefix-cache 0 --timeout 2 --debug-step-delay-ms 20
python3 "$EMBER_SOURCE_DIR/tests/server/test_openai.py" --key "$KEY" \
  --base "http://127.0.0.1:$PORT_main/v1" --limited "http://127.0.0.1:$PORT_limited/v1"
