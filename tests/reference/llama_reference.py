#!/usr/bin/python3
"""Independent PyTorch reference for flame's Llama forward.

Builds random-weight Llama models in Hugging Face layout, computes logits for every position of a
fixed token sequence with a plain PyTorch implementation written the Hugging Face way (rotate_half
RoPE on un-permuted Q/K, repeat_kv for GQA, llama3 rope scaling as in HF
`_compute_llama3_parameters`), and writes each model as GGUF exactly as llama.cpp's
convert_hf_to_gguf.py lays out a Llama 3.2 file: Q/K rows permuted per head, GGUF tensor names and
metadata keys, `rope_freqs.weight` for llama3 scaling, 1-D tensors kept F32. The GGUF writer here is
plain `struct`, independent of flame's C++ writer.

The reference runs in float64 on the exact weights stored in the file (rounded to F16/BF16 for those
variants), so the C++ result differs only by its own float32 rounding and accumulation order.
A second set of logits (*.kvf16.logits.f32) rounds every key (after RoPE) and value to float16, as
an F16 KV cache stores them, and is otherwise the same float64 computation.

Usage: llama_reference.py OUT_DIR   -> OUT_DIR/manifest.json, *.gguf, *.logits.f32
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

SEQ_LEN = 80  # 64-token prompts plus 16 decode steps fit inside

# name, dim, layers, heads, kv_heads, head_dim, ffn, vocab, tied, rope_theta, scaling (or None)
SHAPES = [
    # GQA 4:1, head dim 64, tied, Llama 3 rope scaling with a short original context so every
    # band (unscaled, smoothed, fully scaled) is exercised at these positions.
    dict(name="gqa4_hd64_tied_llama3", dim=256, layers=2, heads=4, kv_heads=1, ffn=512, vocab=320, tied=True,
         theta=500000.0, scaling=dict(factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original=64)),
    # MHA (1:1), head dim 128, untied, no scaling.
    dict(name="mha_hd128_untied", dim=256, layers=2, heads=2, kv_heads=2, ffn=640, vocab=300, tied=False,
         theta=10000.0, scaling=None),
    # Odd sizes: dim 96, ffn 352, GQA 3:1, head dim 16, untied, Llama 3.2 scaling parameters.
    dict(name="odd_dim96_ffn352", dim=96, layers=3, heads=6, kv_heads=2, ffn=352, vocab=257, tied=False,
         theta=500000.0, scaling=dict(factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0, original=8192)),
    # GQA 4:1, head dim 128, tied, Llama 3.2 scaling (the real 1B's attention geometry, scaled down).
    dict(name="gqa4_hd128_tied_llama3", dim=512, layers=2, heads=4, kv_heads=1, ffn=768, vocab=384, tied=True,
         theta=500000.0, scaling=dict(factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0, original=8192)),
]
DTYPES = {"f32": (torch.float32, 0, 0), "f16": (torch.float16, 1, 1), "bf16": (torch.bfloat16, 30, 32)}
EPS = 1e-5
CONTEXT = 2048


# ---------------------------------------------------------------- reference model (HF layout)

def make_hf_weights(shape, seed):
    g = torch.Generator().manual_seed(seed)
    d, hd, f = shape["dim"], shape["dim"] // shape["heads"], shape["ffn"]
    hd = shape.get("head_dim", hd)

    def mat(out_f, in_f):
        return torch.randn(out_f, in_f, generator=g, dtype=torch.float64) / math.sqrt(in_f)

    def norm(n):
        return 1.0 + 0.1 * torch.randn(n, generator=g, dtype=torch.float64)

    w = {"model.embed_tokens.weight": torch.randn(shape["vocab"], d, generator=g, dtype=torch.float64)}
    for i in range(shape["layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm(d)
        w[p + "self_attn.q_proj.weight"] = mat(shape["heads"] * hd, d)
        w[p + "self_attn.k_proj.weight"] = mat(shape["kv_heads"] * hd, d)
        w[p + "self_attn.v_proj.weight"] = mat(shape["kv_heads"] * hd, d)
        w[p + "self_attn.o_proj.weight"] = mat(d, shape["heads"] * hd)
        w[p + "post_attention_layernorm.weight"] = norm(d)
        w[p + "mlp.gate_proj.weight"] = mat(f, d)
        w[p + "mlp.up_proj.weight"] = mat(f, d)
        w[p + "mlp.down_proj.weight"] = mat(d, f)
    w["model.norm.weight"] = norm(d)
    if not shape["tied"]:
        w["lm_head.weight"] = mat(shape["vocab"], d)
    return w


def round_weights(w, torch_dtype):
    """The values the GGUF stores: matrices in the file type, 1-D tensors in F32 (as llama.cpp)."""
    out = {}
    for k, v in w.items():
        t = torch.float32 if v.dim() == 1 else torch_dtype
        out[k] = v.to(t).to(torch.float64)
    return out


def llama3_inv_freq(head_dim, theta, scaling):
    """HF transformers `_compute_llama3_parameters`."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    if scaling is None:
        return inv_freq
    factor, low, high, old = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"], scaling["original"]
    low_freq_wavelen = old / low
    high_freq_wavelen = old / high
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium, smoothed, inv_freq_llama)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x, n_rep):
    b, h, s, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, h, n_rep, s, d).reshape(b, h * n_rep, s, d)


