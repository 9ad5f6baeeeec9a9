#!/usr/bin/env python3
"""Decode roofline: bytes of weights one decoded token touches, and bandwidth / bytes = the
tok/s no engine can beat on this machine (every weight byte streamed from DRAM once per token).

  python3 scripts/bench-roofline.py GB_PER_S MODEL [MODEL ...]   (MODEL: .gguf or a safetensors dir)

Bytes per token = all tensor bytes, except tables read by row gather (one row per token): the
per-layer embedding table (PLE), and the token embedding when the model has a separate output
head. With tied embeddings (Gemma) the token embedding is read whole by the logits matmul.
KV-cache reads are left out (at tg128 they are < 1% of the weights for these models).
"""
import json
import struct
import sys
from pathlib import Path


def safetensors_tensors(d: Path):
    """name -> (bytes, rows) over every *.safetensors file of the directory."""
    out = {}
    for f in sorted(d.glob("*.safetensors")):
        with open(f, "rb") as fh:
            n = struct.unpack("<Q", fh.read(8))[0]
            h = json.loads(fh.read(n))
        for k, v in h.items():
            if k == "__metadata__":
                continue
            a, b = v["data_offsets"]
            out[k] = (b - a, v["shape"][0] if v["shape"] else 1)
    return out


def gguf_tensors(p: Path):
    import gguf  # the gguf package (PyPI) or llama.cpp's gguf-py

    r = gguf.GGUFReader(str(p))
    # ggml shapes are reversed: the row count is the last dimension.
    return {t.name: (int(t.n_bytes), int(t.shape[-1])) for t in r.tensors}


def bytes_per_token(tensors) -> tuple[int, int]:
    total = sum(b for b, _ in tensors.values())
    tied = not any(k in tensors for k in ("output.weight", "lm_head.weight"))
    touched = 0
    for name, (b, rows) in tensors.items():
        gathered = "per_layer" in name and "embd" in name or "embed_tokens_per_layer" in name
        if ("token_embd" in name or name.split(".")[-2:-1] == ["embed_tokens"]) and not tied:
            gathered = True
        touched += b // rows if gathered else b
    return total, touched


def main():
    gbs = float(sys.argv[1])
    print(f"| model | file bytes | bytes / token | roofline tok/s at {gbs:.2f} GB/s |")
    print("|---|---|---|---|")
    for m in sys.argv[2:]:
        p = Path(m)
        t = safetensors_tensors(p) if p.is_dir() else gguf_tensors(p)
        total, touched = bytes_per_token(t)
        print(f"| {p.name} | {total / 1e9:.3f} GB | {touched / 1e9:.3f} GB | {gbs * 1e9 / touched:.2f} |")


if __name__ == "__main__":
    main()
