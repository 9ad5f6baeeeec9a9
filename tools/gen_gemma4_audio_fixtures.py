#!/usr/bin/env python3
"""Golden fixtures for ember's Gemma 4 audio path, made with transformers (float32, eager).

Writes into OUT (default tests/fixtures/gemma4_audio):

  clip_pcm16_mono.wav     1.3 s, 16 kHz, PCM16 mono        (WAV decoding + features + tower + logits)
  clip_f32_stereo.wav     0.9 s, 16 kHz, float32 stereo    (down-mix + features)
  clip_pcm16_mono.mel.npy / clip_f32_stereo.mel.npy   float32 [T, 128]: Gemma4AudioFeatureExtractor
                          output for the decoded samples (valid frames only; the extractor's padded
                          frames are checked to be zero here)
  tiny/config.json, tiny/model.safetensors   tiny random Gemma4ForConditionalGeneration (E2B-like
                          text model of tools/gen_gemma4_fixtures.py "e2b" + a 5-layer audio tower,
                          no vision tower), HF layout, float32
  tiny_mlx/...            the same weights in the MLX layout (language_model.model.*, audio_tower.*,
                          MLX conv layouts) with the audio feed-forward linears affine-quantized
                          (4-bit, group 32) by mlx; references for it come from a dequantized copy
  tower.npy / tower_mlx.npy     float32 [n, 48]: audio_tower(...).last_hidden_state, valid rows
  embed.npy / embed_mlx.npy     float32 [n, 64]: embed_audio(tower output) (soft tokens)
  sscp.npy                float32 [n, 32]: subsample_conv_projection output (debugging aid)
  prompt.json             {"ids": [...], "n_audio_tokens": n}: a prompt with the clip's placeholders
  logits.npy / logits_mlx.npy   float32 [L, 256]: Gemma4ForConditionalGeneration logits of that prompt

The tiny model's special ids live inside its 256-token vocabulary: boa 250, audio 251, eoa 252.
Clip bounds of the clipped linears are random and tight, so clamps are exercised.

Usage:  python3 tools/gen_gemma4_audio_fixtures.py --out tests/fixtures/gemma4_audio
Needs:  torch (CPU), transformers 5.x with Gemma 4, numpy, safetensors, mlx (for tiny_mlx).
"""
import argparse
import json
import sys
import wave
import zlib
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file as st_save_np
from safetensors.torch import save_file as st_save_torch
from transformers import (Gemma4AudioConfig, Gemma4AudioFeatureExtractor, Gemma4Config,
                          Gemma4ForConditionalGeneration, Gemma4TextConfig)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_gemma4_fixtures import COMMON_TEXT, TEXT_VARIANTS, text_param_value  # noqa: E402

SEED = 4242
AUDIO = dict(hidden_size=32, num_hidden_layers=5, num_attention_heads=2, subsampling_conv_channels=[128, 8],
             conv_kernel_size=5, output_proj_dims=48, attention_chunk_size=12, attention_context_left=13,
             attention_context_right=0, attention_logit_cap=50.0, use_clipped_linears=True,
             rms_norm_eps=1e-6, gradient_clipping=1e10, residual_weight=0.5, hidden_act="silu")
IDS = dict(boa_token_id=250, audio_token_id=251, eoa_token_index=252, image_token_id=253, boi_token_id=254,
           eoi_token_id=255, video_token_id=249)


def rng(name):
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


def audio_value(name, shape):
    r = rng(name)
    if name.endswith(("input_min", "output_min")):
        return -r.uniform(1.0, 3.0, shape)
    if name.endswith(("input_max", "output_max")):
        return r.uniform(1.0, 3.0, shape)
    if name.endswith("per_dim_scale"):
        return r.normal(0.0, 0.5, shape)
    if name.endswith(".bias"):
        return r.normal(0.0, 0.1, shape)
    if "norm" in name.rsplit(".", 2)[-2] and len(shape) == 1:
        return r.uniform(0.5, 1.5, shape)
    if len(shape) >= 2:
        return r.normal(0.0, float(np.prod(shape[1:])) ** -0.5, shape)
    raise ValueError(f"no init rule for audio tensor {name} {shape}")