def rms_norm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def reference_logits(shape, w, tokens, kv_dtype=None):
    d, nh, nkv = shape["dim"], shape["heads"], shape["kv_heads"]
    hd = d // nh
    seq = len(tokens)
    inv_freq = llama3_inv_freq(hd, shape["theta"], shape["scaling"])
    pos = torch.arange(seq, dtype=torch.float64)
    freqs = torch.outer(pos, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    mask = torch.full((seq, seq), float("-inf"), dtype=torch.float64).triu(1)

    x = w["model.embed_tokens.weight"][torch.tensor(tokens)][None]
    for i in range(shape["layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"])
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(1, seq, nh, hd).transpose(1, 2)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(1, seq, nkv, hd).transpose(1, 2)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(1, seq, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if kv_dtype is not None:  # what a reduced-precision KV cache stores
            k, v = k.to(kv_dtype).to(torch.float64), v.to(kv_dtype).to(torch.float64)
        k, v = repeat_kv(k, nh // nkv), repeat_kv(v, nh // nkv)
        scores = q @ k.transpose(2, 3) / math.sqrt(hd) + mask
        att = torch.softmax(scores, dim=-1) @ v
        att = att.transpose(1, 2).reshape(1, seq, nh * hd)
        x = x + att @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"])
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        up = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"])
    out = w["model.embed_tokens.weight"] if shape["tied"] else w["lm_head.weight"]
    return (x @ out.T)[0]


# ---------------------------------------------------------------- GGUF writing (convert_hf_to_gguf.py layout)

GGUF_U32, GGUF_F32, GGUF_STRING = 4, 6, 8


def permute(w, n_head):
    """LlamaModel.permute in convert_hf_to_gguf.py."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_rope_factors(head_dim, theta, scaling):
    """LlamaModel.generate_extra_tensors in convert_hf_to_gguf.py."""
    base, dim = theta, head_dim
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor, low, high, old = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"], scaling["original"]
    low_freq_wavelen = old / low
    high_freq_wavelen = old / high
    rope_factors = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_freq_wavelen:
            rope_factors.append(1)
        elif wavelen > low_freq_wavelen:
            rope_factors.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            rope_factors.append(1 / ((1 - smooth) / factor + smooth))
    return torch.tensor(rope_factors, dtype=torch.float32)


def gguf_tensors(shape, w, torch_dtype, ggml_type):
    """(name, numpy array, ggml type) in the converter's order and layout."""
    nh, nkv = shape["heads"], shape["kv_heads"]
    hd = shape["dim"] // nh

    def plain(t):
        return t.to(torch.float32).numpy()

    def mat(t):
        if torch_dtype == torch.float32:
            return t.to(torch.float32).numpy(), 0
        if torch_dtype == torch.float16:
            return t.to(torch.float16).numpy(), 1
        # bfloat16: numpy has no bf16; store the raw 16-bit patterns.
        return t.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16), 30

    out = []
    if shape["scaling"] is not None:
        out.append(("rope_freqs.weight", llama3_rope_factors(hd, shape["theta"], shape["scaling"]).numpy(), 0))
    out.append(("token_embd.weight", *mat(w["model.embed_tokens.weight"])))
    for i in range(shape["layers"]):
        p, b = f"model.layers.{i}.", f"blk.{i}."
        out.append((b + "attn_norm.weight", plain(w[p + "input_layernorm.weight"]), 0))
        out.append((b + "ffn_down.weight", *mat(w[p + "mlp.down_proj.weight"])))
        out.append((b + "ffn_gate.weight", *mat(w[p + "mlp.gate_proj.weight"])))
        out.append((b + "ffn_up.weight", *mat(w[p + "mlp.up_proj.weight"])))
        out.append((b + "ffn_norm.weight", plain(w[p + "post_attention_layernorm.weight"]), 0))
        out.append((b + "attn_k.weight", *mat(permute(w[p + "self_attn.k_proj.weight"], nkv))))
        out.append((b + "attn_output.weight", *mat(w[p + "self_attn.o_proj.weight"])))
        out.append((b + "attn_q.weight", *mat(permute(w[p + "self_attn.q_proj.weight"], nh))))
        out.append((b + "attn_v.weight", *mat(w[p + "self_attn.v_proj.weight"])))
    out.append(("output_norm.weight", plain(w["model.norm.weight"]), 0))
    if not shape["tied"]:
        out.append(("output.weight", *mat(w["lm_head.weight"])))
    return out


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def write_gguf(path, metadata, tensors, alignment=32):
    kv = b""
    for key, (vtype, value) in metadata:
        kv += gguf_string(key) + struct.pack("<I", vtype)
        if vtype == GGUF_U32:
            kv += struct.pack("<I", value)
        elif vtype == GGUF_F32:
            kv += struct.pack("<f", value)
        elif vtype == GGUF_STRING:
            kv += gguf_string(value)
        else:
            raise ValueError(vtype)
    infos, offset = b"", 0
    for name, arr, ggml_type in tensors:
        infos += gguf_string(name) + struct.pack("<I", arr.ndim)
        for n in reversed(arr.shape):  # GGUF ne[]: innermost first
            infos += struct.pack("<Q", n)
        infos += struct.pack("<IQ", ggml_type, offset)
        offset += (arr.nbytes + alignment - 1) // alignment * alignment
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata)) + kv + infos
    with open(path, "wb") as f:
        f.write(header)
        f.write(b"\0" * ((-len(header)) % alignment))
        for _, arr, _ in tensors:
            data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
            f.write(data)
            f.write(b"\0" * ((-len(data)) % alignment))


