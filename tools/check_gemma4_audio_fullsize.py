#!/usr/bin/env python3
"""Full-size parity check of ember's Gemma 4 audio tower against transformers (not a CI test).

Builds a random audio tower with the REAL E2B geometry (12 conformer layers, hidden 1024, 8 heads,
SSCP [128, 32], output 1536, embed_audio 1536 -> 1536) stored in bf16 in the HF layout, with clip
bounds around the activation ranges, writes a WAV clip, runs transformers' Gemma4AudioModel +
embed_audio in float32 (bf16 weights upcast) and ember's `audio_embed` tool on the same files,
and prints the max-abs / relative differences and ember's timing.

Usage: python3 tools/check_gemma4_audio_fullsize.py --ember build/bin/audio_embed --work /tmp/a4 [--seconds 4]
"""
import argparse
import json
import subprocess
import wave
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import Gemma4AudioConfig, Gemma4AudioFeatureExtractor, Gemma4TextConfig
from transformers.models.gemma4.modeling_gemma4 import Gemma4AudioModel, Gemma4MultimodalEmbedder


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ember", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--threads", default="2")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    acfg = Gemma4AudioConfig()
    tower = Gemma4AudioModel(acfg).eval()
    embed = Gemma4MultimodalEmbedder(acfg, Gemma4TextConfig(hidden_size=1536)).eval()
    g = torch.Generator().manual_seed(1)
    state = {}
    for prefix, mod in (("model.audio_tower.", tower), ("model.embed_audio.", embed)):
        for k, t in mod.state_dict().items():
            if k.endswith(("input_min", "output_min")):
                v = -torch.empty(()).uniform_(4, 12, generator=g)
            elif k.endswith(("input_max", "output_max")):
                v = torch.empty(()).uniform_(4, 12, generator=g)
            elif t.ndim >= 2:
                v = torch.randn(t.shape, generator=g) * float(np.prod(t.shape[1:])) ** -0.5
            elif k.endswith("per_dim_scale") or k.endswith(".bias"):
                v = torch.randn(t.shape, generator=g) * 0.3
            else:
                v = 0.5 + torch.rand(t.shape, generator=g)
            state[prefix + k] = v.to(torch.bfloat16).contiguous()
    save_file(state, str(work / "model.safetensors"), metadata={"format": "pt"})
    cfg = {"model_type": "gemma4", "architectures": ["Gemma4ForConditionalGeneration"],
           "text_config": {"model_type": "gemma4_text", "hidden_size": 1536, "num_hidden_layers": 1,
                           "layer_types": ["full_attention"], "vocab_size": 262144},
           "audio_config": acfg.to_dict()}
    (work / "config.json").write_text(json.dumps(cfg, indent=1))
    # Reference in float32 from the stored bf16 values.
    for prefix, mod in (("model.audio_tower.", tower), ("model.embed_audio.", embed)):
        mod.load_state_dict({k[len(prefix):]: v.float() for k, v in state.items() if k.startswith(prefix)},
                            strict=False)
    rate = 16000
    t = np.arange(int(a.seconds * rate)) / rate
    rng = np.random.default_rng(3)
    sig = sum(0.1 * np.sin(2 * np.pi * f * t) for f in (180, 360, 540, 1100)) * (0.6 + 0.4 * np.sin(5 * t))
    sig = np.clip(sig + rng.normal(0, 0.03, len(t)), -1, 1)
    pcm = np.round(sig * 32767).astype("<i2")
    with wave.open(str(work / "clip.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate), w.writeframes(pcm.tobytes())
    samples = pcm.astype(np.float32) / 32768.0
    o = Gemma4AudioFeatureExtractor()([samples], return_tensors="pt")
    with torch.no_grad():
        out = tower(o["input_features"], o["input_features_mask"], return_dict=True)
        valid = out.attention_mask[0]
        ref_tower = out.last_hidden_state[0][valid]
        ref_embed = embed(inputs_embeds=ref_tower)
    run = subprocess.run([a.ember, str(work), str(work / "clip.wav"), str(work / "ember"), a.threads],
                         capture_output=True, text=True, check=True)
    print(run.stdout.strip())
    for name, ref in (("tower", ref_tower), ("embed", ref_embed)):
        got = np.load(work / f"ember.{name}.npy")
        ref = ref.numpy()
        d = np.abs(got - ref)
        print(f"{name}: shape {got.shape} vs {ref.shape}; max-abs {d.max():.3g}, "
              f"max-abs / max|ref| {d.max() / np.abs(ref).max():.3g}, ref std {ref.std():.3g}")


if __name__ == "__main__":
    main()
