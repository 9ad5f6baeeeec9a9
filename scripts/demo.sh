#!/usr/bin/env bash
# The main job: for now, inspect a small generated Gemma 4 checkpoint (an MLX mixed 4/8-bit
# multimodal layout with a quantized per_layer_model_projection, KV-shared layers and towers).
set -euo pipefail
BIN=build/bin
work=build/demo
rm -rf "$work"; mkdir -p "$work"
"$BIN/ember" version
"$BIN/make_tiny_checkpoint" "$work/tiny-gemma4-mlx-mixed" --layout mlx --quant mixed
"$BIN/ember" inspect "$work/tiny-gemma4-mlx-mixed"
