#!/usr/bin/env python3
"""Golden fixtures for ember's Gemma 4 forward pass, made with the real reference implementations.

Builds tiny random-weight Gemma 4 models in every checkpoint layout ember loads (HF multimodal /
text-only in bf16 and f32, E-series with and without the unused KV-shared k/v tensors, MoE + K=V,
MLX affine 4-bit / 8-bit / mixed made by mlx-lm's own quantizer) and records, per fixture:

  <name>/config.json, model.safetensors, generation_config.json   the checkpoint
  <name>/inputs.json                                                {"ids": [...], ...}
  <name>/logits.npy                                                 float32 [T, vocab]

Logits come from transformers (float32 weights+activations, eager attention) for HF layouts and
from mlx-lm (CPU, parameters cast to float32) for MLX layouts. Each fixture is cross-checked
against the other reference (mlx-lm on the HF checkpoint; transformers on a dequantized copy of the
MLX checkpoint) and the differences are written to crosscheck.json (see README.md).

Usage:  python3 tools/gen_gemma4_fixtures.py --out tests/fixtures/gemma4
Needs:  torch (CPU), transformers 5.x with Gemma 4, mlx[cpu], mlx-lm, safetensors, numpy.
"""
import argparse
import copy
import json
import re
import shutil
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import torch

import mlx.core as mx
import mlx.nn as mnn
from mlx.utils import tree_flatten, tree_map
from mlx_lm.utils import dequantize_model, load_config, load_model, quantize_model, save_model
from safetensors.torch import load_file as st_load_torch
from safetensors.torch import save_file as st_save_torch
import transformers
from transformers import (Gemma4AudioConfig, Gemma4Config, Gemma4ForCausalLM,
                          Gemma4ForConditionalGeneration, Gemma4TextConfig, Gemma4VisionConfig)

S, F = "sliding_attention", "full_attention"
ROPE = {F: {"rope_type": "proportional", "partial_rotary_factor": 0.25, "rope_theta": 1e6},
        S: {"rope_type": "default", "rope_theta": 1e4}}

# ---- model shapes ------------------------------------------------------------------------------
# Every variant keeps in_features a multiple of 32 (64 where 4-bit gs64 must apply) so mlx's
# quantizer accepts the linears; per_layer_projection (in = P = 32) is quantizable at gs32 only,
# which gives both a float and a quantized per_layer_projection inside quantized files.
TEXT_VARIANTS = {
    # E2B-like: PLE, 4:1-ish pattern, KV sharing (F = 4: sliding donor 3, full donor 2),
    # double-wide MLP on shared layers, one KV head.
    "e2b": dict(vocab_size=256, vocab_size_per_layer_input=256, hidden_size=64, intermediate_size=64,
                num_hidden_layers=6, num_attention_heads=2, num_key_value_heads=1, head_dim=32,
                global_head_dim=64, num_global_key_value_heads=None, sliding_window=8,
                layer_types=[S, S, F, S, S, F], num_kv_shared_layers=2, hidden_size_per_layer_input=32,
                use_double_wide_mlp=True, attention_k_eq_v=False, enable_moe_block=False),
    # E4B-like: single-width MLP, 2 KV heads (GQA groups of 2), F = 4 (sliding donor 2, full donor 3).
    "e4b": dict(vocab_size=256, vocab_size_per_layer_input=256, hidden_size=64, intermediate_size=64,
                num_hidden_layers=7, num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                global_head_dim=64, num_global_key_value_heads=None, sliding_window=8,
                layer_types=[S, S, S, F, S, S, F], num_kv_shared_layers=3, hidden_size_per_layer_input=32,
                use_double_wide_mlp=False, attention_k_eq_v=False, enable_moe_block=False),
    # 26B-A4B-like: MoE beside the dense MLP, K=V on full layers with their own KV-head count,
    # no PLE, no KV sharing.
    "moe": dict(vocab_size=256, vocab_size_per_layer_input=256, hidden_size=64, intermediate_size=32,
                num_hidden_layers=6, num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                global_head_dim=64, num_global_key_value_heads=1, sliding_window=8,
                layer_types=[S, S, F, S, S, F], num_kv_shared_layers=0, hidden_size_per_layer_input=0,
                use_double_wide_mlp=False, attention_k_eq_v=True, enable_moe_block=True,
                num_experts=4, top_k_experts=2, moe_intermediate_size=32),
}
COMMON_TEXT = dict(final_logit_softcapping=30.0, rms_norm_eps=1e-6, hidden_activation="gelu_pytorch_tanh",
                   max_position_embeddings=131072, tie_word_embeddings=True, attention_bias=False,
                   pad_token_id=0, bos_token_id=2, eos_token_id=1, rope_parameters=ROPE)
