#!/usr/bin/env bash
# flame vs PyTorch training throughput, interleaved in one session so both see the same load.
# Usage: bench/compare_train.sh [BUILD_DIR] [REPEATS] [CONFIGS]  -> one line per run, then medians.
# Each line also carries tokens per CPU-second (flame: its main thread; PyTorch: the whole process).
# For flame at 1 thread that is a speed figure a shared, oversubscribed machine barely disturbs (use
# it for flame before/after). PyTorch's process CPU time also counts its helper threads (it came out
# 2.8x apart between two repeats of A), so its figure understates PyTorch: not a fair ratio.
# Each flame run is its own process (max RSS via /usr/bin/time); PyTorch runs with
# OMP_WAIT_POLICY=PASSIVE (it slows badly under load otherwise).
set -euo pipefail
build=${1:-build}
repeats=${2:-3}
configs=${3:-"A B C"}
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
peak=$("$build/bin/flame_bench" --benchmark_filter=GemmPeak --benchmark_format=json 2>/dev/null |
  /usr/bin/python3 -c 'import json,sys; print(max(b["GFLOPs_best"] for b in json.load(sys.stdin)["benchmarks"]))')
echo "gemm_peak_gflops $peak"
for rep in $(seq "$repeats"); do
  for c in $configs; do
    for t in 1 2; do
      /usr/bin/time -f %M -o "$out/rss" env FLAME_BENCH_THREADS=$t FLAME_GEMM_PEAK_GFLOPS=$peak \
        "$build/bin/flame_bench" --benchmark_filter="TrainStep/$c" --benchmark_format=json >"$out/f.json" 2>/dev/null
      /usr/bin/python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"][0]; print("flame", sys.argv[2], sys.argv[3], round(b["tokens_per_s"],1), round(b["MFU_pct"],1), round(int(open(sys.argv[4]).read())/1024,1), round(b["tokens_per_s"]*b["real_time"]/b["cpu_time"],1))' "$out/f.json" "$c" "$t" "$out/rss"
      OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$src/bench/pytorch_train_bench.py" --config "$c" --threads $t --steps 3 --peak "$peak" |
        /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print("torch", r["config"], r["threads"], round(r["tokens_per_s"],1), round(r["mfu_pct"],1), round(r["max_rss_mib"],1), round(r["tokens_per_cpu_s"],1))'
    done
  done
done | tee "$out/runs.txt"
echo "# impl config threads tokens/s MFU% maxRSS_MiB tokens_per_CPU_s -- medians over $repeats repeats"
/usr/bin/python3 - "$out/runs.txt" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    impl, c, t, tps, mfu, rss, cpu = line.split()
    runs[(c, impl, t)].append((float(tps), float(mfu), float(rss), float(cpu)))
for c in sorted({k[0] for k in runs}):
    best, cpu1 = {}, {}
    for impl in ("flame", "torch"):
        for t in ("1", "2"):
            r = runs.get((c, impl, t))
            if not r: continue
            med = [statistics.median(x[i] for x in r) for i in range(4)]
            print(f"{impl} {c} t={t} tokens/s {med[0]:.0f} MFU {med[1]:.1f}% maxRSS {med[2]:.0f} MiB")
            best[impl] = max(best.get(impl, 0), med[0])
            if t == "1": cpu1[impl] = med[3]
    if "flame" in best and "torch" in best:
        print(f"ratio {c} (best of 1 and 2 threads) flame/torch = {best['flame'] / best['torch']:.2f}")
    if "flame" in cpu1 and "torch" in cpu1:
        # 1 thread, tokens per CPU-second. flame's is load-independent; PyTorch's process time includes
        # helper threads, so this ratio overstates flame (see the header).
        print(f"1 thread, tokens per CPU-second {c}: flame {cpu1['flame']:.0f}, torch (process) {cpu1['torch']:.0f}")
PY
