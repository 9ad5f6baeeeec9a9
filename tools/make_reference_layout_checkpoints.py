#!/usr/bin/env python3
"""Writes tiny Gemma 4 checkpoints with the REFERENCE tools (not ember's writer), so the loader
is tested on exactly the key layout they produce:

  tests/data/ref_checkpoints/hf_multimodal/   transformers save_pretrained of a tiny
                                             Gemma4ForConditionalGeneration (real vision/audio keys)
  tests/data/ref_checkpoints/mlx_mixed/      mlx_lm.convert of that checkpoint, affine 4-bit g32
                                             with MLPs at 8-bit g64 (per-module entries)
  tests/data/ref_checkpoints/mlx_{mxfp4,nvfp4,mxfp8}/  the same, quantized in MLX's fp modes

  python3 tools/make_reference_layout_checkpoints.py tests/data/ref_checkpoints
Needs torch, transformers (5.x) and mlx-lm; CI only reads the committed output.
"""
import json
import shutil
import sys
from pathlib import Path

import torch
from transformers import (Gemma4AudioConfig, Gemma4Config, Gemma4ForConditionalGeneration, Gemma4TextConfig,
                          Gemma4VisionConfig)


def hf_checkpoint(out: Path):
    lt = ["sliding_attention", "sliding_attention", "full_attention", "sliding_attention", "full_attention"]
    t = Gemma4TextConfig(vocab_size=128, vocab_size_per_layer_input=128, hidden_size=64, intermediate_size=64,
                         num_hidden_layers=5, num_attention_heads=2, num_key_value_heads=1, head_dim=32,
                         global_head_dim=64, hidden_size_per_layer_input=32, num_kv_shared_layers=2, layer_types=lt,
                         final_logit_softcapping=30.0, use_double_wide_mlp=True)
    v = Gemma4VisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           num_key_value_heads=2, head_dim=16, position_embedding_size=64)
    a = Gemma4AudioConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, output_proj_dims=32,
                          subsampling_conv_channels=[8, 4])
    c = Gemma4Config(text_config=t.to_dict(), vision_config=v.to_dict(), audio_config=a.to_dict(),
                     boi_token_id=120, eoi_token_id=121, image_token_id=122, video_token_id=123, boa_token_id=124,
                     eoa_token_index=125, audio_token_id=119)
    torch.manual_seed(0)
    m = Gemma4ForConditionalGeneration(c)
    with torch.no_grad():  # layer_scalar initializes to 1.0; make it distinguishable
        for i, layer in enumerate(m.model.language_model.layers):
            layer.layer_scalar.fill_(0.5 + 0.125 * i)
    m.to(torch.bfloat16).save_pretrained(out)
    # mlx-lm's gemma4 wrapper takes the top-level vocab_size (default 262144) over text_config's,
    # and the official configs carry it: add it as they do.
    cfg = json.loads((out / "config.json").read_text())
    cfg["vocab_size"] = 128
    # transformers 5.x serializes per_layer_config instead of global_head_dim; mlx-lm reads only
    # global_head_dim (default 512). The shipped configs carry it: add it too.
    cfg["text_config"]["global_head_dim"] = 64
    (out / "config.json").write_text(json.dumps(cfg, indent=2))


def mlx_checkpoint(src: Path, out: Path):
    # mlx_lm.convert minus the tokenizer: load (sanitize drops the towers and maps keys to the
    # MLX tree), quantize with a per-module predicate, save weights and config.
    from mlx_lm.utils import load_model, quantize_model, save_config, save_model

    model, config = load_model(src)

    def predicate(path, module):
        if path.endswith(("mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")):
            return {"group_size": 64, "bits": 8}
        return True

    model, config = quantize_model(model, config, group_size=32, bits=4, quant_predicate=predicate)
    _save(model, config, out)


def mlx_fp_checkpoint(src: Path, out: Path, mode: str, group_size: int, bits: int):
    from mlx_lm.utils import load_model, quantize_model

    model, config = load_model(src)
    model, config = quantize_model(model, config, group_size=group_size, bits=bits, mode=mode)
    _save(model, config, out)


def _save(model, config, out: Path):
    from mlx_lm.utils import save_config, save_model

    out.mkdir(parents=True, exist_ok=True)
    save_model(out, model, donate_model=True)
    save_config(config, out / "config.json")


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/ref_checkpoints")
    dirs = ("hf_multimodal", "mlx_mixed", "mlx_mxfp4", "mlx_nvfp4", "mlx_mxfp8")
    for d in dirs:
        shutil.rmtree(root / d, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    hf_checkpoint(root / "hf_multimodal")
    mlx_checkpoint(root / "hf_multimodal", root / "mlx_mixed")
    mlx_fp_checkpoint(root / "hf_multimodal", root / "mlx_mxfp4", "mxfp4", 32, 4)
    mlx_fp_checkpoint(root / "hf_multimodal", root / "mlx_nvfp4", "nvfp4", 16, 4)
    mlx_fp_checkpoint(root / "hf_multimodal", root / "mlx_mxfp8", "mxfp8", 32, 8)
    for d in dirs:
        for f in (root / d).iterdir():
            if f.suffix not in (".json", ".safetensors"):
                f.unlink()  # tokenizer/readme files are not needed by the loader tests


if __name__ == "__main__":
    main()