VISION = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
              num_key_value_heads=2, head_dim=8, position_embedding_size=16, patch_size=4, pooling_kernel_size=2)
AUDIO = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, subsampling_conv_channels=[4, 4],
             output_proj_dims=16, conv_kernel_size=3)
# transformers bookkeeping that real checkpoints' config.json do not carry.
CONFIG_NOISE = {"output_hidden_states", "return_dict", "chunk_size_feed_forward", "is_encoder_decoder",
                "id2label", "label2id", "problem_type", "_name_or_path", "output_attentions",
                "per_layer_config", "transformers_version", "use_cache", "initializer_range"}


def text_kwargs(variant):
    kw = dict(COMMON_TEXT)
    kw.update(copy.deepcopy(TEXT_VARIANTS[variant]))
    return kw


def first_shared(tc):
    return tc["num_hidden_layers"] - tc["num_kv_shared_layers"]


# ---- deterministic weights ---------------------------------------------------------------------
def rng_for(seed, name):
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def text_param_value(name, shape, seed):
    """Value for a text-model tensor, keyed by its prefix-free name so that the multimodal and
    text-only checkpoints of one variant hold identical text weights. Norm weights and
    layer_scalar are deliberately far from 1 so that a skipped or `1+w` norm shows in the logits."""
    r = rng_for(seed, name)
    if name.endswith("layer_scalar"):
        return r.uniform(0.3, 1.3, shape)
    if name.endswith(("q_norm.weight", "k_norm.weight")):
        return r.uniform(0.3, 0.9, shape)
    if name == "norm.weight":  # final norm: sets the logit scale (std ~2-4, clear top-1 margins)
        return r.uniform(2.0, 5.0, shape)
    if re.match(r"layers\.\d+\.post_", name):  # post-norms: sublayers must not drown in the embedding
        return r.uniform(0.8, 3.2, shape)
    if re.search(r"norm(_\d)?\.weight$", name):
        return r.uniform(0.4, 1.6, shape)
    if name.endswith(("router.scale", "router.per_expert_scale")):
        return r.uniform(0.5, 1.5, shape)
    if name == "embed_tokens.weight":  # small: a dominant residual makes greedy decoding repeat its input
        return r.normal(0.0, 0.15, shape)
    if name == "embed_tokens_per_layer.weight":
        return r.normal(0.0, 0.5, shape)
    if name.endswith("experts.gate_up_proj"):
        return r.normal(0.0, shape[-1] ** -0.5, shape)
    if name.endswith("experts.down_proj"):
        return r.normal(0.0, shape[-1] ** -0.5, shape)
    if len(shape) == 2:
        return r.normal(0.0, shape[-1] ** -0.5, shape)
    raise ValueError(f"no init rule for text tensor {name} {shape}")


def tower_param_value(name, tensor, seed):
    r = rng_for(seed, name)
    shape = tuple(tensor.shape)
    if name.endswith(("input_min", "output_min")):
        return np.full(shape, -6.0)
    if name.endswith(("input_max", "output_max")):
        return np.full(shape, 6.0)
    if len(shape) >= 2:
        return r.normal(0.0, 0.05, shape)
    if name.endswith("norm.weight"):
        return r.uniform(0.5, 1.5, shape)
    return tensor.float().numpy()  # biases, per-dim scales, tables: keep transformers' init


def strip_text_prefix(key):
    for p in ("model.language_model.", "model."):
        if key.startswith(p):
            return key[len(p):]
    return key


def is_text_key(key):
    return key.startswith("model.language_model.") or (key.startswith("model.") and not any(
        key.startswith("model." + t) for t in ("vision_tower", "audio_tower", "embed_vision", "embed_audio")))


