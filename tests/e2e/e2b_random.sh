#!/usr/bin/env bash
# ctest-labels: slow
# Memory budget on the REAL Gemma 4 E2B geometry (35 layers, 262,144-token vocabulary, per-layer
# embeddings, KV sharing): a random-weight MLX 4-bit checkpoint made by tools/make_random_gemma4
# (2.6 GB, generated here and deleted afterwards) is loaded by `ember run`, which prefills a prompt
# and decodes 8 tokens. Peak RSS of that process (ru_maxrss, which counts the mmapped weight pages
# it touched) must stay within
#     file size + KV cache of the configured context + 192 MiB
# (the overhead covers the binary, the real 262k-token tokenizer, scratch and logits), and also
# within the same bound minus half the per-layer-embedding table: that table (1.3 GB here) must
# be read only at the rows of the tokens processed, never copied or scanned. (How much of it
# ends up mapped around those rows depends on the kernel's fault-around and page-cache folio
# sizes: measured 1.3 to 1.4 GB peak RSS in total, see docs/cli.md.)
# Then 64-bit indexing of that table (262,144 x 8,960 = 2.35e9 elements): `ember logits --dump`
# of token ids whose rows start past element 2^31 gives exactly the rows the file holds.
set -euo pipefail
W="$EMBER_WORK/e2b_random"; rm -rf "$W"; mkdir -p "$W/model"
trap 'rm -rf "$W/model"' EXIT
"$EMBER_BIN/make_random_gemma4" --variant e2b --format q4 --out "$W/model"
# The real Gemma 3 tokenizer: same 262,144-token vocabulary layout as Gemma 4.
ln -s "$EMBER_SOURCE_DIR"/../shared/assets/gemma3-tokenizer/* "$W/model/"
python3 - "$EMBER_BIN/ember" "$W/model" <<'PY'
import json, os, subprocess, sys, time
ember, model = sys.argv[1], sys.argv[2]
ctx, overhead = 1024, 192 << 20
cfg = json.load(open(f"{model}/config.json"))
file_bytes = sum(os.path.getsize(f"{model}/{f}") for f in os.listdir(model) if f.endswith(".safetensors"))
# KV cache (float32 K and V) of every KV-owning layer for the whole configured context.
L, shared = cfg["num_hidden_layers"], cfg["num_kv_shared_layers"]
kv = 0
for i, t in enumerate(cfg["layer_types"][: L - shared]):
    hd = cfg["global_head_dim"] if t == "full_attention" else cfg["head_dim"]
    kv += 2 * 4 * cfg["num_key_value_heads"] * hd * ctx
# The per-layer-embedding table as stored (4-bit codes + bf16 scales and biases).
st = open(f"{model}/model.safetensors", "rb")
hlen = int.from_bytes(st.read(8), "little")
hdr = json.loads(st.read(hlen))
ple = sum(e["data_offsets"][1] - e["data_offsets"][0] for k, e in hdr.items()
          if k.startswith("model.embed_tokens_per_layer."))
cmd = [ember, "run", model, "--raw", "-p", "The quick brown fox jumps over the lazy dog. " * 4,
       "--temperature", "0", "-n", "8", "--stats", "json", "-t", "2", "-c", str(ctx)]
t0 = time.time()
with open(f"{model}/../out.txt", "wb") as o, open(f"{model}/../err.txt", "wb") as e:
    p = subprocess.Popen(cmd, stdout=o, stderr=e)
    _, status, ru = os.wait4(p.pid, 0)  # the child's own rusage (ru_maxrss: peak RSS in KiB)
wall = time.time() - t0
err = open(f"{model}/../err.txt").read()
assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (status, err)
stats = json.loads(err.strip().splitlines()[-1])
assert stats["generated_tokens"] == 8, stats
peak = ru.ru_maxrss * 1024
budget = file_bytes + kv + overhead
MiB = 1 << 20
print(f"command: {' '.join(cmd[:4])} -p <{stats['prompt_tokens']} tokens> {' '.join(cmd[6:])}")
print(f"file {file_bytes / MiB:.1f} MiB, PLE table {ple / MiB:.1f} MiB, KV cache (ctx {ctx}) {kv / MiB:.1f} MiB")
print(f"peak RSS {peak / MiB:.1f} MiB; budget file + KV + {overhead // MiB} MiB = {budget / MiB:.1f} MiB; "
      f"without the PLE table {(budget - ple) / MiB:.1f} MiB")
print(f"resident beyond the weights outside the PLE table: {(peak - (file_bytes - ple)) / MiB:.1f} MiB")
print(f"wall {wall:.1f} s; prefill {stats['prefill_tok_s']:.1f} tok/s, decode {stats['decode_tok_s']:.2f} tok/s")
assert peak <= budget, "peak RSS over file size + KV cache + overhead"
assert peak <= budget - ple // 2, "the per-layer-embedding table was read beyond the rows of the tokens"
PY

"$EMBER_BIN/ember" logits "$W/model" --ids 2,239675,262143 --out "$W/l.npy" --dump "$W/dump" -t 2
python3 - "$W/model" "$W/dump" "$W/l.npy" <<'PY'
import json, sys
import numpy as np
model, dump, logits = sys.argv[1:4]
raw = np.memmap(f"{model}/model.safetensors", dtype=np.uint8, mode="r")
hlen = int(raw[:8].view(np.uint64)[0])
hdr = json.loads(bytes(raw[8 : 8 + hlen]))
def tensor(name):
    e = hdr[name]
    b, end = e["data_offsets"]
    dt = {"U32": np.uint32, "BF16": np.uint16}[e["dtype"]]
    return raw[8 + hlen + b : 8 + hlen + end].view(dt).reshape(e["shape"])
def dequant_rows(prefix, rows):  # MLX affine 4-bit: 8 codes per uint32, low nibble first
    w, s, b = (tensor(f"{prefix}.{k}") for k in ("weight", "scales", "biases"))
    bf = lambda u: (u.astype(np.uint32) << 16).view(np.float32)
    out = []
    for r in rows:
        codes = ((w[r][:, None] >> (4 * np.arange(8, dtype=np.uint32))) & 15).reshape(-1).astype(np.float32)
        g = codes.size // s.shape[1]
        out.append(codes * np.repeat(bf(s[r]), g) + np.repeat(bf(b[r]), g))
    return np.stack(out)
ids = [2, 239675, 262143]
cols = tensor("model.embed_tokens_per_layer.weight").shape[1] * 8
assert ids[1] * cols >= 2**31, "row offset must need 64-bit indexing"
want = dequant_rows("model.embed_tokens_per_layer", ids) * 16.0  # * sqrt(256) (exact in bf16)
got = np.load(f"{dump}/ple_tokens.npy")
assert got.shape == want.shape, (got.shape, want.shape)
err = float(np.abs(got - want).max())
assert err <= 1e-5 * float(np.abs(want).max()), err
want_e = dequant_rows("model.embed_tokens", ids) * 39.25  # * sqrt(1536) rounded to bf16
err_e = float(np.abs(np.load(f"{dump}/embed.npy") - want_e).max())
assert err_e <= 1e-5 * float(np.abs(want_e).max()), err_e
l = np.load(logits)
assert l.shape == (3, 262144) and np.isfinite(l).all()
print(f"PLE rows {ids} (element offsets up to {ids[-1] * cols:,}) match the file: max err {err:.2e}")
PY
echo OK
