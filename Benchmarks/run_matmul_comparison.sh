#!/bin/bash
# Runs `gputrain bench kernels --json` (release build) and the OpenBLAS harness back to back and
# prints the matmul table of BENCHMARKS.md. Results are kept in Benchmarks/results/.
# Usage: Benchmarks/run_matmul_comparison.sh [repeats]   (from the repository root)
set -euo pipefail
repeats=${1:-5}
cd "$(dirname "$0")/.."
mkdir -p Benchmarks/results
swift build -c release --product gputrain >&2
make -s -C Benchmarks/openblas sgemm_bench >&2
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
.build/release/gputrain bench kernels --json --repeat "$repeats" > Benchmarks/results/gputrain.jsonl
OPENBLAS_NUM_THREADS=2 Benchmarks/openblas/sgemm_bench "$repeats" 2 > Benchmarks/results/openblas.jsonl
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 Benchmarks/compare_matmul.py Benchmarks/results/gputrain.jsonl Benchmarks/results/openblas.jsonl