def fill_state(model, seed):
    """state dict (float32 torch) with every persistent tensor set deterministically; no lm_head."""
    out = {}
    for key, t in model.state_dict().items():
        if key.startswith("lm_head"):
            continue  # tied to embed_tokens; real checkpoints do not store it
        if is_text_key(key):
            v = text_param_value(strip_text_prefix(key), tuple(t.shape), seed)
        else:
            v = tower_param_value(key, t, seed)
        out[key] = torch.tensor(np.asarray(v), dtype=torch.float32).reshape(t.shape)
    return out


def shared_kv_extras(tc, prefix, seed):
    """Unused k_proj/v_proj/k_norm of KV-shared layers, as official Google checkpoints ship them.
    Random values: a loader that uses them produces wrong logits."""
    out = {}
    for i in range(first_shared(tc), tc["num_hidden_layers"]):
        full = tc["layer_types"][i] == F
        hd = tc["global_head_dim"] if full else tc["head_dim"]
        nkv = tc["num_key_value_heads"]
        for n, shape in (("k_proj.weight", (nkv * hd, tc["hidden_size"])),
                         ("v_proj.weight", (nkv * hd, tc["hidden_size"])), ("k_norm.weight", (hd,))):
            name = f"layers.{i}.self_attn.{n}"
            v = text_param_value(name, shape, seed + 7919)
            out[prefix + name] = torch.tensor(v, dtype=torch.float32)
    return out


# ---- HF checkpoints ----------------------------------------------------------------------------
def clean_config(d):
    return {k: v for k, v in d.items() if k not in CONFIG_NOISE and not (k == "architectures" and v is None)}


def text_config_json(tc, dtype):
    """Text config as shipped checkpoints write it: global_head_dim / num_global_key_value_heads
    (transformers 5.24's own save_pretrained writes an internal per_layer_config instead)."""
    d = clean_config(Gemma4TextConfig(**tc).to_dict())
    d["global_head_dim"] = tc["global_head_dim"]
    d["num_global_key_value_heads"] = tc["num_global_key_value_heads"]
    d["dtype"] = dtype
    return dict(sorted(d.items()))


def build_hf(kind, variant, seed):
    """(model, text kwargs, config json) for kind 'mm' (Gemma4ForConditionalGeneration) or 'text'."""
    tc = text_kwargs(variant)
    torch.manual_seed(seed)
    if kind == "mm":
        cfg = Gemma4Config(text_config=Gemma4TextConfig(**tc), vision_config=Gemma4VisionConfig(**VISION),
                           audio_config=Gemma4AudioConfig(**AUDIO))
        model = Gemma4ForConditionalGeneration(cfg)
    else:
        model = Gemma4ForCausalLM(Gemma4TextConfig(**tc))
    return model.eval(), tc


