"""An independent Llama in PyTorch, written the Hugging Face way (rotate-half RoPE on HF-ordered
Q/K rows, repeat_kv for GQA, explicit causal softmax attention), used as the reference for flame's
training step (tests/reference/train_reference.py) and as the PyTorch baseline of the training
benchmark (bench/pytorch_train_bench.py).

Weights come in and go out in GGUF layout and names; Q/K rows are converted between llama.cpp's
permuted order and HF order with the same reshape llama.cpp's converter uses.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def permute_hf_to_gguf(w, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def permute_gguf_to_hf(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_inv_freq(inv_freq, factor, low_freq_factor, high_freq_factor, old_context_len):
    """transformers.modeling_rope_utils._compute_llama3_parameters."""
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium, smoothed, inv_freq_llama)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.h, self.kvh, self.hd = cfg["heads"], cfg["kv_heads"], cfg["dim"] // cfg["heads"]
        d = cfg["dim"]
        self.q_proj = nn.Linear(d, self.h * self.hd, bias=False)
        self.k_proj = nn.Linear(d, self.kvh * self.hd, bias=False)
        self.v_proj = nn.Linear(d, self.kvh * self.hd, bias=False)
        self.o_proj = nn.Linear(self.h * self.hd, d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kvh, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kvh, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.h // self.kvh
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd) + mask
        probs = F.softmax(scores, dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, self.h * self.hd)
        return self.o_proj(out)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.gate_proj = nn.Linear(cfg["dim"], cfg["ffn"], bias=False)
        self.up_proj = nn.Linear(cfg["dim"], cfg["ffn"], bias=False)
        self.down_proj = nn.Linear(cfg["ffn"], cfg["dim"], bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["dim"], cfg["norm_eps"])
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["dim"], cfg["norm_eps"])
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg["vocab"], cfg["dim"])
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg["layers"])])
        self.norm = RMSNorm(cfg["dim"], cfg["norm_eps"])
        self.lm_head = None if cfg["tied"] else nn.Linear(cfg["dim"], cfg["vocab"], bias=False)
        hd = cfg["dim"] // cfg["heads"]
        inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
        rs = cfg.get("rope_scaling")
        if rs:
            inv_freq = llama3_inv_freq(inv_freq, rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"],
                                       rs["original_context"])
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, ids, targets):
        B, T = ids.shape
        x = self.embed_tokens(ids)
        freqs = torch.outer(torch.arange(T, dtype=torch.float32), self.inv_freq.float())
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        mask = torch.full((T, T), float("-inf"), dtype=x.dtype).triu(1)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        x = self.norm(x)
        w = self.embed_tokens.weight if self.lm_head is None else self.lm_head.weight
        logits = x @ w.t()
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1))

    # GGUF name -> (parameter, Q/K head count to permute with, or 0)
    def gguf_params(self):
        out = {"token_embd.weight": (self.embed_tokens.weight, 0)}
        for i, l in enumerate(self.layers):
            p = f"blk.{i}."
            out[p + "attn_norm.weight"] = (l.input_layernorm.weight, 0)
            out[p + "attn_q.weight"] = (l.self_attn.q_proj.weight, self.cfg["heads"])
            out[p + "attn_k.weight"] = (l.self_attn.k_proj.weight, self.cfg["kv_heads"])
            out[p + "attn_v.weight"] = (l.self_attn.v_proj.weight, 0)
            out[p + "attn_output.weight"] = (l.self_attn.o_proj.weight, 0)
            out[p + "ffn_norm.weight"] = (l.post_attention_layernorm.weight, 0)
            out[p + "ffn_gate.weight"] = (l.mlp.gate_proj.weight, 0)
            out[p + "ffn_up.weight"] = (l.mlp.up_proj.weight, 0)
            out[p + "ffn_down.weight"] = (l.mlp.down_proj.weight, 0)
        out["output_norm.weight"] = (self.norm.weight, 0)
        if self.lm_head is not None:
            out["output.weight"] = (self.lm_head.weight, 0)
        return out

    def load_gguf(self, tensors):
        """tensors: GGUF name -> tensor in GGUF layout."""
        with torch.no_grad():
            for name, (param, heads) in self.gguf_params().items():
                t = tensors[name]
                param.copy_(permute_gguf_to_hf(t, heads) if heads else t)

    def gguf_grads(self):
        return {name: (permute_hf_to_gguf(p.grad, h) if h else p.grad) for name, (p, h) in self.gguf_params().items()}
