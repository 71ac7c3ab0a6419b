#!/usr/bin/env bash
# The GPU check: on a machine with a GPU (and maybe no Swift toolchain), from the repository
# root with the self-contained build in .gpu/ (made on the build machine by a static-Swift
# release build plus the OpenCL ICD loader, with .gpu/env.sh to find the vendor's driver), runs
#   1. gputrain selfcheck --full   every kernel family and variant against the reference device
#   2. gputrain bench kernels      matmul, cross-entropy, norms, attention, AdamW, copy
#   3. gputrain bench train        each preset
#   4. the same in PyTorch on that GPU, where torch (and transformers) are installed: matmul
#      through cuBLAS and the train step in eager mode
# and writes the results (JSON lines) to the folder given (default Benchmarks/results/gpu-check)
# and the figures, with the device named, into BENCHMARKS.md's "GPU check" section
# (Benchmarks/gpu_report.py). About 5–8 minutes; each part has its own time limit.
#   bash scripts/gpu-check.sh [output folder]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-Benchmarks/results/gpu-check}
mkdir -p "$out"
if [ -f .gpu/env.sh ]; then
    # shellcheck disable=SC1091
    source .gpu/env.sh || exit 1
    gputrain=.gpu/gputrain
else
    gputrain=.build/release/gputrain
fi
[ -x "$gputrain" ] || { echo "no gputrain binary: carry .gpu/ or build in release" >&2; exit 1; }
export XDG_CACHE_HOME="$PWD/$out/cache"
"$gputrain" devices | tee "$out/devices.txt"
status=0
timeout 180 "$gputrain" selfcheck --full --json > "$out/selfcheck.json" || status=1
timeout 240 "$gputrain" bench kernels --json --no-clblast > "$out/kernels.jsonl" || status=1
: > "$out/train.jsonl"
for preset in small llama-small gpt2-124M; do
    timeout 120 "$gputrain" bench train --preset "$preset" --steps 10 --json 2>/dev/null | tail -1 >> "$out/train.jsonl" \
        || status=1
done
if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    timeout 120 python3 Benchmarks/pytorch/matmul_bench.py --device cuda > "$out/torch-matmul.jsonl" || status=1
    if python3 -c "import transformers" 2>/dev/null; then
        timeout 180 python3 Benchmarks/pytorch/train_bench.py --device cuda --steps 10 > "$out/torch-train.jsonl" \
            || status=1
    fi
else
    echo "PyTorch with CUDA not found: the PyTorch side is left out" >&2
fi
python3 Benchmarks/gpu_report.py "$out" BENCHMARKS.md || status=1
cp BENCHMARKS.md "$out/"
exit $status