def write_hf(out_dir, kind, variant, seed, dtype, shared_kv_present, eos=(1,)):
    model, tc = build_hf(kind, variant, seed)
    state = fill_state(model, seed)
    prefix = "model.language_model." if kind == "mm" else "model."
    if shared_kv_present and tc["num_kv_shared_layers"] > 0:
        state.update(shared_kv_extras(tc, prefix, seed))
    tdt = {"bfloat16": torch.bfloat16, "float32": torch.float32}[dtype]
    state = {k: v.to(tdt).contiguous() for k, v in sorted(state.items())}
    out_dir.mkdir(parents=True, exist_ok=True)
    st_save_torch(state, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    text = text_config_json(tc, dtype)
    if kind == "mm":
        cfg = {"architectures": ["Gemma4ForConditionalGeneration"], "model_type": "gemma4",
               "text_config": text,
               "vision_config": clean_config(Gemma4VisionConfig(**VISION).to_dict()),
               "audio_config": clean_config(Gemma4AudioConfig(**AUDIO).to_dict()),
               "boi_token_id": 255999, "eoi_token_id": 258882, "image_token_id": 258880,
               "video_token_id": 258884, "boa_token_id": 256000, "eoa_token_index": 258883,
               "audio_token_id": 258881, "tie_word_embeddings": True, "dtype": dtype,
               # mlx-lm's gemma4 wrapper overwrites text_config.vocab_size with this (default 262144).
               "vocab_size": tc["vocab_size"]}
    else:
        cfg = dict(text, architectures=["Gemma4ForCausalLM"])
    write_json(out_dir / "config.json", dict(sorted(cfg.items())))
    write_json(out_dir / "generation_config.json",
               {"bos_token_id": 2, "eos_token_id": list(eos), "pad_token_id": 0})
    return tc


def load_hf(model_dir):
    cfg = json.loads((model_dir / "config.json").read_text())
    cls = Gemma4ForConditionalGeneration if cfg["model_type"] == "gemma4" else Gemma4ForCausalLM
    model, info = cls.from_pretrained(str(model_dir), dtype=torch.float32, attn_implementation="eager",
                                      output_loading_info=True)
    if info["missing_keys"] or info["mismatched_keys"] or info.get("error_msgs"):
        raise RuntimeError(f"{model_dir}: transformers load problems {info}")
    return model.eval(), info


@torch.no_grad()
def hf_logits(model, ids, use_cache):
    out = model(input_ids=torch.tensor([ids]), use_cache=use_cache)
    return out.logits[0].float().numpy()


@torch.no_grad()
def hf_chunked_logits(model, ids, chunk):
    """Prefill in chunks of `chunk` tokens through transformers' cache (chunk 1 = token-by-token
    decode); must equal the one-shot logits."""
    from transformers import DynamicCache
    cache = DynamicCache(config=model.config.get_text_config())
    rows = []
    for t in range(0, len(ids), chunk):
        out = model(input_ids=torch.tensor([ids[t:t + chunk]]), past_key_values=cache, use_cache=True)
        cache = out.past_key_values
        rows.append(out.logits[0].float().numpy())
    return np.concatenate(rows)


def hf_native_bf16_logits(model_dir, ids):
    """transformers in its usual bf16 mode (bf16 weights and activations, eager)."""
    cfg = json.loads((model_dir / "config.json").read_text())
    cls = Gemma4ForConditionalGeneration if cfg["model_type"] == "gemma4" else Gemma4ForCausalLM
    model = cls.from_pretrained(str(model_dir), dtype=torch.bfloat16, attn_implementation="eager").eval()
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0].float().numpy()


# ---- MLX ---------------------------------------------------------------------------------------
def mlx_f32(model):
    """Cast float parameters (norms, scales, biases, float weights) to float32: same values
    (bf16 -> f32 is exact), float32 activations; packed uint32 weights are untouched."""
    cast = lambda p: p.astype(mx.float32) if p.dtype in (mx.bfloat16, mx.float16) else p
    model.update(tree_map(cast, model.parameters()))
    return model


def mlx_logits(model_dir, ids, f32=True):
    model, _ = load_model(Path(model_dir))
    if f32:
        mlx_f32(model)
    out = model(mx.array([ids]))
    return np.array(out[0].astype(mx.float32))


def mlx_chunked_logits(model_dir, ids, chunk):
    """Prefill in chunks through mlx-lm's caches (KVCache / RotatingKVCache); chunk 1 = decode."""
    model, _ = load_model(Path(model_dir))
    mlx_f32(model)
    cache = model.make_cache()
    rows = []
    for t in range(0, len(ids), chunk):
        out = model(mx.array([ids[t:t + chunk]]), cache=cache)
        rows.append(np.array(out[0].astype(mx.float32)))
    return np.concatenate(rows)


def mlp_8bit_predicate(path, module):
    """Mixed precision as mlx-vlm's Gemma 4 predicate did (Apr-Jun 2026): MLP projections 8-bit."""
    if path.endswith(("mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")):
        return {"group_size": 64, "bits": 8}
    return True


