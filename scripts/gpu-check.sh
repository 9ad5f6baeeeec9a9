#!/usr/bin/env bash
# Device-machine run of the CUDA backend (issue #8): build (preset cuda), CUDA unit + golden
# tests, compute-sanitizer on the op tests, GEMV bandwidth, whole-model decode on random
# E2B/E4B checkpoints, transformers side by side. Logs go to $OUT (or ./gpu-out).
#   bash scripts/gpu-check.sh [build] [test] [sanitize] [sanitize-on-fail] [gemv] [model] [e4b] [profile] [hf] [full]
#   (default: build test sanitize gemv model e4b hf; profile = ncu per-kernel times)
set -uo pipefail
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
steps=${*:-build test sanitize gemv model e4b hf}
has() { [[ " $steps " == *" $1 "* ]]; }
J=$(nproc)
T0=$(date +%s)
stamp() { echo "=== [$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/summary.txt"; }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,driver_version --format=csv | tee -a "$OUT/summary.txt"

if has build; then
  stamp build
  cmake --preset cuda > "$OUT/build.log" 2>&1 && cmake --build --preset cuda -j "$J" >> "$OUT/build.log" 2>&1
  rc=$?; stamp "build rc=$rc"; tail -20 "$OUT/build.log" | grep -iE "error|warning" | head -20
  [ $rc -ne 0 ] && { tail -40 "$OUT/build.log"; exit 1; }
fi
B=build-cuda/bin
TESTS=build-cuda/tests/ember_tests
if has test; then
  stamp "cuda tests"
  for f in 'CudaBackendName.*' 'CudaOps.*' 'CudaGemmPrecision.*' '*CudaGolden*'; do
    log="$OUT/tests-${f//[^A-Za-z]/}.log"
    $TESTS --gtest_filter="$f" > "$log" 2>&1; rc=$?
    grep -E "^\[  (PASSED|FAILED) |cuda golden|what\(\)" "$log" | head -40
    grep -E "out of tolerance" "$log" | head -10
    stamp "tests $f rc=$rc"
    if [ $rc -ne 0 ] && has sanitize-on-fail; then
      timeout 200 compute-sanitizer --tool memcheck --print-limit 5 $TESTS --gtest_filter="$f" > "$log.sanitize" 2>&1
      grep -E "=========" "$log.sanitize" | head -30
    fi
  done
fi
if has sanitize; then
  stamp "compute-sanitizer memcheck (all op tests + one golden fixture, both modes)"
  timeout 300 compute-sanitizer --tool memcheck --error-exitcode 9 $TESTS \
    --gtest_filter='CudaOps.*:Fixtures/CudaGolden.LogitsMatchReference/10:Fixtures/CudaGolden.LogitsMatchReference/11' \
    > "$OUT/sanitize.log" 2>&1; rc=$?
  grep -E "ERROR SUMMARY|PASSED|FAILED" "$OUT/sanitize.log" | head; stamp "memcheck rc=$rc"
  stamp "compute-sanitizer racecheck (shared-memory kernels)"
  timeout 200 compute-sanitizer --tool racecheck --error-exitcode 9 $TESTS \
    --gtest_filter='CudaOps.Attention:CudaOps.RmsNorm:CudaOps.Rope:CudaOps.LargeMatmulSpansSeveralWarpsAndRowGroups' \
    > "$OUT/racecheck.log" 2>&1; rc=$?
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|PASSED|FAILED" "$OUT/racecheck.log" | head; stamp "racecheck rc=$rc"
fi
if has gemv; then
  stamp "gemv bench"
  $B/bench_cuda gemv --reps 30 2>&1 | tee "$OUT/gemv.txt"
fi
model_bench() {  # variant format
  local dir=/tmp/rand-$1-$2
  [ -f $dir/model.safetensors ] || { mkdir -p $dir && $B/make_random_gemma4 --variant $1 --format $2 --out $dir; }
  $B/bench_cuda model $dir --backend cuda:f32 --prompt 128 --decode 128 2>&1 | tee -a "$OUT/model.txt"
}
if has model; then
  stamp "model bench e2b"
  model_bench e2b q4
  $B/bench_cuda model /tmp/rand-e2b-q4 --backend cuda:f32:graph --prompt 128 --decode 128 2>&1 | tee -a "$OUT/model.txt"
  $B/bench_cuda model /tmp/rand-e2b-q4 --backend cuda:bf16 --prompt 512 --decode 32 2>&1 | tee -a "$OUT/model.txt"
  model_bench e2b q8
fi
if has e4b; then
  stamp "model bench e4b"
  model_bench e4b q4
  $B/bench_cuda model /tmp/rand-e4b-q4 --backend cuda:f32 --prompt 1024 --decode 64 2>&1 | tee -a "$OUT/model.txt"
fi
if has profile; then  # per-kernel GPU time of one prefill of 4 tokens + 2 decode steps (ncu)
  stamp "ncu profile"
  [ -f /tmp/rand-e2b-q4/model.safetensors ] || { mkdir -p /tmp/rand-e2b-q4 && $B/make_random_gemma4 --variant e2b --format q4 --out /tmp/rand-e2b-q4; }
  timeout 300 ncu --clock-control none --metrics gpu__time_duration.sum --csv --print-units base \
    $B/bench_cuda model /tmp/rand-e2b-q4 --backend cuda --prompt 4 --decode 2 --warmup 0 > "$OUT/ncu.csv" 2> "$OUT/ncu.err"
  stamp "ncu rc=$?"
  python3 - "$OUT/ncu.csv" <<'PY' | tee "$OUT/ncu-summary.txt"
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
hdr = rows[0]; k = hdr.index("Kernel Name"); v = hdr.index("Metric Value")
tot = collections.Counter(); cnt = collections.Counter()
for r in rows[1:]:
    try: t = float(r[v].replace(",", ""))
    except ValueError: continue
    name = r[k].split("(")[0].split("<")[0][:60] + ("<" + r[k].split("<")[1].split(">")[0] + ">" if "<" in r[k] else "")
    tot[name] += t; cnt[name] += 1
all_ns = sum(tot.values())
print(f"total kernel time {all_ns/1e6:.3f} ms over {sum(cnt.values())} kernels (3 steps: prefill T=4 + 2 decode)")
for n, t in tot.most_common(25): print(f"{t/1e6:9.3f} ms {cnt[n]:6d}x {t/cnt[n]/1e3:8.2f} us  {n}")
PY
fi
if has hf; then
  stamp "transformers baseline"
  PYTHONUNBUFFERED=1 timeout 240 python3 tools/bench_transformers_gemma4.py --variant e2b --prompt 128 --decode 64 2>&1 | grep -v Warning | tail -3 | tee -a "$OUT/model.txt"
  PYTHONUNBUFFERED=1 timeout 240 python3 tools/bench_transformers_gemma4.py --variant e4b --prompt 128 --decode 64 2>&1 | grep -v Warning | tail -3 | tee -a "$OUT/model.txt"
fi
if has full; then
  stamp "full ctest"
  ctest --test-dir build-cuda -j "$J" --output-on-failure > "$OUT/ctest.log" 2>&1; tail -5 "$OUT/ctest.log"
fi
stamp done
