#!/usr/bin/python3
"""Independent check of `flame train --dump-grads` and `init_from` (HF names, HF Q/K order).

  hf_grads_reference.py init  DIR DIM LAYERS HEADS KV_HEADS FFN VOCAB TIED   # DIR/init.safetensors
  hf_grads_reference.py check DIR                                            # compares DIR/grads.safetensors

A plain PyTorch Llama written from the Hugging Face definition (rotate-half RoPE, repeat_kv GQA,
RMSNorm, SwiGLU), in float64, on the batch flame records in the dump's metadata. Prints one JSON
object: loss from both sides and every tensor's max-abs error over max-abs. Exit 1 on mismatch.
"""
import json
import struct
import sys

import numpy as np
import torch


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        assert h["dtype"] == "F32", (name, h["dtype"])
        b, e = h["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + b:8 + n + e], dtype="<f4").reshape(h["shape"])
    return out, meta


def init(d, dim, layers, heads, kv, ffn, vocab, tied):
    rng = np.random.default_rng(1234)
    hd = dim // heads
    t = {"model.embed_tokens.weight": rng.normal(0, 0.5, (vocab, dim)), "model.norm.weight": 1 + 0.1 * rng.normal(size=dim)}
    if not tied:
        t["lm_head.weight"] = rng.normal(0, 0.2, (vocab, dim))
    for i in range(layers):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = 1 + 0.1 * rng.normal(size=dim)
        t[p + "post_attention_layernorm.weight"] = 1 + 0.1 * rng.normal(size=dim)
        t[p + "self_attn.q_proj.weight"] = rng.normal(0, 0.3, (heads * hd, dim))
        t[p + "self_attn.k_proj.weight"] = rng.normal(0, 0.3, (kv * hd, dim))
        t[p + "self_attn.v_proj.weight"] = rng.normal(0, 0.3, (kv * hd, dim))
        t[p + "self_attn.o_proj.weight"] = rng.normal(0, 0.3, (dim, heads * hd))
        t[p + "mlp.gate_proj.weight"] = rng.normal(0, 0.3, (ffn, dim))
        t[p + "mlp.up_proj.weight"] = rng.normal(0, 0.3, (ffn, dim))
        t[p + "mlp.down_proj.weight"] = rng.normal(0, 0.3, (dim, ffn))
    write_safetensors(f"{d}/init.safetensors", {k: v.astype(np.float32) for k, v in t.items()})


def rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward_loss(p, cfg, inputs, targets):
    B, T = inputs.shape
    dim, heads, kv, eps, theta = cfg["dim"], cfg["heads"], cfg["kv"], cfg["eps"], cfg["theta"]
    hd = dim // heads
    x = p["model.embed_tokens.weight"][inputs]
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for i in range(cfg["layers"]):
        L = lambda n: p[f"model.layers.{i}.{n}"]
        h = rms(x, L("input_layernorm.weight"), eps)
        q = (h @ L("self_attn.q_proj.weight").T).view(B, T, heads, hd).transpose(1, 2)
        k = (h @ L("self_attn.k_proj.weight").T).view(B, T, kv, hd).transpose(1, 2)
        v = (h @ L("self_attn.v_proj.weight").T).view(B, T, kv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv, dim=1)
        v = v.repeat_interleave(heads // kv, dim=1)
        att = torch.softmax(q @ k.transpose(-1, -2) / hd ** 0.5 + mask, dim=-1)
        o = (att @ v).transpose(1, 2).reshape(B, T, dim)
        x = x + o @ L("self_attn.o_proj.weight").T
        h = rms(x, L("post_attention_layernorm.weight"), eps)
        g = torch.nn.functional.silu(h @ L("mlp.gate_proj.weight").T) * (h @ L("mlp.up_proj.weight").T)
        x = x + g @ L("mlp.down_proj.weight").T
    x = rms(x, p["model.norm.weight"], eps)
    out = p.get("lm_head.weight", p["model.embed_tokens.weight"])
    logits = x @ out.T
    return torch.nn.functional.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1))


def check(d):
    weights, _ = read_safetensors(f"{d}/init.safetensors")
    grads, meta = read_safetensors(f"{d}/grads.safetensors")
    cfg = json.loads(meta["flame.config"])
    inputs = torch.tensor(json.loads(meta["flame.inputs"]))
    targets = torch.tensor(json.loads(meta["flame.targets"]))
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in weights.items()}
    loss = forward_loss(p, cfg, inputs, targets)
    loss.backward()
    report = {"loss_torch": loss.item(), "loss_flame": float(meta["flame.loss"]), "tensors": {}}
    ok = abs(report["loss_torch"] - report["loss_flame"]) <= 1e-5 * abs(report["loss_torch"])
    if set(grads) != set(p):
        report["name_mismatch"] = sorted(set(grads) ^ set(p))
        ok = False
    for name in sorted(set(grads) & set(p)):
        ref = p[name].grad.numpy()
        err = float(np.abs(grads[name] - ref).max() / max(np.abs(ref).max(), 1e-30))
        report["tensors"][name] = err
        ok = ok and err <= 1e-4
    report["ok"] = ok
    print(json.dumps(report))
    if not ok:
        print(json.dumps(report, indent=1), file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if sys.argv[1] == "init":
        d, *nums = sys.argv[2:]
        dim, layers, heads, kv, ffn, vocab, tied = map(int, nums)
        init(d, dim, layers, heads, kv, ffn, vocab, tied)
    else:
        check(sys.argv[2])
