#!/bin/bash
# sweep.sh [lab options]: every shape and op of `gputrain bench kernels` through the lab (2 threads),
# one line each: kernel vs OpenBLAS GFLOP/s, best and median of alternating runs.
cd "$(dirname "$0")"
for shape in "512 768 2304" "512 768 768" "512 768 3072" "512 3072 768" "512 768 8192" "1024 1024 1024" "2048 2048 2048"; do
  for op in fwd dX dW; do
    ./lab "$@" $shape $op 2>&1 | head -1 |
      sed -E 's/kernel best ([0-9.]+) median ([0-9.]+) \| openblas best ([0-9.]+) median ([0-9.]+) GFLOP\/s \| ratio best ([0-9.]+) median ([0-9.]+)/best \1 vs \3 (\5)  median \2 vs \4 (\6)/'
  done
done