def build_model():
    tkw = dict(COMMON_TEXT)
    tkw.update(TEXT_VARIANTS["e2b"])
    cfg = Gemma4Config(text_config=Gemma4TextConfig(**tkw), audio_config=Gemma4AudioConfig(**AUDIO),
                       vision_config=None, **IDS)
    cfg._attn_implementation = "eager"
    model = Gemma4ForConditionalGeneration(cfg).eval()
    state = {}
    for key, t in model.state_dict().items():
        if key.startswith("lm_head"):
            continue
        if key.startswith("model.language_model."):
            v = text_param_value(key[len("model.language_model."):], tuple(t.shape), SEED)
        else:
            v = audio_value(key, tuple(t.shape))
        state[key] = torch.tensor(np.asarray(v), dtype=torch.float32).reshape(t.shape)
    model.load_state_dict(state, strict=False)
    return model, state


def write_wav(path, samples, rate, float32):
    """samples: [n, channels] in [-1, 1]."""
    n, ch = samples.shape
    if float32:  # the wave module writes PCM only: build the RIFF by hand (fmt tag 3)
        data = samples.astype("<f4").tobytes()
        fmt = (b"fmt " + (16).to_bytes(4, "little") + (3).to_bytes(2, "little") + ch.to_bytes(2, "little")
               + rate.to_bytes(4, "little") + (rate * ch * 4).to_bytes(4, "little")
               + (ch * 4).to_bytes(2, "little") + (32).to_bytes(2, "little"))
        body = b"WAVE" + fmt + b"data" + len(data).to_bytes(4, "little") + data
        path.write_bytes(b"RIFF" + len(body).to_bytes(4, "little") + body)
        return samples.astype(np.float32).mean(axis=1, dtype=np.float32)
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(ch), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return (pcm.astype(np.float32) / 32768.0).mean(axis=1, dtype=np.float32)


def synth(name, seconds, channels, rate=16000):
    """Speech-like test signal: a few drifting harmonics with an envelope, plus noise."""
    r = rng(name)
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros((len(t), channels))
    for c in range(channels):
        f0 = r.uniform(90, 220)
        sig = sum(r.uniform(0.05, 0.2) * np.sin(2 * np.pi * f0 * k * t * (1 + 0.05 * np.sin(3 * t)))
                  for k in range(1, 8))
        sig *= 0.5 + 0.5 * np.sin(2 * np.pi * 2.5 * t + c)
        out[:, c] = sig + r.normal(0, 0.02, len(t))
    return np.clip(out, -0.99, 0.99)


def features(fe, samples):
    o = fe([samples], return_tensors="np")
    feats, mask = o["input_features"][0], o["input_features_mask"][0]
    assert np.all(feats[~mask] == 0), "padded frames must be zero"
    n_valid = int(mask.sum())
    assert mask[:n_valid].all()
    return o, feats[:n_valid].astype(np.float32)


def run_tower(model, o):
    feats = torch.tensor(o["input_features"])
    mask = torch.tensor(o["input_features_mask"])
    captured = {}
    h = model.model.audio_tower.subsample_conv_projection.register_forward_hook(
        lambda m, a, out: captured.__setitem__("sscp", out[0]))
    with torch.no_grad():
        out = model.model.audio_tower(feats, mask, return_dict=True)
        valid = out.attention_mask[0]
        tower = out.last_hidden_state[0][valid]
        embed = model.model.embed_audio(inputs_embeds=tower)
    h.remove()
    return (tower.numpy().astype(np.float32), embed.numpy().astype(np.float32),
            captured["sscp"][0][valid].numpy().astype(np.float32), int(valid.sum()))


def run_logits(model, o, n_tokens):
    ids = [2, 17, 33, 90, IDS["boa_token_id"]] + [IDS["audio_token_id"]] * n_tokens + [
        IDS["eoa_token_index"], 40, 41, 106, 7]
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                    input_features=torch.tensor(o["input_features"]),
                    input_features_mask=torch.tensor(o["input_features_mask"]), use_cache=False)
    return ids, out.logits[0].numpy().astype(np.float32)


def write_checkpoint(d, model, state):
    d.mkdir(parents=True, exist_ok=True)
    st_save_torch({k: v.contiguous() for k, v in state.items()}, str(d / "model.safetensors"),
                  metadata={"format": "pt"})
    cfg = model.config.to_dict()
    (d / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True))


