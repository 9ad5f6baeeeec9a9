#!/usr/bin/env python3
"""Gemma 4 GGUF fixtures made by llama.cpp's own converter from the tiny HF golden fixtures.

For each entry of SPECS below, the HF checkpoint tests/fixtures/gemma4/<source>/ (config.json,
model.safetensors, generation_config.json) is copied into a temporary directory together with the
tiny test tokenizer (tests/fixtures/tiny_tokenizer: the converter needs tokenizer.json; its 256
tokens match the fixtures' vocab_size 256, so no embedding row is trimmed), and
llama.cpp's convert_hf_to_gguf.py writes <name>.gguf with `--outtype <outtype>`. Quantized entries
then run llama-quantize on the f32 conversion. Nothing here names or writes a tensor itself: the
files are exactly what llama.cpp produces. The golden logits stay in the source fixture
(tests/fixtures/gemma4/<source>/logits.npy); manifest.json records name -> source, outtype.

Quantized files also get <name>.dequant_logits.npy: transformers (float32, eager) on the source
checkpoint whose quantized tensors are replaced by their dequantization (gguf-py's own
`gguf.quants.dequantize`, names mapped by gguf-py's `get_tensor_name_map`), on the source prompt.
That separates ember's error (must be float-tight) from the quantization error of the file.
(transformers' own GGUF loading cannot read these files: it rejects the per-layer
feed_forward_length / head_count_kv arrays.)

Usage (from the repository root):
  python3 tools/gen_gemma4_gguf_fixtures.py --llama-cpp /work/ext/llama.cpp \
      --out tests/fixtures/gemma4_gguf
Needs: the llama.cpp source tree (its gguf-py is put on PYTHONPATH), torch, safetensors, numpy;
for the quantized entries a built llama-quantize (<llama-cpp>/build/bin/llama-quantize).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests/fixtures/gemma4"
TOKENIZER = ROOT / "tests/fixtures/tiny_tokenizer"

# name, HF source fixture (text-only layout for quantized entries: see dequant_reference), converter --outtype, llama-quantize type (None: converter output as is)
SPECS = [
    ("e2b_f32", "hf_mm_e2b_f32", "f32", None),           # multimodal HF layout, non-bf16 values
    ("e2b_bf16", "hf_text_e2b_bf16", "bf16", None),      # PLE + KV sharing + double-wide MLP
    ("e4b_long_f16", "hf_text_e4b_long_bf16", "f16", None),  # KV-shared k/v present, GQA
    ("moe_keqv_f32", "hf_text_moe_keqv_bf16", "f32", None),  # MoE (fused gate_up experts) + K=V
    ("e2b_q8_0", "hf_text_e2b_bf16", "q8_0", None),
    ("e2b_q4_0", "hf_text_e2b_bf16", "f32", "Q4_0"),
    ("e4b_long_q8_0", "hf_text_e4b_long_bf16", "q8_0", None),
    ("e4b_long_q4_k", "hf_text_e4b_long_bf16", "f32", "Q4_K_M"),
    ("moe_keqv_q4_0", "hf_text_moe_keqv_bf16", "f32", "Q4_0"),
]


def run(cmd, env) -> None:
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout[-4000:]}{r.stderr[-4000:]}")


def convert(llama_cpp: Path, source: str, outtype: str, outfile: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / source
        src.mkdir()
        for f in ("config.json", "model.safetensors", "generation_config.json"):
            shutil.copy(GOLDEN / source / f, src / f)
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(TOKENIZER / f, src / f)
        env = dict(os.environ, PYTHONPATH=str(llama_cpp / "gguf-py"))
        cmd = [sys.executable, str(llama_cpp / "convert_hf_to_gguf.py"), str(src), "--outtype", outtype,
               "--outfile", str(outfile)]
        print("+", " ".join(cmd), flush=True)
        run(cmd, env)


def quantize(exe: Path, src: Path, dst: Path, qtype: str) -> None:
    cmd = [str(exe), str(src), str(dst), qtype]
    print("+", " ".join(cmd), flush=True)
    run(cmd, None)


def dequant_reference(llama_cpp: Path, gguf_path: Path, source: str, out_npy: Path) -> None:
    sys.path.insert(0, str(llama_cpp / "gguf-py"))
    import gguf
    import numpy as np
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM

    reader = gguf.GGUFReader(str(gguf_path))
    quantized = {t.name: t for t in reader.tensors
                 if t.tensor_type not in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16,
                                          gguf.GGMLQuantizationType.BF16)}
    n_layers = int(reader.fields["gemma4.block_count"].contents())
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GEMMA4, n_layers)
    state = load_file(str(GOLDEN / source / "model.safetensors"))
    replaced = set()
    for key in list(state):
        # the converter appends .weight to the stacked expert tensors (Gemma4Model.filter_tensors)
        gname = names.get_name(key if key.endswith(".weight") else key + ".weight", try_suffixes=(".weight",))
        t = quantized.get(gname or "")
        if t is None:
            continue
        w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        assert w.size == state[key].numel(), (key, w.shape, tuple(state[key].shape))
        state[key] = torch.from_numpy(w.reshape(tuple(state[key].shape)).copy())
        replaced.add(gname)
    missing = set(quantized) - replaced
    assert not missing, f"quantized GGUF tensors with no source tensor: {sorted(missing)}"
    ids = json.loads((GOLDEN / source / "inputs.json").read_text())["ids"]
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(GOLDEN / source / "config.json", Path(tmp) / "config.json")
        save_file({k: v.float().contiguous() for k, v in state.items()}, str(Path(tmp) / "model.safetensors"))
        model = AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32, attn_implementation="eager")
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].float().numpy()
    np.save(out_npy, logits)
    gold = np.load(GOLDEN / source / "logits.npy")
    print(f"{out_npy}: {len(replaced)} tensors dequantized; vs golden max-abs {np.abs(logits - gold).max():.3g}, "
          f"top-1 {(logits.argmax(-1) == gold.argmax(-1)).mean():.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", type=Path, default=Path("/work/ext/llama.cpp"))
    ap.add_argument("--out", type=Path, default=ROOT / "tests/fixtures/gemma4_gguf")
    ap.add_argument("--quantize-bin", type=Path, help="llama-quantize (default <llama-cpp>/build/bin/llama-quantize)")
    ap.add_argument("--only", nargs="*", help="names of SPECS entries to (re)make")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, source, outtype, qtype in SPECS:
        manifest[name] = {"source": source, "outtype": outtype, "quantize": qtype}
        if args.only and name not in args.only:
            continue
        out = args.out / f"{name}.gguf"
        if qtype is None:
            convert(args.llama_cpp, source, outtype, out)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                f32 = Path(tmp) / "f32.gguf"
                convert(args.llama_cpp, source, outtype, f32)
                quantize(args.quantize_bin or args.llama_cpp / "build/bin/llama-quantize", f32, out, qtype)
        print(f"{out}: {out.stat().st_size} bytes")
        if qtype is not None or outtype not in ("f32", "f16", "bf16"):
            dequant_reference(args.llama_cpp, out, source, args.out / f"{name}.dequant_logits.npy")
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
