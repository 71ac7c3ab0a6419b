#!/usr/bin/env bash
# Installs what gputrain needs on Debian/Ubuntu: the OpenCL ICD loader and headers, PoCL (the
# CPU OpenCL device used when there is no GPU), clinfo, and the optional CLBlast/OpenBLAS
# libraries that `gputrain bench kernels` compares against. Swift 6.1+ must already be installed.
set -euo pipefail
packages=(pocl-opencl-icd ocl-icd-opencl-dev opencl-headers clinfo libclblast-dev libopenblas-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
command -v swift >/dev/null || { echo "swift not found: install Swift 6.1 or newer (swift.org/install)" >&2; exit 1; }
