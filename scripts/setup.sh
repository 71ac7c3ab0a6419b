#!/usr/bin/env bash
# Installs what gputrain needs on Debian/Ubuntu: the OpenCL ICD loader and headers, PoCL (the
# CPU OpenCL device used when there is no GPU), clinfo, and the optional CLBlast/OpenBLAS
# libraries that `gputrain bench kernels` compares against. Swift 6.1+ must already be installed.
#
# With --tests it also makes the project's Python environment .venv/ (reused when it is there)
# with the real clients the interop tests use: tokenizers, safetensors, gguf, numpy, torch,
# transformers, peft and llama-cpp-python (scripts/interop-requirements.txt), and selenium, with
# which the test of `gputrain label --web` drives Chromium through chromium-driver (both from apt).
# The first time this downloads a few GB of wheels and builds llama.cpp (about 15 minutes on two
# cores).
# --tests also installs the other two OpenCL implementations that scripts/test.sh runs the
# tests on: Oclgrind (apt), and Intel's OpenCL CPU runtime (intel-opencl-rt from PyPI, plus
# intel-cmplr-lib-rt, whose maths libraries it needs but does not depend on) in its own
# environment .opencl/intel/ (reused when it is there, about 850 MB). The runtime is not
# registered with the system: .opencl/vendors/intel-cpu.icd names it, for the ICD loader's
# OCL_ICD_VENDORS, and /etc/OpenCL/vendors is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
tests=false
for argument in "$@"; do
    case "$argument" in
        --tests) tests=true ;;
        *) echo "setup.sh: unknown option '$argument' (the only option is --tests)" >&2; exit 2 ;;
    esac
done
packages=(pocl-opencl-icd ocl-icd-opencl-dev opencl-headers clinfo libclblast-dev libopenblas-dev)
if $tests; then packages+=(python3 python3-venv cmake build-essential oclgrind chromium chromium-driver); fi
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
if $tests; then
    requirements=scripts/interop-requirements.txt
    stamp=.venv/requirements.txt
    if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
        python3 -m venv .venv
        .venv/bin/pip install -q --upgrade pip
        .venv/bin/pip install -q -r "$requirements"
        cp "$requirements" "$stamp"
    fi
fi
if $tests; then
    requirements=scripts/intel-opencl-requirements.txt
    stamp=.opencl/intel/requirements.txt
    if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
        rm -rf .opencl/intel
        python3 -m venv .opencl/intel
        .opencl/intel/bin/pip install -q -r "$requirements"
        cp "$requirements" "$stamp"
    fi
    # The .icd file holds the library's absolute path: written each time, for a moved checkout.
    library="$PWD/.opencl/intel/lib/libintelocl.so"
    if [ ! -f "$library" ]; then
        echo "setup.sh: no $library after installing $requirements" >&2
        exit 1
    fi
    mkdir -p .opencl/vendors
    echo "$library" >.opencl/vendors/intel-cpu.icd
fi
