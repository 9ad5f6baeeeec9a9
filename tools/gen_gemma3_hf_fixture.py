#!/usr/bin/env python3
"""Golden fixture for ember's Gemma 3 text model from Hugging Face safetensors.

A tiny random-weight Gemma3ForCausalLM (model_type gemma3_text) saved by transformers, with the
float32 eager logits of one prefill over a fixed prompt:

  <out>/config.json, model.safetensors (bf16), generation_config.json   the checkpoint
  <out>/inputs.json   {"ids": [...], "reference": ..., "notes": ...}
  <out>/logits.npy    float32 [len(ids), vocab]

The model exercises what distinguishes Gemma 3 from Gemma 4: RMSNorm weights used as (1 + w)
(drawn around 0, so a loader that forgets the +1 fails), query_pre_attn_scalar (24, not head_dim
16), local/global RoPE bases with linear scaling (factor 2) on the global layers, a 5:1
sliding/global pattern with window 8 under a 24-token prompt, GQA, tied embeddings, soft-capping.

Usage: python3 tools/gen_gemma3_hf_fixture.py --out tests/fixtures/gemma3_hf/tiny_text_bf16
Needs: torch (CPU), transformers 5.x.
"""
import argparse
import json
from pathlib import Path

import numpy as np
import torch
from transformers import Gemma3ForCausalLM, Gemma3TextConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.manual_seed(1234)
    cfg = Gemma3TextConfig(
        vocab_size=256, hidden_size=64, intermediate_size=96, num_hidden_layers=6, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, sliding_window=8, query_pre_attn_scalar=24,
        final_logit_softcapping=30.0, max_position_embeddings=4096,
        layer_types=["sliding_attention"] * 5 + ["full_attention"],
        rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                         "full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000.0}})
    model = Gemma3ForCausalLM(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.uniform_(-0.7, 1.5)  # used as 1 + w
            else:
                p.normal_(0.0, 0.08)
    model = model.to(torch.bfloat16)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    ref = Gemma3ForCausalLM.from_pretrained(args.out, dtype=torch.float32, attn_implementation="eager").eval()
    g = torch.Generator().manual_seed(7)
    ids = [2] + torch.randint(3, 256, (23,), generator=g).tolist()
    with torch.no_grad():
        logits = ref(torch.tensor([ids])).logits[0].float().numpy()
    np.save(args.out / "logits.npy", logits.astype(np.float32))
    (args.out / "inputs.json").write_text(json.dumps({
        "ids": ids, "reference": "transformers 5.24.0 Gemma3ForCausalLM, float32 eager (bf16 weights)",
        "notes": "tiny random Gemma 3 text model, 6 layers [S x5, F], window 8"}, indent=1) + "\n")
    print(args.out, "logits", logits.shape, "max", float(np.abs(logits).max()))


if __name__ == "__main__":
    main()