# ---- MLX layout --------------------------------------------------------------------------------
def mlx_key(k):
    if k.startswith("model.language_model."):
        return "language_model.model." + k[len("model.language_model."):]
    return k[len("model."):]  # audio_tower.*, embed_audio.*


def write_mlx(d, state, base_cfg):
    """MLX-layout copy: conv kernels channel-last; the audio FFN linears 4-bit affine (group 32) made by
    mlx.core.quantize. Returns the dequantized float32 state (HF keys) that the reference runs."""
    import mlx.core as mx
    d.mkdir(parents=True, exist_ok=True)
    out, deq = {}, {}
    quant = {}
    for k, v in state.items():
        a = v.numpy()
        mk = mlx_key(k)
        if k.startswith("model.audio_tower.") and k.endswith("conv.weight") and a.ndim == 4:
            out[mk] = np.ascontiguousarray(a.transpose(0, 2, 3, 1))  # [O, I, kh, kw] -> [O, kh, kw, I]
        elif k.endswith("depthwise_conv1d.weight"):
            out[mk] = np.ascontiguousarray(a.transpose(0, 2, 1))  # [C, 1, k] -> [C, k, 1]
        elif ".feed_forward" in k and k.endswith(".linear.weight"):
            w, s, b = mx.quantize(mx.array(a), group_size=32, bits=4)
            base = mk[:-len(".weight")]
            out[base + ".weight"] = np.array(w)
            out[base + ".scales"] = np.array(s)
            out[base + ".biases"] = np.array(b)
            quant[base[:-len(".linear")] + ".linear"] = {"group_size": 32, "bits": 4}
            deq[k] = torch.tensor(np.array(mx.dequantize(w, s, b, group_size=32, bits=4)), dtype=torch.float32)
            continue
        else:
            out[mk] = a
        deq[k] = v
    st_save_np({k: np.ascontiguousarray(v) for k, v in out.items()}, str(d / "model.safetensors"),
               metadata={"format": "mlx"})
    cfg = dict(base_cfg)
    cfg["quantization"] = {"group_size": 64, "bits": 4, "mode": "affine", **quant}
    (d / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True))
    return deq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/gemma4_audio")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    fe = Gemma4AudioFeatureExtractor()

    mono = write_wav(out / "clip_pcm16_mono.wav", synth("mono", 1.3, 1), 16000, float32=False)
    stereo = write_wav(out / "clip_f32_stereo.wav", synth("stereo", 0.9, 2), 16000, float32=True)
    o_mono, mel_mono = features(fe, mono)
    _, mel_stereo = features(fe, stereo)
    np.save(out / "clip_pcm16_mono.mel.npy", mel_mono)
    np.save(out / "clip_f32_stereo.mel.npy", mel_stereo)

    model, state = build_model()
    write_checkpoint(out / "tiny", model, state)
    tower, embed, sscp, n = run_tower(model, o_mono)
    np.save(out / "tower.npy", tower), np.save(out / "embed.npy", embed), np.save(out / "sscp.npy", sscp)
    ids, logits = run_logits(model, o_mono, n)
    np.save(out / "logits.npy", logits)
    (out / "prompt.json").write_text(json.dumps({"ids": ids, "n_audio_tokens": n}) + "\n")

    base_cfg = json.loads((out / "tiny" / "config.json").read_text())
    deq = write_mlx(out / "tiny_mlx", state, base_cfg)
    model.load_state_dict(deq, strict=False)
    tower_m, embed_m, _, n_m = run_tower(model, o_mono)
    assert n_m == n
    np.save(out / "tower_mlx.npy", tower_m), np.save(out / "embed_mlx.npy", embed_m)
    _, logits_m = run_logits(model, o_mono, n)
    np.save(out / "logits_mlx.npy", logits_m)
    print(f"mel {mel_mono.shape} {mel_stereo.shape}, tokens {n}, tower |max| {np.abs(tower).max():.3f}, "
          f"logits std {logits.std():.3f}, mlx vs hf tower max-abs {np.abs(tower_m - tower).max():.3g}")


if __name__ == "__main__":
    main()
