#!/usr/bin/env python3
"""Golden fixtures for ember's Gemma 4 vision path, made with transformers (float32, eager).

A tiny random Gemma4ForConditionalGeneration without audio tower (E2B-like text model with KV sharing; a vision tower
with 17 layers, so vision layers >= 15 exist beside a text model whose KV-sharing rules must not
touch them; clipped linears with finite bounds; real pooling kernel 3) and two test images:

  model/                     config.json, model.safetensors (float32), generation_config.json
  model_mlx4/                the same model in the MLX layout with the vision tower's q/k/v/o and
                             MLP projections affine 4-bit g32 (the text model and embedder dense);
                             its references come from transformers on the dequantized weights
  photo.png, photo.jpg       RGB test images (PNG: lossless, JPEG: quality 90)
  pixels_png.npy             float32 [N, 48]: the processor's patches of photo.png (budget 70)
  pixels_jpg.npy             the same for photo.jpg decoded by PIL (ember decodes with stb_image)
  tower_png.npy              float32 [n, H_text]: get_image_features(photo.png) (embedder output)
  tower_png_mlx4.npy         the same for model_mlx4
  logits.npy                 float32 [T, vocab]: logits of every position of inputs.json's ids
  logits_mlx4.npy            the same for model_mlx4
  inputs.json                ids (with the expanded image), image layout, budgets, grid sizes

Usage (from the repository root; deterministic):
  python3 tools/gen_gemma4_vision_fixtures.py --out tests/fixtures/gemma4_vision
Needs: torch (CPU), transformers 5.24 with Gemma 4, Pillow, numpy, safetensors.
"""
import argparse
import io
import json
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import (Gemma4Config, Gemma4ForConditionalGeneration,
                          Gemma4TextConfig, Gemma4VisionConfig)
from transformers.models.gemma4.image_processing_pil_gemma4 import Gemma4ImageProcessorPil

S, F = "sliding_attention", "full_attention"
TEXT = dict(vocab_size=256, vocab_size_per_layer_input=256, hidden_size=64, intermediate_size=64,
            num_hidden_layers=6, num_attention_heads=2, num_key_value_heads=1, head_dim=32,
            global_head_dim=64, sliding_window=8, layer_types=[S, S, F, S, S, F], num_kv_shared_layers=2,
            hidden_size_per_layer_input=32, use_double_wide_mlp=True, final_logit_softcapping=30.0,
            rms_norm_eps=1e-6, hidden_activation="gelu_pytorch_tanh", max_position_embeddings=4096,
            tie_word_embeddings=True, pad_token_id=0, bos_token_id=2, eos_token_id=1,
            rope_parameters={F: {"rope_type": "proportional", "partial_rotary_factor": 0.25, "rope_theta": 1e6},
                             S: {"rope_type": "default", "rope_theta": 1e4}})
VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=17, num_attention_heads=2,
              num_key_value_heads=2, head_dim=16, patch_size=4, pooling_kernel_size=3,
              position_embedding_size=256, use_clipped_linears=True, rms_norm_eps=1e-6,
              rope_parameters={"rope_type": "axial", "rope_theta": 100.0})
# Placeholder / layout ids inside the tiny vocabulary (the real ones are 255999, 258880, ...).
IDS = dict(boi_token_id=250, image_token_id=251, eoi_token_id=252, boa_token_id=253, audio_token_id=254,
           eoa_token_index=255, video_token_id=249)
BUDGET = 70
SEED = 7


def rng(name):
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


def value(name, shape):
    r = rng(name)
    if name.endswith(("input_min", "output_min")):
        return np.full(shape, -r.uniform(1.0, 3.0))  # finite and active: the clamps change outputs
    if name.endswith(("input_max", "output_max")):
        return np.full(shape, r.uniform(1.0, 3.0))
    if name.endswith("layer_scalar"):
        return r.uniform(0.3, 1.3, shape)
    if name.endswith(("q_norm.weight", "k_norm.weight")):  # moderate attention logits (scale is 1)
        return r.uniform(0.3, 0.9, shape)
    if "norm" in name and len(shape) == 1:
        return r.uniform(0.5, 1.5, shape)
    if name.endswith("position_embedding_table"):
        return r.normal(0.0, 0.5, shape)
    if name.endswith("embed_tokens.weight"):
        return r.normal(0.0, 0.15, shape)
    if name.endswith("embed_tokens_per_layer.weight"):
        return r.normal(0.0, 0.5, shape)
    if len(shape) >= 2:
        return r.normal(0.0, shape[-1] ** -0.5, shape)
    return r.normal(0.0, 0.1, shape)


