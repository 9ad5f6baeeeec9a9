#!/usr/bin/env python3
"""MLX affine quantization of a bf16 Gemma 4 checkpoint, tensor by tensor, with mlx.core.quantize
itself (so the codes/scales/biases are exactly MLX's). For the "same weights" benchmark
(scripts/bench-vs-llamacpp.sh): ember runs the MLX 8/4-bit output, llama.cpp the Q8_0/Q4_0
GGUF converted from the SAME bf16 directory.

  python3 tools/quantize_mlx.py SRC_DIR DST_DIR --bits 8|4 [--group-size 64] [--shard-gb 2]

Quantized: every 2-D `*.weight` whose input dimension is a multiple of the group size (the
Linear and Embedding weights, as mlx_lm.convert does); norms and scalars are copied as is.
Memory stays at about one shard: mx.load is lazy and shards are written as they fill.
Needs mlx (pip install mlx[cpu]); not used by CI.
"""
import argparse
import json
import shutil
from pathlib import Path

import mlx.core as mx


def quantize_rows(w, gs: int, bits: int, max_elems: int = 1 << 27):
    """mx.quantize on row blocks (groups never cross rows, so this is exact), evaluated one
    block at a time: the 262144 x 8960 per-layer embedding would need ~10 GB of temporaries."""
    step = max(1, max_elems // w.shape[1])
    parts = []
    for r in range(0, w.shape[0], step):
        part = mx.quantize(w[r:r + step], group_size=gs, bits=bits)
        mx.eval(part)
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    return tuple(mx.concatenate([p[i] for p in parts], axis=0) for i in range(3))


def quantize_dir(src: Path, dst: Path, bits: int, gs: int, shard_bytes: int) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    files = sorted(src.glob("*.safetensors"))
    if not files:
        raise SystemExit(f"{src}: no *.safetensors")
    shards, cur, cur_bytes = [], {}, 0

    def flush():
        nonlocal cur, cur_bytes
        if cur:
            name = f"model-{len(shards) + 1:05d}.safetensors"  # renamed "-of-N" at the end
            mx.save_safetensors(str(dst / name), cur, metadata={"format": "mlx"})
            shards.append((name, list(cur.keys())))
            cur, cur_bytes = {}, 0

    n_q = 0
    for f in files:
        tensors = mx.load(str(f))  # lazy: read tensor by tensor when evaluated
        for name in sorted(tensors):
            w = tensors[name]
            if name.endswith(".weight") and w.ndim == 2 and w.shape[-1] % gs == 0:
                q, s, b = quantize_rows(w, gs, bits)
                base = name[: -len(".weight")]
                out = {name: q, base + ".scales": s, base + ".biases": b}
                n_q += 1
            else:
                out = {name: w}
            mx.eval(list(out.values()))
            for k, v in out.items():
                cur[k] = v
                cur_bytes += v.nbytes
            if cur_bytes >= shard_bytes:
                flush()
    flush()
    total = len(shards)
    weight_map, size = {}, 0
    for i, (name, keys) in enumerate(shards, 1):
        final = f"model-{i:05d}-of-{total:05d}.safetensors"
        (dst / name).rename(dst / final)
        size += (dst / final).stat().st_size
        for k in keys:
            weight_map[k] = final
    (dst / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": size}, "weight_map": weight_map}, indent=1))

    cfg = json.loads((src / "config.json").read_text())
    q = {"group_size": gs, "bits": bits, "mode": "affine"}
    cfg["quantization"] = q
    cfg["quantization_config"] = q
    (dst / "config.json").write_text(json.dumps(cfg, indent=2))
    for extra in ("generation_config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model",
                  "special_tokens_map.json", "chat_template.jinja"):
        if (src / extra).exists():
            shutil.copy(src / extra, dst / extra)
    print(f"{dst}: {n_q} tensors quantized to {bits}-bit (group {gs}), {total} shards, {size / 1e9:.2f} GB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--bits", type=int, choices=(2, 3, 4, 5, 6, 8), required=True)
    ap.add_argument("--group-size", type=int, default=64, choices=(32, 64, 128))
    ap.add_argument("--shard-gb", type=float, default=2.0)
    a = ap.parse_args()
    quantize_dir(a.src, a.dst, a.bits, a.group_size, int(a.shard_gb * 1e9))


if __name__ == "__main__":
    main()
