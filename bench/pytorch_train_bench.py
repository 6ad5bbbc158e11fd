"""PyTorch baseline for flame's training benchmark (bench/train_bench.cpp): the same configs A/B/C
at seq 256, one full step (zero_grad, forward, backward, AdamW) of the HF-style Llama in
tests/reference/llama_torch.py, fp32.

Usage: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/pytorch_train_bench.py --config A --threads 2
Prints one JSON line: config, threads, median step seconds, tokens/s, tokens per CPU-second of the
process (all threads; with 1 thread a load-independent speed figure on a shared machine), MFU (given
--peak GFLOP/s), max RSS of this process in MiB.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from llama_torch import Llama  # noqa: E402

CONFIGS = {
    "A": dict(dim=128, layers=4, heads=4, kv_heads=2, ffn=384, vocab=4096, batch=8),
    "B": dict(dim=256, layers=6, heads=8, kv_heads=4, ffn=768, vocab=8192, batch=8),
    "C": dict(dim=512, layers=8, heads=8, kv_heads=4, ffn=1536, vocab=8192, batch=4),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", choices=CONFIGS, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--peak", type=float, default=0.0, help="fp32 GEMM peak in GFLOP/s for MFU")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    c = dict(CONFIGS[args.config], tied=False, norm_eps=1e-5, rope_theta=10000.0)
    model = Llama(c)
    for p in model.parameters():
        if p.dim() == 2:
            torch.nn.init.normal_(p, std=0.02)
    params = list(model.parameters())
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() == 2], "weight_decay": 0.1},
                             {"params": [p for p in params if p.dim() != 2], "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
    B, T = c["batch"], args.seq
    ids = torch.randint(0, c["vocab"], (B, T))
    tgt = torch.randint(0, c["vocab"], (B, T))

    def step():
        opt.zero_grad(set_to_none=False)
        loss = model(ids, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    step()  # warm up
    times, cpu_times = [], []
    for _ in range(args.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    times.sort()
    cpu_times.sort()
    median = times[len(times) // 2]
    median_cpu = cpu_times[len(cpu_times) // 2]
    d, L, V, F, H, KVH = c["dim"], c["layers"], c["vocab"], c["ffn"], c["heads"], c["kv_heads"]
    hd = d // H
    n_matmul = L * (d * H * hd + 2 * d * KVH * hd + H * hd * d + 3 * d * F) + V * d
    flops_per_token = 6 * n_matmul + 12 * L * d * T
    tps = B * T / median
    print(json.dumps({"config": args.config, "threads": args.threads, "median_step_s": median, "tokens_per_s": tps,
                      "tokens_per_cpu_s": B * T / median_cpu,
                      "mfu_pct": 100 * tps * flops_per_token / (args.peak * 1e9) if args.peak else None,
                      "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