def build_model():
    cfg = Gemma4Config(text_config=Gemma4TextConfig(**TEXT), vision_config=Gemma4VisionConfig(**VISION),
                       audio_config=None, **{k: v for k, v in IDS.items()})
    model = Gemma4ForConditionalGeneration(cfg).eval()
    state = {}
    for k, t in model.state_dict().items():
        if k.startswith("lm_head"):
            continue
        state[k] = torch.tensor(np.asarray(value(k, tuple(t.shape))), dtype=torch.float32).reshape(t.shape)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(m.startswith("lm_head") for m in missing), (missing, unexpected)
    model.tie_weights()
    return model, state


def config_json(model):
    d = model.config.to_dict()
    noise = {"output_hidden_states", "return_dict", "chunk_size_feed_forward", "is_encoder_decoder", "id2label",
             "label2id", "problem_type", "_name_or_path", "output_attentions", "transformers_version",
             "use_cache", "initializer_range", "per_layer_config"}
    clean = lambda x: {k: v for k, v in x.items() if k not in noise}
    out = clean(d)
    out["text_config"] = clean(d["text_config"])
    out["text_config"]["global_head_dim"] = TEXT["global_head_dim"]
    out["vision_config"] = clean(d["vision_config"])
    out.pop("audio_config", None)  # no audio tower in this fixture
    out["architectures"] = ["Gemma4ForConditionalGeneration"]
    out["vocab_size"] = TEXT["vocab_size"]
    return out


def write_json(p, obj):
    p.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")


def test_images():
    """Smooth gradients plus sharp edges and noise: resampling differences show."""
    r = np.random.default_rng(SEED)
    def img(w, h):
        y, x = np.mgrid[0:h, 0:w]
        a = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)), ((x // 5 + y // 7) % 2) * 255], -1)
        a = a + r.integers(-40, 40, a.shape)
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")
    return img(50, 37), img(300, 200)  # upscaled / downscaled by the budget-70 resize


def processor():
    return Gemma4ImageProcessorPil(patch_size=VISION["patch_size"], pooling_kernel_size=VISION["pooling_kernel_size"],
                                   max_soft_tokens=BUDGET)


def patches(proc, image):
    f = proc(images=[image], return_tensors="pt")
    pos = f["image_position_ids"][0]
    real = (pos != -1).all(-1)
    return f, f["pixel_values"][0][real].numpy().astype(np.float32), pos[real]


def image_features(model, feats):
    with torch.no_grad():
        out = model.model.get_image_features(feats["pixel_values"], feats["image_position_ids"], return_dict=True)
    return torch.cat(out.pooler_output, 0).double().numpy().astype(np.float32 if feats["pixel_values"].dtype == torch.float32 else np.float64)


def prompt_ids(n_soft):
    # BOS, text, "\n\n"-like token, image block, more text (long enough to pass the sliding window).
    ids = [2, 17, 42, 108 % 256, IDS["boi_token_id"]] + [IDS["image_token_id"]] * n_soft + [IDS["eoi_token_id"]]
    ids += [108 % 256, 33, 71, 5, 9, 120, 64, 200, 13]
    return ids


def logits(model, ids, feats):
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), pixel_values=feats["pixel_values"],
                    image_position_ids=feats["image_position_ids"], use_cache=False)
    return out.logits[0].double().numpy().astype(np.float32 if feats["pixel_values"].dtype == torch.float32 else np.float64)


