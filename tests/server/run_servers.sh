# Sourced by the server e2e scripts: a tiny runnable model directory (fixture weights + tiny
# tokenizer, as tests/util/tiny_model.cc builds it) and start_server NAME ARGS..., which starts
# `ember serve` on a free loopback port, waits for /health and sets PORT_<NAME> and PID_<NAME>.
# Every server started is killed when the script exits.
EMBER="$EMBER_BIN/ember"
SERVER_PIDS=()
cleanup_servers() { for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup_servers EXIT

make_tiny_model() {  # $1: directory to create
  mkdir -p "$1"
  ln -sf "$EMBER_SOURCE_DIR"/tests/fixtures/gemma4/hf_text_e2b_bf16/* "$1"/
  ln -sf "$EMBER_SOURCE_DIR"/tests/fixtures/tiny_tokenizer/* "$1"/
}

start_server() {  # NAME LOGDIR MODEL ARGS...
  local name=$1 log="$2/$1.log" model=$3; shift 3
  "$EMBER" serve "$model" --host 127.0.0.1 --port 0 "$@" 2>"$log" &
  local pid=$!
  SERVER_PIDS+=("$pid")
  local port=""
  for _ in $(seq 1 300); do
    port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$log")
    [ -n "$port" ] && python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/health', timeout=2)" \
      2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "FAIL: server $name exited" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$log"; echo "FAIL: server $name did not come up" >&2; exit 1; }
  printf -v "PORT_$name" '%s' "$port"
  printf -v "PID_$name" '%s' "$pid"
}
