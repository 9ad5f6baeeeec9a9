#!/usr/bin/env python3
"""Generates the GGUF fixtures under tests/fixtures/gguf/ with the `gguf` Python package (0.19).

For every block type: random but valid blocks (random bytes with sane fp16 scale fields, plus
blocks made by gguf.quants.quantize where the package can quantize the type) and the package's
gguf.quants.dequantize output:
    <type>.blocks   raw blocks (n_blocks x type_size bytes)
    <type>.f32      dequantized values (n_blocks x block_size little-endian float32)
Plus tiny.gguf (written by gguf.GGUFWriter: metadata of every value type, nested and string
arrays, tensors of several types and shapes) with tiny.json (expected metadata and, per tensor,
type, ggml shape and the dequantized values' offset in tiny.f32).

Command (from the repo root):  python3 tools/gen_gguf_fixtures.py tests/fixtures/gguf
"""
import importlib.metadata
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

SEED = 20261128

# Byte offsets of the fp16 scale fields of each block type (ggml-common.h); they are
# overwritten with finite values so the random blocks are valid.
FP16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}
QUANTIZABLE = {T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0}


def sane_fp16(rng, n):
    """Finite fp16 scales: a mix of magnitudes, signs, zero and subnormals."""
    v = rng.choice([-1.0, 1.0], n) * np.exp(rng.uniform(np.log(1e-4), np.log(2.0), n))
    special = [0.0, 6e-8, -3e-6, 1.0, 0.5, -65504.0 / 1024]
    k = min(len(special), n // 2)  # the other half stays random
    v[:k] = special[:k]
    return v.astype(np.float16)


def random_blocks(rng, qtype, n_blocks):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    if qtype == T.F32:
        return rng.standard_normal(n_blocks * block_size).astype(np.float32).view(np.uint8)
    if qtype == T.F16:
        vals = rng.standard_normal(n_blocks * block_size).astype(np.float16)
        vals[:3] = [6e-8, -0.0, 65504.0]
        return vals.view(np.uint8)
    if qtype == T.BF16:
        vals = (rng.standard_normal(n_blocks * block_size) * 3).astype(np.float32)
        vals[:3] = [1e-40, -0.0, 3.0e38]
        return quantize(vals, T.BF16).view(np.uint8).reshape(-1)
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in FP16_FIELDS[qtype]:
        raw[:, off:off + 2] = sane_fp16(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    if qtype in QUANTIZABLE:  # half the blocks quantized from real-looking data
        half = n_blocks // 2
        data = rng.standard_normal(half * block_size).astype(np.float32) * rng.uniform(0.01, 3)
        raw[:half] = quantize(data.reshape(half, block_size), qtype).reshape(half, type_size)
    return raw.reshape(-1)


def write_block_fixtures(out_dir, rng):
    types = [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0,
             T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]
    for qtype in types:
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        n_blocks = 4 if block_size == 256 else (64 if block_size == 1 else 8)
        raw = random_blocks(rng, qtype, n_blocks)
        assert raw.size == n_blocks * type_size
        deq = dequantize(raw.reshape(1, -1) if block_size > 1 else raw, qtype)
        deq = np.asarray(deq, dtype=np.float32).reshape(-1)
        assert deq.size == n_blocks * block_size, (qtype, deq.size)
        name = qtype.name.lower()
        raw.tofile(os.path.join(out_dir, name + ".blocks"))
        deq.astype("<f4").tofile(os.path.join(out_dir, name + ".f32"))


def write_tiny_gguf(out_dir, rng):
    path = os.path.join(out_dir, "tiny.gguf")
    w = gguf.GGUFWriter(path, arch="tinyarch")
    V = gguf.GGUFValueType
    meta = {}

    def kv(key, val, vtype, sub=None, expect=None):
        w.add_key_value(key, val, vtype, sub)
        meta[key] = {"type": vtype.name, "value": val if expect is None else expect}
        if sub is not None:
            meta[key]["elem_type"] = sub.name

    kv("test.u8", 200, V.UINT8)
    kv("test.i8", -100, V.INT8)
    kv("test.u16", 60000, V.UINT16)
    kv("test.i16", -30000, V.INT16)
    kv("test.u32", 4000000000, V.UINT32)
    kv("test.i32", -2000000000, V.INT32)
    kv("test.f32", 0.15625, V.FLOAT32)
    kv("test.bool", True, V.BOOL)
    kv("test.string", "héllo ▁world", V.STRING)
    kv("test.u64", 18000000000000000000, V.UINT64)
    kv("test.i64", -9000000000000000000, V.INT64)
    kv("test.f64", 2.718281828459045, V.FLOAT64)
    kv("test.arr_i32", [1, -2, 3], V.ARRAY, V.INT32)
    kv("test.arr_u16", [1, 2, 65535], V.ARRAY, V.UINT16)
    kv("test.arr_f32", [0.5, -1.25], V.ARRAY, V.FLOAT32)
    kv("test.arr_bool", [True, False, True], V.ARRAY, V.BOOL)
    kv("test.arr_str", ["a", "", "▁b c"], V.ARRAY, V.STRING)
    kv("test.arr_nested", [[1, 2], [3]], V.ARRAY, V.ARRAY)
    w.add_custom_alignment(64)  # sets general.alignment and lays the data out to match
    meta["general.alignment"] = {"type": "UINT32", "value": 64}
    # A small tokenizer (the SentencePiece layout of Gemma GGUFs).
    toks = ["<pad>", "<eos>", "<bos>", "<unk>", "▁hi", "<0x0A>"]
    kv("tokenizer.ggml.model", "llama", V.STRING)
    kv("tokenizer.ggml.tokens", toks, V.ARRAY, V.STRING)
    kv("tokenizer.ggml.scores", [0.0, 0.0, 0.0, 0.0, -1.5, -2.0], V.ARRAY, V.FLOAT32)
    kv("tokenizer.ggml.token_type", [3, 3, 3, 2, 1, 6], V.ARRAY, V.INT32)
    kv("tokenizer.ggml.bos_token_id", 2, V.UINT32)
    kv("tokenizer.ggml.eos_token_id", 1, V.UINT32)
    kv("tokenizer.ggml.unknown_token_id", 3, V.UINT32)
    kv("tokenizer.ggml.padding_token_id", 0, V.UINT32)
    kv("tokenizer.ggml.add_bos_token", True, V.BOOL)
    kv("tokenizer.ggml.add_eos_token", False, V.BOOL)
    kv("tokenizer.chat_template", "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}", V.STRING)

    tensors = []

    def tensor(name, qtype, ne):  # ne in ggml order: ne[0] = columns
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        shape = list(reversed(ne))  # numpy order
        n = int(np.prod(ne))
        raw = random_blocks(rng, qtype, n // block_size).reshape(*shape[:-1], shape[-1] // block_size * type_size)
        w.add_tensor(name, raw, raw_dtype=qtype)
        deq = np.asarray(dequantize(raw, qtype), dtype=np.float32).reshape(-1)
        tensors.append({"name": name, "type": qtype.name, "ne": ne, "deq": deq})

    tensor("norm.weight", T.F32, [40])
    tensor("tok_embd.weight", T.Q8_0, [64, 5])
    tensor("blk.0.q.weight", T.Q4_K, [256, 3])
    tensor("blk.0.down.weight", T.Q6_K, [512, 2])
    tensor("blk.0.up.weight", T.Q5_0, [96, 3])
    tensor("blk.0.f16.weight", T.F16, [6, 2])
    tensor("experts.weight", T.Q8_0, [32, 2, 3])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    offset = 0
    with open(os.path.join(out_dir, "tiny.f32"), "wb") as f:
        for t in tensors:
            t["deq"].astype("<f4").tofile(f)
            t["f32_offset"] = offset
            offset += t["deq"].size
            del t["deq"]
    with open(os.path.join(out_dir, "tiny.json"), "w") as f:
        json.dump({"metadata": meta, "tensors": tensors}, f, indent=1, ensure_ascii=False)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/gguf"
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(SEED)
    write_block_fixtures(out_dir, rng)
    write_tiny_gguf(out_dir, rng)
    print(f"gguf {importlib.metadata.version('gguf')}: fixtures written to {out_dir}")


if __name__ == "__main__":
    main()
