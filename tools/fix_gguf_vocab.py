#!/usr/bin/env python3
"""Makes a converted GGUF loadable when the tokenizer has one token more than the embedding has rows
(the Gemma 3 tokenizer.json: 262145 entries; the random E2B: 262144 rows). Usage: fix_gguf_vocab.py FILE.gguf"""
# In-place: drop the last tokenizer entry (id 262144, beyond the 262144-row embedding) and
# lengthen general.name by the same byte count, so the header size (and every tensor offset)
# stays identical; then rewrite only the header bytes.
import sys, os, gguf, numpy as np
path = sys.argv[1]
r = gguf.GGUFReader(path)
n_emb = [t for t in r.tensors if t.name == "token_embd.weight"][0].shape[-1]
toks = r.fields["tokenizer.ggml.tokens"].contents()
print("tokens", len(toks), "embedding rows", n_emb)
assert len(toks) == n_emb + 1
tmp = path + ".hdr"
w = gguf.GGUFWriter(tmp, arch=r.fields["general.architecture"].contents())
removed = 8 + len(toks[-1].encode()) + 4 + 4
for f in r.fields.values():
    if f.name == "general.architecture" or f.name.startswith("GGUF."):
        continue
    vt = f.types[0]; sub = f.types[-1] if vt == gguf.GGUFValueType.ARRAY else None
    v = f.contents()
    if f.name in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"):
        v = v[:n_emb]
    if f.name == "general.name":
        v = v + "_" * removed
    w.add_key_value(f.name, v, vt, sub_type=sub)
for t in r.tensors:
    w.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_ti_data_to_file(); w.close()
hdr = open(tmp, "rb").read()
start = r.data_offset
print("new header", len(hdr), "data offset", start)
assert len(hdr) <= start
with open(path, "r+b") as f:
    old = f.read(start)
    f.seek(0); f.write(hdr + b"\0" * (start - len(hdr)))
os.remove(tmp)
r2 = gguf.GGUFReader(path)
print("ok", len(r2.fields["tokenizer.ggml.tokens"].contents()), r2.data_offset == start)
