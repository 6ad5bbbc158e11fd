#!/usr/bin/python3
"""Independent perplexity of an F32 Llama GGUF on given token ids, in PyTorch float64, scored the way
llama.cpp's `perplexity` scores: non-overlapping windows of CTX tokens, the first token of each
window replaced by BOS (when BOS >= 0), and the log-likelihood of the predictions made from positions
CTX/2 .. CTX-2 of each window (the second half, each predicting the next token of the window).

usage: perplexity_reference.py MODEL.gguf TOKENS.json CTX BOS
Prints {"ppl", "nll", "tokens_scored", "chunks"}.

The file is read with the independent GGUF parser (gguf_reader.py); the forward pass is
llama_reference.py's HF-style one (rotate-half RoPE on rows un-permuted from llama.cpp's order) with
the rotary frequencies divided by the file's rope_freqs factors, as llama.cpp applies them.
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_reader  # noqa: E402
from llama_reference import repeat_kv, rotate_half  # noqa: E402


def unpermute(w, n_head):
    """Inverse of convert_hf_to_gguf.py's LlamaModel.permute (GGUF row order -> HF row order)."""
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def load(path):
    info = gguf_reader.read(path)
    meta = {m["key"]: m["value"]["v"] for m in info["metadata"]}
    with open(path, "rb") as f:
        data = f.read()
    tensors = {}
    for t in info["tensors"]:
        if t["type"] != "f32":
            raise SystemExit(f"{t['name']}: only F32 files are supported, got {t['type']}")
        shape = list(reversed(t["ne"]))
        arr = np.frombuffer(data, dtype="<f4", count=t["nbytes"] // 4, offset=t["abs_offset"]).reshape(shape)
        tensors[t["name"]] = torch.from_numpy(arr.astype(np.float64))
    return meta, tensors


def logits_of(meta, w, tokens):
    dim, layers = meta["llama.embedding_length"], meta["llama.block_count"]
    nh, nkv = meta["llama.attention.head_count"], meta["llama.attention.head_count_kv"]
    eps, theta = meta["llama.attention.layer_norm_rms_epsilon"], meta["llama.rope.freq_base"]
    hd = dim // nh
    seq = len(tokens)

    def norm(x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight

    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    if "rope_freqs.weight" in w:
        inv_freq = inv_freq / w["rope_freqs.weight"]
    freqs = torch.outer(torch.arange(seq, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    mask = torch.full((seq, seq), float("-inf"), dtype=torch.float64).triu(1)

    x = w["token_embd.weight"][torch.tensor(tokens)][None]
    for i in range(layers):
        b = f"blk.{i}."
        h = norm(x, w[b + "attn_norm.weight"])
        q = (h @ unpermute(w[b + "attn_q.weight"], nh).T).view(1, seq, nh, hd).transpose(1, 2)
        k = (h @ unpermute(w[b + "attn_k.weight"], nkv).T).view(1, seq, nkv, hd).transpose(1, 2)
        v = (h @ w[b + "attn_v.weight"].T).view(1, seq, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k, v = repeat_kv(k, nh // nkv), repeat_kv(v, nh // nkv)
        att = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(hd) + mask, dim=-1) @ v
        x = x + att.transpose(1, 2).reshape(1, seq, nh * hd) @ w[b + "attn_output.weight"].T
        h = norm(x, w[b + "ffn_norm.weight"])
        gate, up = h @ w[b + "ffn_gate.weight"].T, h @ w[b + "ffn_up.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ w[b + "ffn_down.weight"].T
    x = norm(x, w["output_norm.weight"])
    out = w.get("output.weight", w["token_embd.weight"])
    return (x @ out.T)[0]


def main():
    path, tokens_path, ctx, bos = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(1)
    meta, w = load(path)
    with open(tokens_path) as f:
        tokens = json.load(f)
    chunks = len(tokens) // ctx
    nll, count = 0.0, 0
    for c in range(chunks):
        window = list(tokens[c * ctx:(c + 1) * ctx])
        if bos >= 0:
            window[0] = bos
        logp = torch.log_softmax(logits_of(meta, w, window), dim=-1)
        for j in range(ctx // 2, ctx - 1):
            nll -= logp[j, window[j + 1]].item()
            count += 1
    print(json.dumps({"ppl": math.exp(nll / count), "nll": nll / count, "tokens_scored": count, "chunks": chunks}))


if __name__ == "__main__":
    main()
