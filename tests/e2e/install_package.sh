#!/usr/bin/env bash
# ctest-labels: slow
# (slow: configures and builds the examples out of tree, ~30 s on 2 cores.)
# `cmake --install` into a temporary prefix, then build examples/ against the INSTALLED
# package (find_package(ember) with CMAKE_PREFIX_PATH) and run them on the tiny fixture model;
# embed's greedy answer (answer channel, up to the end of the turn) must equal `ember run`'s. Also builds embed.cc and the C API test
# (as C) with pkg-config alone.
set -euo pipefail
: "${EMBER_BIN:?}" "${EMBER_SOURCE_DIR:?}" "${EMBER_WORK:?}"
build=$(cd "$EMBER_BIN/.." && pwd)
W="$EMBER_WORK/install_package"
rm -rf "$W"; mkdir -p "$W/model"
fail() { echo "FAIL: $*" >&2; exit 1; }
F="$EMBER_SOURCE_DIR/tests/fixtures"
ln -s "$F"/gemma4/hf_text_e2b_bf16/* "$W/model/"
ln -s "$F"/tiny_tokenizer/* "$W/model/"

prefix="$W/prefix"
cmake --install "$build" --prefix "$prefix" >"$W/install.log"
for f in include/ember/ember.hpp include/ember/ember.h include/ember/text.hpp include/ember/inspect.hpp \
         include/ember/error.hpp bin/ember; do
  [ -f "$prefix/$f" ] || fail "not installed: $f"
done
lib=$(find "$prefix" -name 'libember.*' | head -1)
[ -n "$lib" ] || fail "libember not installed"
[ -n "$(find "$prefix" -path '*cmake/ember/emberConfig.cmake')" ] || fail "no emberConfig.cmake"
pc=$(find "$prefix" -name ember.pc | head -1)
[ -n "$pc" ] || fail "no ember.pc"
# Nothing internal is installed.
if find "$prefix/include" -type f | grep -v '/include/ember/'; then fail "non-public headers installed"; fi

# CMake package: configure examples/ out of tree against the prefix only.
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$EMBER_SOURCE_DIR/examples" -B "$W/examples" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >"$W/configure.log" || { cat "$W/configure.log"; fail "configure"; }
cmake --build "$W/examples" -j 2 >"$W/build.log" 2>&1 || { cat "$W/build.log"; fail "build"; }

Q="What is the capital of France?"
"$W/examples/embed" "$W/model" "$Q" >"$W/embed.out"
"$prefix/bin/ember" run "$W/model" -p "$Q" --temperature 0 -n 64 --stats none >"$W/run.out"
[ -s "$W/embed.out" ] || fail "embed printed nothing"
cmp <(tr -d '\n' <"$W/embed.out") <(tr -d '\n' <"$W/run.out") ||
  fail "embed example and ember run differ: $(cat "$W/embed.out") vs $(cat "$W/run.out")"

printf 'Hello!\n/reset\nWhat is the capital of France?\n/exit\n' |
  "$W/examples/chat" "$W/model" "Be brief." >"$W/chat.out" 2>"$W/chat.err" || { cat "$W/chat.err"; fail "chat"; }
[ "$(grep -c 'tok/s' "$W/chat.err")" = 2 ] || { cat "$W/chat.err"; fail "chat did not answer twice"; }
if "$W/examples/chat" "$W/missing" </dev/null 2>"$W/chat_bad.err"; then fail "chat accepted a missing model"; fi
grep -q "^error: " "$W/chat_bad.err" || fail "chat: no error message: $(cat "$W/chat_bad.err")"

# pkg-config only: the C++ example and the C API test compiled as C.
export PKG_CONFIG_PATH="$(dirname "$pc")"
c++ -std=c++20 -O1 "$EMBER_SOURCE_DIR/examples/embed.cc" -o "$W/embed_pc" $(pkg-config --cflags --libs ember)
"$W/embed_pc" "$W/model" "$Q" | cmp - "$W/embed.out" || fail "pkg-config embed differs"
cc -std=c11 -O1 "$EMBER_SOURCE_DIR/tests/c/c_api_test.c" -o "$W/c_api_pc" $(pkg-config --cflags --libs ember)
"$W/c_api_pc" "$W/model" >/dev/null || fail "C API test (pkg-config build) failed"
echo "install_package: ok (installed, find_package + pkg-config builds ran)"