def write_mlx(hf_dir, out_dir, bits, group_size, predicate=None, towers_from=None, shared_kv_quant=None):
    """Quantize an HF checkpoint with mlx-lm (load_model + quantize_model + save_model, i.e.
    mlx_lm.convert without the tokenizer step) and write config.json with `quantization` and
    `quantization_config`. towers_from: copy the HF file's float vision/audio tensors in MLX naming
    (no `model.` prefix), as mlx-vlm conversions keep them. shared_kv_quant: (bits, gs) to also
    store quantized KV-shared k/v/k_norm (early mlx-community PTQ repos ship them)."""
    model, config = load_model(Path(hf_dir))
    model, qconfig = quantize_model(model, config, group_size, bits, quant_predicate=predicate)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_model(out_dir, model)
    weights = mx.load(str(out_dir / "model.safetensors"))
    hf = st_load_torch(str(Path(hf_dir) / "model.safetensors"))
    if towers_from:
        for k, v in hf.items():
            if k.startswith(("model.vision_tower", "model.audio_tower", "model.embed_vision", "model.embed_audio")):
                weights[k[len("model."):]] = mx.array(v.float().numpy()).astype(mx.bfloat16)
    if shared_kv_quant:
        qb, qgs = shared_kv_quant
        for k, v in hf.items():
            if ".self_attn." not in k or not any(s in k for s in ("k_proj", "v_proj", "k_norm")):
                continue
            layer = int(k.split("layers.")[1].split(".")[0])
            tc = config.get("text_config", config)
            if layer < first_shared(tc):
                continue
            name = "language_model.model." + strip_text_prefix(k) if "language_model" in k else k
            arr = mx.array(v.float().numpy()).astype(mx.bfloat16)
            if k.endswith("k_norm.weight"):
                weights[name] = arr
            else:
                wq, sc, bi = mx.quantize(arr, group_size=qgs, bits=qb)
                base = name[: -len(".weight")]
                weights[name], weights[base + ".scales"], weights[base + ".biases"] = wq, sc, bi
    mx.save_safetensors(str(out_dir / "model.safetensors"), dict(sorted(weights.items())),
                        metadata={"format": "mlx"})
    (out_dir / "model.safetensors.index.json").unlink(missing_ok=True)
    qconfig["quantization_config"] = qconfig["quantization"]
    qconfig.pop("transformers_version", None)
    write_json(out_dir / "config.json", dict(sorted(qconfig.items())))
    shutil.copy(Path(hf_dir) / "generation_config.json", out_dir / "generation_config.json")


