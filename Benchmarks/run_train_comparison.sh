#!/bin/bash
# Times training steps with `gputrain bench train --json` (release build) and with PyTorch
# (Benchmarks/pytorch/train_bench.py) back to back, preset by preset, for `rounds` rounds, and
# writes one JSON line per run (with the load average before it) to Benchmarks/results/train.jsonl.
# Usage: Benchmarks/run_train_comparison.sh [steps] [rounds] [python]   (from the repository root)
set -euo pipefail
steps=${1:-10}
rounds=${2:-1}
python=${3:-python3}
cd "$(dirname "$0")/.."
mkdir -p Benchmarks/results
swift build -c release --product gputrain >&2
out=Benchmarks/results/train.jsonl
: > "$out"
for round in $(seq "$rounds"); do
    for preset in small llama-small gpt2-124M; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        line=$(.build/release/gputrain bench train --preset "$preset" --steps "$steps" --json 2>/dev/null | tail -1)
        echo "{\"round\": $round, \"framework\": \"gputrain\", \"load\": $load, \"result\": $line}" | tee -a "$out"
        load=$(cut -d' ' -f1 /proc/loadavg)
        line=$("$python" Benchmarks/pytorch/train_bench.py --preset "$preset" --steps "$steps" --threads 2 2>/dev/null | tail -1)
        echo "{\"round\": $round, \"framework\": \"pytorch\", \"load\": $load, \"result\": $line}" | tee -a "$out"
    done
done
