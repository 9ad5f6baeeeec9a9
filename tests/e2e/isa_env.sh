#!/usr/bin/env bash
# EMBER_ISA caps the CPU kernel dispatch level; a bad value is a clear error, not a crash.
set -euo pipefail
bench="$EMBER_BIN/bench_kernels"
work="${EMBER_WORK:-/tmp}/isa_env"
mkdir -p "$work"
out=$(EMBER_ISA=scalar "$bench" --describe --threads 1)
[[ "$out" == "cpu (scalar, 1 threads"* ]] || { echo "unexpected: $out"; exit 1; }
if grep -q avx2 /proc/cpuinfo; then
  out=$(EMBER_ISA=avx2 "$bench" --describe --threads 2)
  [[ "$out" == "cpu (avx2, 2 threads"* ]] || { echo "unexpected: $out"; exit 1; }
fi
if EMBER_ISA=sse9 "$bench" --describe 2>"$work/err.txt"; then echo "EMBER_ISA=sse9 accepted"; exit 1; fi
grep -q "unknown ISA level 'sse9'" "$work/err.txt" || { cat "$work/err.txt"; exit 1; }
echo ok
