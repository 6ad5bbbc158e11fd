#!/bin/bash
# The inference summary of docs/benchmarks.md: pp512 and tg32 on the Llama 3.2 1B shape, 2 threads.
# Usage: bench/inference_summary.sh [BUILD_DIR] [MODELS_DIR]
# MODELS_DIR holds llama3.2-1b-random-f16.gguf and its quantizations, made with
#   flame synth --shape llama3.2-1b --type f16 --seed 1 -o DIR/llama3.2-1b-random-f16.gguf
#   flame quantize DIR/llama3.2-1b-random-f16.gguf DIR/llama1b-q8_0.gguf Q8_0   # also q4_0, q4_k_m
set -euo pipefail
build=${1:-build}
models=${2:-/work/models}
flame="$build/bin/flame"
for m in llama3.2-1b-random-f16 llama1b-q8_0 llama1b-q4_0 llama1b-q4_k_m; do
  echo "=== $m pp512 $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
  "$flame" bench -m "$models/$m.gguf" -p 512 -n 0 -r 3 -t 2 2>/dev/null
  echo "=== $m tg32 $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
  "$flame" bench -m "$models/$m.gguf" -p 0 -n 32 -r 3 -t 2 --membw-mib 4096 2>/dev/null
done
