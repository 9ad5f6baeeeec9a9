#!/usr/bin/env bash
# The main job: for now, inspect a small generated Gemma 4 checkpoint.
set -euo pipefail
BIN=build/bin
work=build/demo
rm -rf "$work"; mkdir -p "$work"
"$BIN/ember" version
