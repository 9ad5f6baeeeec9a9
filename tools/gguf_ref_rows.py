#!/usr/bin/env python3
"""Reference rows of a GGUF file through the `gguf` Python package, for ember's tests.

For the first tensor of every tensor type in FILE (and every tensor named with --tensor), the
package's GGUFReader + gguf.quants.dequantize give rows 0, 1, middle and last; they are written
to OUT_DIR/rows.f32 (little-endian float32) with OUT_DIR/rows.json describing them:
  {"tensors": [{"name", "type", "ne", "rows": [...], "f32_offset"}], "metadata_keys": [...],
   "n_tensors": N, "type_counts": {"Q4_K": n, ...}}
Exit code 77 when the gguf package is missing (the caller skips).

  python3 tools/gguf_ref_rows.py FILE OUT_DIR [--tensor NAME ...]
"""
import json
import os
import sys

try:
    import numpy as np
    import gguf
    from gguf.quants import dequantize
except ImportError as e:  # pragma: no cover
    print(f"gguf_ref_rows: {e}", file=sys.stderr)
    sys.exit(77)


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    path, out_dir = args[0], args[1]
    extra = [args[i + 1] for i in range(2, len(args) - 1) if args[i] == "--tensor"]
    os.makedirs(out_dir, exist_ok=True)
    r = gguf.GGUFReader(path)
    chosen, seen = [], set()
    for t in r.tensors:
        if t.tensor_type not in seen or t.name in extra:
            seen.add(t.tensor_type)
            chosen.append(t)
    out, offset = [], 0
    with open(os.path.join(out_dir, "rows.f32"), "wb") as f:
        for t in chosen:
            ne = [int(x) for x in t.shape]
            data = np.asarray(t.data)
            rows2d = data.reshape(-1, data.shape[-1]) if data.ndim > 1 else data.reshape(1, -1)
            n = rows2d.shape[0]
            picks = sorted({0, min(1, n - 1), n // 2, n - 1})
            deq = np.asarray(dequantize(rows2d[picks], t.tensor_type), dtype=np.float32).reshape(len(picks), -1)
            deq.astype("<f4").tofile(f)
            out.append({"name": t.name, "type": t.tensor_type.name, "ne": ne, "rows": picks, "f32_offset": offset})
            offset += deq.size
    with open(os.path.join(out_dir, "rows.json"), "w") as f:
        counts = {}
        for t in r.tensors:
            counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
        json.dump({"tensors": out, "metadata_keys": [k for k in r.fields if not k.startswith("GGUF.")],
                   "n_tensors": len(r.tensors), "type_counts": counts}, f, indent=1)


if __name__ == "__main__":
    main()
