// Gemma 4 from GGUF files as llama.cpp writes them (`general.architecture` = "gemma4";
// convert_hf_to_gguf.py's Gemma4Model, llama.cpp src/models/gemma4.cpp). The file's metadata is
// mapped back onto the Hugging Face config fields (and parsed by the same validated
// parse_gemma4_config), and its tensors onto the same declared weight table as the safetensors
// loader, so one forward pass (gemma4.cc) serves both. See docs/gguf.md for the name/key map.
//
// What llama.cpp's converter does to a Gemma 4 checkpoint, and how it is undone here:
// - names: `model.layers.N.self_attn.q_proj.weight` -> `blk.N.attn_q.weight` etc. (table in
//   gemma4_gguf.cc); `layer_scalar` -> `blk.N.layer_output_scale.weight`, `router.scale` ->
//   `blk.N.ffn_gate_inp.scale`, `router.per_expert_scale` -> `blk.N.ffn_down_exps.scale`; the
//   stacked experts keep their memory layout (`ffn_gate_up_exps` ggml [H, 2I, E]).
// - norms are stored as is (Gemma 4 RMSNorm is x*w: no +1 shift, unlike the gemma3 converter);
//   no Q/K permutation (NeoX-style RoPE).
// - per-layer structure: `feed_forward_length` and `attention.head_count_kv` may be per-layer
//   arrays; `attention.key_length` / `key_length_swa` are the full / sliding head dims;
//   `attention.sliding_window_pattern` (bool per layer, true = sliding) replaces layer_types;
//   `attention.shared_kv_layers` is num_kv_shared_layers (KV-shared layers may keep unused k/v).
// - RoPE: `rope.freq_base` (full) / `rope.freq_base_swa` (sliding); the proportional RoPE of
//   full layers becomes `rope_freqs.weight` [global_head_dim/2] = 1 for the rotated pairs and
//   1e30 for the rest, from which partial_rotary_factor is recovered.
// - K=V (31B-style) full layers have `attn_k` but no `attn_v`; MoE layers carry `ffn_gate_inp`.
// - embeddings may be trimmed to the tokenizer's size: vocab_size = rows of token_embd.
#pragma once

#include <memory>

#include "io/gguf.h"
#include "models/gemma4_weights.h"

namespace ember {

// The Gemma 4 configuration a GGUF file declares. Throws ember::Error (kInvalidCheckpoint
// naming the GGUF key, kUnsupported for a valid but unsupported variant).
Gemma4Config gemma4_config_from_gguf(const GgufFile& f);

// Binds the file's tensors to the Gemma 4 weight table; all problems (missing, unexpected,
// wrong shape or type) are reported in one kInvalidCheckpoint error. Matrices point into the
// mapping, which the returned model keeps alive.
Gemma4Model load_gemma4_gguf(std::shared_ptr<const GgufFile> f);

}  // namespace ember