def dequantized_hf_copy(mlx_dir, tmp):
    """transformers-loadable text-only checkpoint (float32) holding the dequantized MLX weights:
    w = scale * q + bias evaluated in float32."""
    model, config = load_model(Path(mlx_dir))
    mlx_f32(model)
    model = dequantize_model(model)
    tc = copy.deepcopy(config.get("text_config", config))
    state = {}
    for k, v in tree_flatten(model.parameters()):
        k = k.replace("language_model.model.", "model.")
        state[k] = torch.tensor(np.array(v.astype(mx.float32)))
    for k in ("quantization", "quantization_config"):
        tc.pop(k, None)
    tc.update(architectures=["Gemma4ForCausalLM"], model_type="gemma4_text", dtype="float32")
    tmp.mkdir(parents=True, exist_ok=True)
    st_save_torch(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    write_json(tmp / "config.json", tc)
    return tmp


# ---- fixtures ----------------------------------------------------------------------------------
def write_json(path, obj):
    path.write_text(json.dumps(obj, indent=2) + "\n")


def prompt_ids(seed, n, vocab):
    r = np.random.default_rng(seed)
    return [2] + [int(x) for x in r.integers(3, vocab, n - 1)]


def diff_stats(a, b):
    return {"max_abs": float(np.max(np.abs(a - b))),
            "top1_agree": float(np.mean(np.argmax(a, -1) == np.argmax(b, -1)))}


def save_case(d, ids, logits, reference, notes):
    np.save(d / "logits.npy", logits.astype(np.float32))
    write_json(d / "inputs.json", {"ids": ids, "reference": reference, "notes": notes})


def hf_fixture(out, name, kind, variant, seed, dtype, shared_kv, T, notes, report):
    d = out / name
    shutil.rmtree(d, ignore_errors=True)
    tc = write_hf(d, kind, variant, seed, dtype, shared_kv)
    ids = prompt_ids(seed + 1, T, tc["vocab_size"])
    model, info = load_hf(d)
    cached = hf_logits(model, ids, use_cache=True)
    nocache = hf_logits(model, ids, use_cache=False)
    mlx = mlx_logits(d, ids)
    ref = f"transformers {transformers.__version__} {type(model).__name__} float32 eager, use_cache=True"
    save_case(d, ids, cached, ref, notes)
    if kind == "text":
        dump_activations(model, ids, d)
    report[name] = {"T": T, "vocab": tc["vocab_size"], "sliding_window": tc["sliding_window"],
                    "unexpected_keys_ignored_by_transformers": len(info["unexpected_keys"]),
                    "hf_use_cache_false_vs_true": diff_stats(nocache, cached),
                    "hf_token_by_token_vs_prefill": diff_stats(hf_chunked_logits(model, ids, 1), cached),
                    "hf_chunks_of_5_vs_prefill": diff_stats(hf_chunked_logits(model, ids, 5), cached),
                    "hf_chunks_of_11_vs_prefill": diff_stats(hf_chunked_logits(model, ids, 11), cached),
                    "mlx_lm_f32_vs_transformers": diff_stats(mlx, cached),
                    "logit_std": float(cached.std())}
    if dtype == "bfloat16":
        report[name]["transformers_bf16_mode_vs_f32"] = diff_stats(hf_native_bf16_logits(d, ids), cached)
        try:
            report[name]["mlx_lm_bf16_mode_vs_f32"] = diff_stats(mlx_logits(d, ids, f32=False), cached)
        except RuntimeError as e:  # mlx's CPU gather_mm (MoE experts) is float32-only
            report[name]["mlx_lm_bf16_mode_vs_f32"] = f"not available: {e}"
    print(name, json.dumps(report[name]), flush=True)
    return d, ids, model


@torch.no_grad()
def dump_activations(model, ids, d):
    """Named intermediate activations of the transformers run (float32), so a divergence can be
    pinned to the first op that differs: act_embed [T, H] (scaled embedding), act_ple [T, L, P]
    (per-layer inputs after the context/token combination), act_layers [L, T, H] (each decoder
    layer's output, after layer_scalar), act_final_norm [T, H] (input of the tied head)."""
    tm, acts, layer_out = model.model, {}, []
    hooks = [l.register_forward_hook(lambda mod, inp, out: layer_out.append(out[0] if isinstance(out, tuple) else out))
             for l in tm.layers]
    hooks.append(tm.norm.register_forward_hook(lambda mod, inp, out: acts.__setitem__("final_norm", out)))
    project = tm.project_per_layer_inputs if tm.hidden_size_per_layer_input else None
    if project:
        def capture(*a, **k):
            acts["ple"] = project(*a, **k)
            return acts["ple"]
        tm.project_per_layer_inputs = capture
    acts["embed"] = tm.embed_tokens(torch.tensor([ids]))
    model(input_ids=torch.tensor([ids]), use_cache=True)
    for h in hooks:
        h.remove()
    if project:
        del tm.project_per_layer_inputs
    np.save(d / "act_embed.npy", acts["embed"][0].float().numpy())
    if "ple" in acts:
        np.save(d / "act_ple.npy", acts["ple"][0].float().numpy())
    np.save(d / "act_layers.npy", torch.stack([o[0] for o in layer_out]).float().numpy())
    np.save(d / "act_final_norm.npy", acts["final_norm"][0].float().numpy())


def mlx_fixture(out, name, hf_dir, T, seed, notes, report, **kw):
    d = out / name
    shutil.rmtree(d, ignore_errors=True)
    write_mlx(hf_dir, d, **kw)
    cfg = json.loads((d / "config.json").read_text())
    vocab = cfg.get("text_config", cfg)["vocab_size"]
    ids = prompt_ids(seed, T, vocab)
    logits = mlx_logits(d, ids)
    with tempfile.TemporaryDirectory() as tmp:
        hf_model, _ = load_hf(dequantized_hf_copy(d, Path(tmp) / "deq"))
        hf = hf_logits(hf_model, ids, use_cache=True)
    import mlx_lm
    ref = f"mlx-lm {mlx_lm.__version__} (mlx {mx.__version__}, CPU), parameters cast to float32"
    save_case(d, ids, logits, ref, notes)
    report[name] = {"T": T, "vocab": vocab, "quantization": cfg["quantization"],
                    "mlx_token_by_token_vs_prefill": diff_stats(mlx_chunked_logits(d, ids, 1), logits),
                    "mlx_chunks_of_5_vs_prefill": diff_stats(mlx_chunked_logits(d, ids, 5), logits),
                    "mlx_chunks_of_11_vs_prefill": diff_stats(mlx_chunked_logits(d, ids, 11), logits),
                    "mlx_lm_bf16_mode_vs_f32": diff_stats(mlx_logits(d, ids, f32=False), logits),
                    "transformers_on_dequantized_vs_mlx_lm": diff_stats(hf, logits),
                    "logit_std": float(logits.std())}
    print(name, json.dumps({k: v for k, v in report[name].items() if k != "quantization"}), flush=True)


# ---- how much do typical implementation bugs move the logits? ----------------------------------
def _norms(model):
    from transformers.models.gemma4.modeling_gemma4 import Gemma4RMSNorm
    return [m for m in model.modules() if isinstance(m, Gemma4RMSNorm) and getattr(m, "with_scale", True)]


def _attns(model):
    from transformers.models.gemma4.modeling_gemma4 import Gemma4TextAttention
    return [m for m in model.modules() if isinstance(m, Gemma4TextAttention)]


def _wrong_partial_rope(model):
    """Proportional RoPE done as ordinary partial RoPE: exponent over the rotated width (pitfall 1)."""
    tm = model.model
    gd = 2 * tm.rotary_emb.full_attention_inv_freq.numel()  # global_head_dim
    n_rot = int(0.25 * gd // 2)
    inv = torch.zeros(gd // 2)
    inv[:n_rot] = 1.0 / (1e6 ** (torch.arange(0, 2 * n_rot, 2, dtype=torch.float) / (2 * n_rot)))
    tm.rotary_emb.full_attention_inv_freq.copy_(inv)


def _set(attr_path, value):
    def apply(model):
        obj = model
        *head, last = attr_path.split(".")
        for a in head:
            obj = getattr(obj, a)
        setattr(obj, last, value)
    return apply


BUGS = {
    "layer_scalar ignored": lambda m: [l.layer_scalar.fill_(1.0) for l in m.model.layers],
    "RMSNorm as x*(1+w) (Gemma 3 style)": lambda m: [n.weight.add_(1.0) for n in _norms(m)],
    "attention scale 1/sqrt(head_dim) instead of 1": lambda m: [setattr(a, "scaling", a.head_dim ** -0.5)
                                                                for a in _attns(m)],
    "proportional RoPE as plain partial RoPE": _wrong_partial_rope,
    "sliding window off by one (9 instead of 8)": _set("config.sliding_window", 9),
    "embedding scale sqrt(H) missing": lambda m: m.model.embed_tokens.embed_scale.fill_(1.0),
    "PLE token part not scaled by sqrt(P)": lambda m: m.model.embed_tokens_per_layer.embed_scale.fill_(1.0),
    "PLE injection skipped": lambda m: [l.per_layer_projection.weight.zero_() for l in m.model.layers],
    "final logit soft-cap missing": _set("config.final_logit_softcapping", None),
}
MOE_BUGS = {
    "router per_expert_scale ignored": lambda m: [l.router.per_expert_scale.fill_(1.0) for l in m.model.layers],
    "router scale ignored": lambda m: [l.router.scale.fill_(1.0) for l in m.model.layers],
    "attention scale 1/sqrt(head_dim) instead of 1": BUGS["attention scale 1/sqrt(head_dim) instead of 1"],
}


@torch.no_grad()
def sensitivity(model_dir, ids, ref, bugs):
    """Logit change caused by each deliberate bug: shows the fixtures can tell them apart from the
    reference-vs-reference noise (~1e-4)."""
    out = {}
    for name, bug in bugs.items():
        model, _ = load_hf(model_dir)
        bug(model)
        out[name] = diff_stats(hf_logits(model, ids, use_cache=True), ref)
    return out


@torch.no_grad()
def generation_fixture(d, model, seed, report):
    """Greedy transformers generate() on a fixed prompt, without and with EOS stopping."""
    from transformers import GenerationConfig
    prompt = prompt_ids(seed, 8, model.config.vocab_size)
    base = dict(do_sample=False, max_new_tokens=20, pad_token_id=0, bos_token_id=2)
    free = model.generate(torch.tensor([prompt]), generation_config=GenerationConfig(**base, eos_token_id=None))
    free = [int(x) for x in free[0, len(prompt):]]
    # EOS list: a token absent from the run plus the 6th generated token, so generation stops early
    # (the EOS token itself is emitted, as transformers does).
    eos = [1, free[5]] if 1 not in free[:6] else [1]
    stop = model.generate(torch.tensor([prompt]), generation_config=GenerationConfig(**base, eos_token_id=eos))
    stop = [int(x) for x in stop[0, len(prompt):]]
    write_json(d / "generation.json", {
        "reference": f"transformers {transformers.__version__} generate(do_sample=False), float32 eager",
        "prompt_ids": prompt, "max_new_tokens": 20,
        "runs": [{"eos_token_id": [], "generated_ids": free},
                 {"eos_token_id": eos, "generated_ids": stop}]})
    report["generation"] = {"fixture": d.name, "free": free, "eos": eos, "stopped": stop}
    print("generation", report["generation"], flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    report = {}
    e2b_note = "E2B-like: PLE, KV sharing (F=4, donors sliding 3 / full 2), double-wide MLP on layers 4-5"
    hf_fixture(out, "hf_mm_e2b_bf16", "mm", "e2b", 1000, "bfloat16", True, 20,
               e2b_note + "; multimodal layout with tiny vision/audio towers; KV-shared k/v present (official)",
               report)
    hf_fixture(out, "hf_mm_e2b_f32", "mm", "e2b", 1000, "float32", True, 20,
               e2b_note + "; float32 weights (not bf16-representable); KV-shared k/v present", report)
    text_dir, _, text_model = hf_fixture(
        out, "hf_text_e2b_bf16", "text", "e2b", 1000, "bfloat16", False, 20,
        e2b_note + "; text-only layout; KV-shared k/v absent (QAT / transformers-saved style); "
        "same text weights as hf_mm_e2b_bf16", report)
    generation_fixture(text_dir, text_model, 3000, report)
    ids = json.loads((text_dir / "inputs.json").read_text())["ids"]
    report["sensitivity"] = {"hf_text_e2b_bf16": sensitivity(text_dir, ids, np.load(text_dir / "logits.npy"), BUGS)}
    hf_fixture(out, "hf_text_e4b_long_bf16", "text", "e4b", 2000, "bfloat16", True, 40,
               "E4B-like: single-width MLP, 4 q heads / 2 KV heads, F=4 (donors sliding 2 / full 3); "
               "T=40 = 5x sliding_window; KV-shared k/v present", report)
    hf_fixture(out, "hf_text_moe_keqv_bf16", "text", "moe", 4000, "bfloat16", False, 20,
               "26B-like: MoE (4 experts, top-2) beside the dense MLP, K=V on full layers with "
               "num_global_key_value_heads=1 (sliding layers: 2 KV heads, own v_proj), no PLE", report)
    moe_dir = out / "hf_text_moe_keqv_bf16"
    ids = json.loads((moe_dir / "inputs.json").read_text())["ids"]
    report["sensitivity"]["hf_text_moe_keqv_bf16"] = sensitivity(moe_dir, ids, np.load(moe_dir / "logits.npy"),
                                                                 MOE_BUGS)
    print("sensitivity", json.dumps(report["sensitivity"], indent=1), flush=True)
    mm = out / "hf_mm_e2b_bf16"
    mlx_fixture(out, "mlx_text_e2b_4bit", text_dir, 20, 1001,
                "mlx-lm affine 4-bit gs64 of hf_text_e2b_bf16 (embeddings quantized; per_layer_projection "
                "stays float: in=32 is not a multiple of 64)", report, bits=4, group_size=64)
    mlx_fixture(out, "mlx_text_e4b_8bit_gs32", out / "hf_text_e4b_long_bf16", 24, 2001,
                "mlx-lm affine 8-bit gs32 of hf_text_e4b_long_bf16 (every linear and embedding quantized)",
                report, bits=8, group_size=32)
    mlx_fixture(out, "mlx_mm_e2b_4bit", mm, 20, 1001,
                "mlx-lm affine 4-bit gs64 of hf_mm_e2b_bf16, prefix language_model.model.*, float vision/audio "
                "tensors, quantized KV-shared k/v present (early PTQ style)", report,
                bits=4, group_size=64, towers_from=mm, shared_kv_quant=(4, 64))
    mlx_fixture(out, "mlx_mm_e2b_mixed", mm, 20, 1001,
                "mlx-lm mixed: global 4-bit gs64, per-module 8-bit gs64 MLP overrides, quantized "
                "per_layer_model_projection, float towers, KV-shared k/v absent", report,
                bits=4, group_size=64, predicate=mlp_8bit_predicate, towers_from=mm)
    import mlx_lm
    report["versions"] = {"transformers": transformers.__version__, "torch": torch.__version__,
                          "mlx": mx.__version__, "mlx_lm": mlx_lm.__version__, "numpy": np.__version__}
    write_json(out / "crosscheck.json", report)


if __name__ == "__main__":
    sys.exit(main())
