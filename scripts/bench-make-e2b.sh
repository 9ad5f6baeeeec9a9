#!/usr/bin/env bash
# Builds the "same weights" artifacts of scripts/bench-vs-llamacpp.sh in $MODELS (default
# /work/models), all from ONE random-weight bf16 checkpoint with the real Gemma 4 E2B geometry:
#   e2b-bf16/         make_random_gemma4 --format bf16 (+ the Gemma 3 tokenizer, which the
#                     llama.cpp converter needs; 262,144 tokens like Gemma 4)
#   e2b-q8_0.gguf     llama.cpp convert_hf_to_gguf.py --outtype q8_0
#   e2b-q4_0.gguf     llama-quantize --allow-requantize --pure e2b-q8_0.gguf Q4_0 (from the Q8_0
#                     file: a 10 GB bf16/f16 GGUF does not fit the shared disk), or without a
#                     llama-quantize binary tools/requant_gguf_q4_0.py --keep-ple (gguf-py)
#   e2b-mlx-q8/, e2b-mlx-q4/   tools/quantize_mlx.py (mlx.core.quantize, group 64)
# Steps whose output exists are skipped; delete it to rebuild. Needs mlx (pip install mlx[cpu])
# and a llama.cpp build ($LLAMA_CPP, default /work/ext/llama.cpp with build/bin).
#   scripts/bench-make-e2b.sh [--drop-bf16]   (--drop-bf16: delete e2b-bf16 at the end)
set -euo pipefail
MODELS=${MODELS:-/work/models}
LLAMA_CPP=${LLAMA_CPP:-/work/ext/llama.cpp}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MAKE_RANDOM=${MAKE_RANDOM:-$ROOT/build/bin/make_random_gemma4}
SHARED=${SHARED:-$ROOT/../shared}
BF16=$MODELS/e2b-bf16

if [ ! -f "$BF16/model.safetensors" ]; then
  mkdir -p "$BF16"
  "$MAKE_RANDOM" --variant e2b --format bf16 --seed 7 --out "$BF16"
fi
for f in tokenizer.json tokenizer_config.json; do
  [ -f "$BF16/$f" ] || gunzip -c "$SHARED/assets/gemma3-tokenizer/$f.gz" >"$BF16/$f"
done
if [ ! -f "$MODELS/e2b-q8_0.gguf" ]; then
  PYTHONPATH=$LLAMA_CPP/gguf-py python3 "$LLAMA_CPP/convert_hf_to_gguf.py" "$BF16" --outtype q8_0 \
    --outfile "$MODELS/e2b-q8_0.gguf.tmp"
  # The Gemma 3 tokenizer has 262145 entries, the E2B embedding 262144 rows: llama.cpp refuses
  # the mismatch, so the extra last token is dropped from the GGUF header (in place).
  PYTHONPATH=$LLAMA_CPP/gguf-py python3 "$ROOT/tools/fix_gguf_vocab.py" "$MODELS/e2b-q8_0.gguf.tmp"
  mv "$MODELS/e2b-q8_0.gguf.tmp" "$MODELS/e2b-q8_0.gguf"
fi
if [ ! -f "$MODELS/e2b-q4_0.gguf" ]; then
  if [ -x "$LLAMA_CPP/build/bin/llama-quantize" ]; then
    "$LLAMA_CPP/build/bin/llama-quantize" --allow-requantize --pure "$MODELS/e2b-q8_0.gguf" "$MODELS/e2b-q4_0.gguf.tmp" Q4_0
  else  # no llama-quantize binary: the same re-quantization with gguf-py (PLE table left Q8_0)
    PYTHONPATH=$LLAMA_CPP/gguf-py python3 "$ROOT/tools/requant_gguf_q4_0.py" "$MODELS/e2b-q8_0.gguf" \
      "$MODELS/e2b-q4_0.gguf.tmp" --keep-ple
  fi
  mv "$MODELS/e2b-q4_0.gguf.tmp" "$MODELS/e2b-q4_0.gguf"
fi
for bits in 8 4; do
  d=$MODELS/e2b-mlx-q$bits
  if [ ! -f "$d/model.safetensors.index.json" ]; then
    rm -rf "$d"
    python3 "$ROOT/tools/quantize_mlx.py" "$BF16" "$d" --bits $bits --group-size 64
  fi
done
[ "${1:-}" = "--drop-bf16" ] && rm -rf "$BF16"
ls -la "$MODELS"
