#!/usr/bin/env python3
"""Rewrites a Q8_0 GGUF as Q4_0 (every Q8_0 tensor dequantized and re-quantized with gguf-py's
Q4_0, which follows llama.cpp's quantize_row_q4_0_ref; other tensors and all metadata copied).
Used by scripts/bench-make-e2b.sh when llama-quantize is not available; the result is what
`llama-quantize --allow-requantize --pure IN OUT Q4_0` writes (all matrices Q4_0).

  PYTHONPATH=/work/ext/llama.cpp/gguf-py python3 tools/requant_gguf_q4_0.py IN.gguf OUT.gguf [--keep-ple]
"""
import sys

import numpy as np

import gguf
from gguf import GGMLQuantizationType as T


def requant(data: np.ndarray, shape) -> np.ndarray:
    """Q8_0 bytes [rows, row_bytes] -> Q4_0 bytes, 4096 rows at a time (bounded memory)."""
    rows = data.shape[0]
    out = []
    for r in range(0, rows, 4096):
        f = gguf.quants.dequantize(np.asarray(data[r:r + 4096]), T.Q8_0)
        out.append(gguf.quants.quantize(f, T.Q4_0))
    return np.concatenate(out, axis=0)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    # --keep-ple: leave the per-layer embedding table (read by row gather, one row per token:
    # its type does not change speed) at Q8_0; re-quantizing its 2.3 G values takes ~20 min.
    keep_ple = "--keep-ple" in sys.argv[3:]
    r = gguf.GGUFReader(src)
    arch = r.fields[gguf.Keys.General.ARCHITECTURE].contents()
    w = gguf.GGUFWriter(dst, arch=arch)
    for field in r.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        vt = field.types[0]
        sub = field.types[-1] if vt == gguf.GGUFValueType.ARRAY else None
        val = field.contents()
        if field.name == gguf.Keys.General.FILE_TYPE:
            val = int(gguf.LlamaFileType.MOSTLY_Q4_0)
        w.add_key_value(field.name, val, vt, sub_type=sub)
    out = []
    for t in r.tensors:
        if t.tensor_type == T.Q8_0 and not (keep_ple and "per_layer_token_embd" in t.name):
            q = requant(t.data, t.shape)
            out.append((t.name, q, T.Q4_0))
        else:
            out.append((t.name, t.data, t.tensor_type))
        d, ty = out[-1][1], out[-1][2]
        w.add_tensor_info(t.name, d.shape, d.dtype, d.nbytes, ty)
        print(t.name, t.tensor_type.name, "->", ty.name, flush=True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for _, d, _ in out:
        w.write_tensor_data(d)
    w.close()


if __name__ == "__main__":
    main()
