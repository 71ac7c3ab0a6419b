#!/bin/bash
# The matmul comparison of BENCHMARKS.md: `gputrain bench kernels --json --only matmul` (release
# build) and the OpenBLAS harness back to back, for several rounds (in turn first). The machine is
# shared, so each run waits until the CPUs have been idle for a few seconds; the table shows, per
# shape and op, the best round of each side (its least disturbed median) and the median over the
# rounds. CLBlast (slow through PoCL: a run with it takes minutes) is timed in one extra run.
# Results are kept in Benchmarks/results/. Usage (from anywhere):
#   Benchmarks/run_matmul_comparison.sh [rounds] [repeats]   (defaults 5 and 5)
set -euo pipefail
rounds=${1:-5}
repeats=${2:-5}
cd "$(dirname "$0")/.."
results=Benchmarks/results
mkdir -p $results
rm -f $results/gputrain-*.jsonl $results/openblas-*.jsonl $results/clblast.jsonl
swift build -c release --product gputrain >&2
make -s -C Benchmarks/openblas sgemm_bench >&2

# Percentage of CPU time idle over the next 3 seconds.
idle() {
  local a b
  read -r -a a < /proc/stat; sleep 3; read -r -a b < /proc/stat
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  echo $(( 100 * (b[4] + b[5] - a[4] - a[5]) / (total > 0 ? total : 1) ))
}
wait_for_idle() {
  local waited=0
  until [ "$(idle)" -ge 90 ] || [ $waited -ge 600 ]; do waited=$((waited + 3)); done
}

run_gputrain() {
  wait_for_idle
  .build/release/gputrain bench kernels --json --only matmul --no-clblast --repeat "$repeats" \
    > "$results/gputrain-$1.jsonl" 2> /dev/null
}
run_openblas() {
  wait_for_idle
  OPENBLAS_NUM_THREADS=2 Benchmarks/openblas/sgemm_bench "$repeats" 2 > "$results/openblas-$1.jsonl"
}
for round in $(seq "$rounds"); do
  echo "round $round: $(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  if [ $((round % 2)) -eq 1 ]; then run_gputrain "$round"; run_openblas "$round"
  else run_openblas "$round"; run_gputrain "$round"; fi
done
wait_for_idle
echo "CLBlast: $(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
.build/release/gputrain bench kernels --json --only matmul --repeat "$repeats" > "$results/clblast.jsonl" 2> /dev/null
echo "done: $(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 Benchmarks/compare_matmul.py $results/gputrain-*.jsonl -- $results/openblas-*.jsonl -- $results/clblast.jsonl
