"""Writes golden training data for tests/reference/train_reference_test.cpp.

Usage: train_reference.py --config JSON --out DIR

Creates random initial weights (GGUF layout and names) and token batches, then with the
independent PyTorch Llama (llama_torch.py):
  grads.bin/json: loss and every parameter's gradient on batch 0 (float64 forward/backward),
  result.json:    the loss before each of `steps` AdamW updates (float32, torch.optim.AdamW,
                  clip_grad_norm_, weight decay on 2-D tensors only, warmup + cosine schedule).
Tensor files: raw little-endian float32 concatenated, index JSON [{name, offset (floats), shape}].
"""
import argparse
import json
import math
import os

import numpy as np
import torch

from llama_torch import Llama


def write_tensors(path, tensors):
    index, offset = [], 0
    with open(path + ".bin", "wb") as f:
        for name, t in tensors.items():
            a = t.detach().to(torch.float32).contiguous().numpy()
            f.write(a.astype("<f4").tobytes())
            index.append({"name": name, "offset": offset, "shape": list(a.shape)})
            offset += a.size
    with open(path + ".json", "w") as f:
        json.dump(index, f)


def lr_at(step, s):
    """Warmup then cosine, the schedule flame's LrSchedule documents."""
    if step < s["warmup"]:
        return s["max_lr"] * (step + 1) / s["warmup"]
    p = min(max((step - s["warmup"]) / max(1, s["total"] - s["warmup"]), 0.0), 1.0)
    return s["min_lr"] + (s["max_lr"] - s["min_lr"]) * 0.5 * (1 + math.cos(math.pi * p))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    cfg = json.loads(args.config)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(cfg["seed"])

    # Initial weights in GGUF layout.
    V, D, Fd, hd = cfg["vocab"], cfg["dim"], cfg["ffn"], cfg["dim"] // cfg["heads"]
    init_std = cfg["init_std"]

    def rnd(*shape, std=init_std):
        return torch.randn(*shape, generator=g) * std

    weights = {"token_embd.weight": rnd(V, D)}
    for i in range(cfg["layers"]):
        p = f"blk.{i}."
        weights[p + "attn_norm.weight"] = 1 + rnd(D, std=0.1)
        weights[p + "attn_q.weight"] = rnd(cfg["heads"] * hd, D)
        weights[p + "attn_k.weight"] = rnd(cfg["kv_heads"] * hd, D)
        weights[p + "attn_v.weight"] = rnd(cfg["kv_heads"] * hd, D)
        weights[p + "attn_output.weight"] = rnd(D, cfg["heads"] * hd)
        weights[p + "ffn_norm.weight"] = 1 + rnd(D, std=0.1)
        weights[p + "ffn_gate.weight"] = rnd(Fd, D)
        weights[p + "ffn_up.weight"] = rnd(Fd, D)
        weights[p + "ffn_down.weight"] = rnd(D, Fd)
    weights["output_norm.weight"] = 1 + rnd(D, std=0.1)
    if not cfg["tied"]:
        weights["output.weight"] = rnd(V, D)
    write_tensors(os.path.join(args.out, "weights"), weights)

    B, T, nb = cfg["batch"], cfg["seq"], cfg["batches"]
    tokens = torch.randint(0, V, (nb, B, T + 1), generator=g)
    tokens.numpy().astype("<u4").tofile(os.path.join(args.out, "tokens.bin"))

    # Loss and gradients at the initial weights, batch 0, in float64.
    model = Llama(cfg).double()
    model.load_gguf({k: v.double() for k, v in weights.items()})
    loss = model(tokens[0, :, :-1], tokens[0, :, 1:])
    loss.backward()
    write_tensors(os.path.join(args.out, "grads"), model.gguf_grads())

    # Training curve in float32.
    model = Llama(cfg)
    model.load_gguf(weights)
    params = model.gguf_params()
    decay = [p for p, _ in params.values() if p.dim() == 2]
    no_decay = [p for p, _ in params.values() if p.dim() != 2]
    o = cfg["adam"]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": o["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=cfg["schedule"]["max_lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"])
    losses, norms = [], []
    for step in range(cfg["steps"]):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg["schedule"])
        opt.zero_grad()
        batch = tokens[step % nb]
        l = model(batch[:, :-1], batch[:, 1:])
        l.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_([p for p, _ in params.values()], o["grad_clip"])))
        opt.step()
        losses.append(float(l))
    with open(os.path.join(args.out, "result.json"), "w") as f:
        json.dump({"loss": float(loss), "losses": losses, "grad_norms": norms}, f)


if __name__ == "__main__":
    main()
