#!/usr/bin/env python3
"""Cross-checks the C++ test checkpoint writer against the reference loaders.

Writes tiny checkpoints with build/bin/make_tiny_checkpoint and loads them strictly with
transformers (HF text-only layouts: no missing/unexpected/mismatched keys) and mlx-lm
(MLX layouts: load_model(strict=True)). Not run in CI (needs torch/transformers/mlx).

  python3 tools/check_tiny_checkpoints.py [build/bin]
"""
import subprocess
import sys
import tempfile
from pathlib import Path

HF_CASES = [
    "--layout hf-text --dtype f32",
    "--layout hf-text --moe --k-eq-v --no-ple --kv-shared 0 --dtype f32",
    "--layout hf-text --double-wide --no-shared-kv --untied --dtype f32",
]
MLX_CASES = [
    "--layout mlx-text --quant 4",
    "--layout mlx-text --quant mixed --group 32 --moe --k-eq-v --no-ple --kv-shared 0",
    "--layout mlx-text --quant 8 --ple-proj-dense --no-shared-kv",
    "--layout mlx --quant mixed",
    "--layout mlx --quant 4 --untied --group 32",
]


def make(bin_dir, out, args):
    subprocess.run([str(Path(bin_dir) / "make_tiny_checkpoint"), str(out)] + args.split(), check=True,
                   stdout=subprocess.DEVNULL)


def main():
    bin_dir = sys.argv[1] if len(sys.argv) > 1 else "build/bin"
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        from transformers import Gemma4ForCausalLM
        for i, args in enumerate(HF_CASES):
            d = Path(tmp) / f"hf{i}"
            make(bin_dir, d, args)
            _, info = Gemma4ForCausalLM.from_pretrained(d, output_loading_info=True)
            bad = {k: v for k, v in info.items() if v}
            print(f"transformers {args}: {'OK' if not bad else bad}")
            failures += bool(bad)
        from mlx_lm.utils import load_model
        for i, args in enumerate(MLX_CASES):
            d = Path(tmp) / f"mlx{i}"
            make(bin_dir, d, args)
            try:
                load_model(d, strict=True)
                print(f"mlx-lm {args}: OK")
            except Exception as e:  # noqa: BLE001 - report and continue
                print(f"mlx-lm {args}: FAILED {e}")
                failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