def metadata_for(shape, file_type):
    hd = shape["dim"] // shape["heads"]
    return [
        ("general.architecture", (GGUF_STRING, "llama")),
        ("general.name", (GGUF_STRING, "flame reference " + shape["name"])),
        ("llama.block_count", (GGUF_U32, shape["layers"])),
        ("llama.context_length", (GGUF_U32, CONTEXT)),
        ("llama.embedding_length", (GGUF_U32, shape["dim"])),
        ("llama.feed_forward_length", (GGUF_U32, shape["ffn"])),
        ("llama.attention.head_count", (GGUF_U32, shape["heads"])),
        ("llama.attention.head_count_kv", (GGUF_U32, shape["kv_heads"])),
        ("llama.rope.freq_base", (GGUF_F32, shape["theta"])),
        ("llama.attention.layer_norm_rms_epsilon", (GGUF_F32, EPS)),
        ("llama.attention.key_length", (GGUF_U32, hd)),
        ("llama.attention.value_length", (GGUF_U32, hd)),
        ("general.file_type", (GGUF_U32, file_type)),
        ("llama.vocab_size", (GGUF_U32, shape["vocab"])),
        ("llama.rope.dimension_count", (GGUF_U32, hd)),
    ]


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    manifest = []
    for index, shape in enumerate(SHAPES):
        exact = make_hf_weights(shape, seed=1000 + index)
        tokens = torch.randint(0, shape["vocab"], (SEQ_LEN,), generator=torch.Generator().manual_seed(7 + index)).tolist()
        for dtype_name, (torch_dtype, ggml_type, file_type) in DTYPES.items():
            w = round_weights(exact, torch_dtype)
            logits = reference_logits(shape, w, tokens)
            base = f"{shape['name']}_{dtype_name}"
            write_gguf(os.path.join(out_dir, base + ".gguf"), metadata_for(shape, file_type),
                       gguf_tensors(shape, w, torch_dtype, ggml_type))
            logits.to(torch.float32).numpy().astype("<f4").tofile(os.path.join(out_dir, base + ".logits.f32"))
            kv16 = reference_logits(shape, w, tokens, kv_dtype=torch.float16)
            kv16.to(torch.float32).numpy().astype("<f4").tofile(os.path.join(out_dir, base + ".kvf16.logits.f32"))
            manifest.append(dict(name=base, shape=shape["name"], dtype=dtype_name, gguf=base + ".gguf",
                                 logits=base + ".logits.f32",
                                 logits_kv_f16=base + ".kvf16.logits.f32", vocab=shape["vocab"], tokens=tokens,
                                 dim=shape["dim"], ffn=shape["ffn"], layers=shape["layers"]))
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