# ---- MLX layout with a 4-bit vision tower (affine, group 32: MLX's packing, computed here) ---------
def mlx_quantize(w, bits=4, group=32):
    """Affine quantization as mlx.core.quantize: per group scale=(max-min)/(2^b-1), bias=min,
    codes packed LSB-first into uint32. Returns (packed, scales, biases, dequantized)."""
    rows, cols = w.shape
    g = w.reshape(rows, cols // group, group).astype(np.float32)
    mn, mx = g.min(-1, keepdims=True), g.max(-1, keepdims=True)
    scale = np.maximum((mx - mn) / (2 ** bits - 1), 1e-8).astype(np.float32)
    q = np.clip(np.rint((g - mn) / scale), 0, 2 ** bits - 1).astype(np.uint32)
    deq = (q * scale + mn).reshape(rows, cols).astype(np.float32)
    per = 32 // bits
    q = q.reshape(rows, cols // per, per)
    packed = np.zeros((rows, cols // per), np.uint32)
    for i in range(per):
        packed |= q[:, :, i] << np.uint32(bits * i)
    return packed, scale[..., 0], mn[..., 0], deq


def quantized_vision_key(k):
    return k.startswith("model.vision_tower.encoder.") and k.endswith(".linear.weight")


def write_mlx4(state, model, d):
    """The MLX multimodal layout (no `model.` prefix, text under language_model.model.) with the
    vision tower's clipped-linear weights 4-bit; returns the state with dequantized values."""
    tensors, deq_state, quant = {}, dict(state), {"group_size": 32, "bits": 4}
    for k, v in state.items():
        if k.startswith("model.language_model."):
            tensors["language_model.model." + k[len("model.language_model."):]] = v
        elif quantized_vision_key(k):
            packed, s, b, deq = mlx_quantize(v.numpy())
            base = k[len("model."):-len(".weight")]
            tensors[base + ".weight"] = torch.from_numpy(packed.view(np.int32)).view(torch.uint32) \
                if hasattr(torch, "uint32") else torch.from_numpy(packed.astype(np.int64))
            tensors[base + ".scales"] = torch.from_numpy(s)
            tensors[base + ".biases"] = torch.from_numpy(b)
            deq_state[k] = torch.from_numpy(deq)
        else:
            tensors[k[len("model."):]] = v
    d.mkdir(parents=True, exist_ok=True)
    save_file({k: t.contiguous() for k, t in sorted(tensors.items())}, str(d / "model.safetensors"),
              metadata={"format": "mlx"})
    cfg = config_json(model)
    cfg["quantization"] = quant
    cfg["quantization_config"] = quant
    write_json(d / "config.json", cfg)
    write_json(d / "generation_config.json", {"bos_token_id": 2, "eos_token_id": [1], "pad_token_id": 0})
    return deq_state


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    out = Path(ap.parse_args().out)
    (out / "model").mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    model, state = build_model()
    save_file({k: v.contiguous() for k, v in sorted(state.items())}, str(out / "model" / "model.safetensors"),
              metadata={"format": "pt"})
    write_json(out / "model" / "config.json", config_json(model))
    write_json(out / "model" / "generation_config.json", {"bos_token_id": 2, "eos_token_id": [1], "pad_token_id": 0})

    small, big = test_images()
    small.save(out / "photo.png")
    big.save(out / "photo.jpg", quality=90)
    proc = processor()
    png = Image.open(out / "photo.png").convert("RGB")
    jpg = Image.open(out / "photo.jpg").convert("RGB")
    f_png, px_png, _ = patches(proc, png)
    f_jpg, px_jpg, _ = patches(proc, jpg)
    np.save(out / "pixels_png.npy", px_png)
    np.save(out / "pixels_jpg.npy", px_jpg)
    tower = image_features(model, f_png)
    np.save(out / "tower_png.npy", tower)
    ids = prompt_ids(tower.shape[0])
    lg = logits(model, ids, f_png)
    np.save(out / "logits.npy", lg)

    deq_state = write_mlx4(state, model, out / "model_mlx4")
    model.load_state_dict(deq_state, strict=False)
    tower_q = image_features(model, f_png)
    np.save(out / "tower_png_mlx4.npy", tower_q)
    np.save(out / "logits_mlx4.npy", logits(model, ids, f_png))

    # How far transformers' own float32 results are from float64 (the noise floor of the tolerances).
    m64 = build_model()[0]
    m64.load_state_dict(state, strict=False)
    m64 = m64.double()
    f64 = {k: (v.double() if k == "pixel_values" else v) for k, v in f_png.items()}
    cross = {"hf_f32_vs_f64_tower_max_abs": float(np.abs(image_features(m64, f64) - tower).max()),
             "hf_f32_vs_f64_logits_max_abs": float(np.abs(logits(m64, ids, f64) - lg).max()),
             "tower_max_abs": float(np.abs(tower).max())}
    write_json(out / "crosscheck.json", cross)
    print(cross)

    grid = lambda f: [int(f["image_position_ids"][0][:, 0].max()) + 1, int(f["image_position_ids"][0][:, 1].max()) + 1]
    write_json(out / "inputs.json", {
        "ids": ids, "budget": BUDGET, "image_ids": IDS,
        "png": {"size_wh": list(png.size), "grid_wh": grid(f_png), "soft_tokens": int(f_png["num_soft_tokens_per_image"][0])},
        "jpg": {"size_wh": list(jpg.size), "grid_wh": grid(f_jpg), "soft_tokens": int(f_jpg["num_soft_tokens_per_image"][0])},
        "reference": "transformers Gemma4ForConditionalGeneration float32 eager, Gemma4ImageProcessorPil",
    })
    print("soft tokens png", tower.shape, "jpg", px_jpg.shape, "T", len(ids))


if __name__ == "__main__":
    main()
