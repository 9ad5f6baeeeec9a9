#!/usr/bin/env bash
# ember vs llama.cpp on this machine, same threads / prompt length / generated length, with the
# two engines' runs INTERLEAVED (round i: ember then llama.cpp, round i+1: llama.cpp then ember)
# so that load from other processes hits both alike. Pairs:
#   gemma3-270m  the same file: Gemma 3 270M Q4_K_M GGUF (scripts/find-demo-gguf.sh)
#   e2b-q8       the same weights: random E2B, ember on MLX 8-bit, llama.cpp on Q8_0 GGUF
#   e2b-q4       the same weights: random E2B, ember on MLX 4-bit, llama.cpp on Q4_0 GGUF
# (E2B artifacts: scripts/bench-make-e2b.sh.) Each round runs `ember bench -r 1` and
# `llama-bench -r 1` (each with its own warm-up), so a pair's figure is the median over
# --rounds rounds; peak RSS of each process comes from /usr/bin/time.
#
#   scripts/bench-vs-llamacpp.sh [--rounds 5] [-t 2] [-p 512] [-n 128] [--pairs "gemma3-270m e2b-q8 e2b-q4"]
#                                [--out build/bench-vs-llamacpp]
# Writes OUT/runs.jsonl (one line per run) and OUT/summary.md (the table of docs/benchmarks.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EMBER=${EMBER:-$ROOT/build/bin/ember}
LLAMA_BENCH=${LLAMA_BENCH:-/work/ext/llama.cpp/build/bin/llama-bench}
MODELS=${MODELS:-/work/models}
ROUNDS=5 THREADS=2 NP=512 NG=128 PAIRS="gemma3-270m e2b-q8 e2b-q4" OUT=$ROOT/build/bench-vs-llamacpp
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    -t) THREADS=$2; shift 2 ;;
    -p) NP=$2; shift 2 ;;
    -n) NG=$2; shift 2 ;;
    --pairs) PAIRS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "bench-vs-llamacpp: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$EMBER" ] || { echo "no ember binary at $EMBER (make build)" >&2; exit 1; }
[ -x "$LLAMA_BENCH" ] || { echo "no llama-bench at $LLAMA_BENCH (set LLAMA_BENCH)" >&2; exit 1; }
mkdir -p "$OUT"
RUNS=$OUT/runs.jsonl
: >"$RUNS"

wait_for() {  # a model made in the background by bench-make-e2b.sh: wait up to 15 min
  local i=0
  while [ ! -e "$1" ] && [ $i -lt 180 ]; do sleep 5; i=$((i + 1)); done
  [ -e "$1" ] || { echo "missing $1" >&2; exit 1; }
}

pair_files() {  # pair -> "EMBER_MODEL LLAMA_MODEL"
  case $1 in
    gemma3-270m) g=$(bash "$ROOT/scripts/find-demo-gguf.sh"); echo "$g $g" ;;
    e2b-q8) echo "$MODELS/e2b-mlx-q8 $MODELS/e2b-q8_0.gguf" ;;
    e2b-q4) wait_for "$MODELS/e2b-q4_0.gguf"; echo "$MODELS/e2b-mlx-q4 $MODELS/e2b-q4_0.gguf" ;;
    *) echo "unknown pair $1" >&2; exit 2 ;;
  esac
}

run_ember() {  # pair model round
  local t=$OUT/time.txt
  /usr/bin/time -f %M -o "$t" "$EMBER" bench "$2" -p "$NP" -n "$NG" -r 1 -t "$THREADS" --json >"$OUT/e.json"
  python3 - "$1" "$3" "$OUT/e.json" "$t" >>"$RUNS" <<'PY'
import json, sys
pair, rnd, f, t = sys.argv[1:]
j = json.load(open(f))
print(json.dumps({"pair": pair, "round": int(rnd), "engine": "ember", "pp": j["pp_tok_s"], "tg": j["tg_tok_s"],
                  "rss": int(open(t).read().split()[-1]) * 1024, "file": j["model_file_bytes"], "backend": j["backend"]}))
PY
}

run_llama() {  # pair model round
  local t=$OUT/time.txt
  /usr/bin/time -f %M -o "$t" "$LLAMA_BENCH" -m "$2" -p "$NP" -n "$NG" -r 1 -t "$THREADS" -o json >"$OUT/l.json" 2>"$OUT/l.err"
  python3 - "$1" "$3" "$OUT/l.json" "$t" "$2" >>"$RUNS" <<'PY'
import json, os, sys
pair, rnd, f, t, model = sys.argv[1:]
rows = json.load(open(f))
pp = [r["avg_ts"] for r in rows if r["n_prompt"] > 0 and r["n_gen"] == 0]
tg = [r["avg_ts"] for r in rows if r["n_gen"] > 0 and r["n_prompt"] == 0]
print(json.dumps({"pair": pair, "round": int(rnd), "engine": "llama.cpp", "pp": pp[0] if pp else 0, "tg": tg[0] if tg else 0,
                  "rss": int(open(t).read().split()[-1]) * 1024, "file": os.path.getsize(model),
                  "backend": rows[0].get("cpu_info", "") + f" ({rows[0].get('type_k', '')} KV)"}))
PY
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; threads $THREADS; pp$NP tg$NG; $ROUNDS rounds"
echo "start: $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  for pair in $PAIRS; do
    read -r em lm < <(pair_files "$pair")
    if [ $((r % 2)) -eq 1 ]; then run_ember "$pair" "$em" "$r"; run_llama "$pair" "$lm" "$r"
    else run_llama "$pair" "$lm" "$r"; run_ember "$pair" "$em" "$r"; fi
    echo "round $r $pair done $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
echo "end: $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$ROOT/scripts/bench-summary.py" "$RUNS" "$NP" "$NG" | tee "$OUT/summary.md"
