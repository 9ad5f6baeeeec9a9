#!/usr/bin/env bash
# Runs every libFuzzer target in $1/bin (fuzz_*) for $2 seconds each, seeded from tests/fuzz/corpus/<name>.
# The mutation seed is fixed (FUZZ_SEED, default 1) so a CI run replays a prefix of the input sequence
# that a longer local run with the same seed has already explored: CI stays reproducible, and new
# finds come from long local runs (FUZZ_SEED=$RANDOM scripts/run-fuzzers.sh build-fuzz 600).
set -euo pipefail
dir=${1:-build-fuzz}; secs=${2:-20}; seed=${FUZZ_SEED:-1}
shopt -s nullglob
targets=("$dir"/bin/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then echo "fuzz: no targets built"; exit 0; fi
for t in "${targets[@]}"; do
  name=$(basename "$t")
  corpus_src="tests/fuzz/corpus/$name"
  work="$dir/corpus/$name"; mkdir -p "$work"
  [ -d "$corpus_src" ] && cp -n "$corpus_src"/* "$work"/ 2>/dev/null || true
  echo "fuzz: $name for ${secs}s"
  "$t" -seed="$seed" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 "$work" >"$dir/$name.log" 2>&1 || {
    echo "fuzz: $name FAILED"; tail -50 "$dir/$name.log"; exit 1; }
done
echo "fuzz: all targets ran clean"
