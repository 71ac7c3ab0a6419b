#!/usr/bin/env bash
# The README's test command (after scripts/setup.sh --tests): the tests on three OpenCL
# implementations, each a check the others miss.
#
#   1. PoCL: `swift test`, the whole suite on the default OpenCL device (PoCL's CPU device
#      when there is no GPU).
#   2. Intel's OpenCL CPU runtime (.opencl/intel/, registered only for these runs through the
#      ICD loader's OCL_ICD_VENDORS, so that it is the one device the tests see): the whole
#      suite again, less FuzzSmokeTests, which feed the file readers random bytes and never
#      open a device, so a second run would check nothing new.
#   3. Oclgrind, a simulator that checks every memory access of every work-item: the kernel
#      tests (KernelTests) with its data-race checker, at the reduced shapes of
#      GPUTRAIN_TEST_SHAPES=small (Tests/TestSupport/TestShapes.swift), which still cross every
#      tile and work-group boundary. Oclgrind reports itself as a GPU, so the GPU kernel
#      variants run there. It prints its reports (invalid reads and writes, data races,
#      work-group divergence, ...) to stderr and exits 0 anyway, so its stderr is kept (in
#      .build/oclgrind/) and any report fails the step. -cl-opt-disable: Oclgrind 21.10's
#      optimiser mis-compiles an int8 comparison in attention.cl.
#
# All three run even when one fails; the exit status is 1 if any failed, and the last lines
# name them. Environment as for `swift test` (GPUTRAIN_REQUIRE_INTEROP=1 makes a missing
# interop client a failure). Arguments pick steps: `bash scripts/test.sh intel oclgrind` runs
# those two (they use the test binary that `swift test` built); none, all three.
set -uo pipefail
cd "$(dirname "$0")/.."

steps=("$@")
((${#steps[@]})) || steps=(pocl intel oclgrind)
for s in "${steps[@]}"; do
    case "$s" in
        pocl | intel | oclgrind) ;;
        *) echo "test.sh: unknown step '$s' (the steps are pocl, intel and oclgrind)" >&2; exit 2 ;;
    esac
done
wanted() { [[ " ${steps[*]} " == *" $1 "* ]]; }

failed=()
step() {
    echo
    echo "=== $1"
}
finish() {
    local name=$1 status=$2 start=$3
    echo "=== $name: $([ "$status" -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s"
    [ "$status" -eq 0 ] || failed+=("$name")
}

# 1. PoCL (or whatever the default device is).
if wanted pocl; then
    step "swift test (default OpenCL device)"
    start=$SECONDS
    swift test
    finish "swift test (default OpenCL device)" $? "$start"
fi

# 2. Intel's OpenCL CPU runtime.
if wanted intel; then
    intel="Intel OpenCL CPU runtime"
    step "$intel: swift test --skip FuzzSmokeTests"
    start=$SECONDS
    status=0
    vendors="$PWD/.opencl/vendors"
    if [ ! -f "$vendors/intel-cpu.icd" ]; then
        echo "$vendors/intel-cpu.icd is missing: run bash scripts/setup.sh --tests" >&2
        status=1
    else
        # Exactly one platform, Intel's, with one device, a CPU.
        platforms=$(OCL_ICD_VENDORS="$vendors" clinfo --raw -l 2>&1)
        types=$(OCL_ICD_VENDORS="$vendors" clinfo --raw --prop CL_DEVICE_TYPE 2>&1)
        echo "$platforms"
        if [ "$(echo "$platforms" | head -1)" != "0: Intel(R) OpenCL" ] \
            || [ "$(echo "$platforms" | wc -l)" -ne 2 ] \
            || [ "$(echo "$types" | wc -l)" -ne 1 ] || [[ "$types" != *CL_DEVICE_TYPE_CPU ]]; then
            echo "expected one platform, Intel(R) OpenCL, with one CPU device; clinfo says:" >&2
            echo "$platforms" >&2
            echo "$types" >&2
            status=1
        else
            env -u GPUTRAIN_DEVICE OCL_ICD_VENDORS="$vendors" \
                swift test --skip-build --skip FuzzSmokeTests
            status=$?
        fi
    fi
    finish "$intel" $status "$start"
fi

# 3. Oclgrind.
if wanted oclgrind; then
    step "Oclgrind --data-races: KernelTests at GPUTRAIN_TEST_SHAPES=small"
    start=$SECONDS
    status=0
    tests="$(swift build --show-bin-path)/gputrainPackageTests.xctest"
    selected=$("$tests" --list-tests | grep '^KernelTests\.')
    # Oclgrind runs one work-item at a time (with --data-races): one process per core (at most
    # 4), each with every n-th test, its output shown when all have finished.
    shards=$(nproc)
    ((shards <= 4)) || shards=4
    logs=.build/oclgrind
    rm -rf "$logs"
    mkdir -p "$logs"
    if [ -z "$selected" ]; then
        echo "no KernelTests found in $tests" >&2
        status=1
    else
        echo "$(echo "$selected" | wc -l) tests in $shards processes; their output is in $logs/"
        for ((shard = 0; shard < shards; shard++)); do
            list=$(echo "$selected" | awk -v n="$shards" -v i="$shard" 'NR % n == i' | paste -sd, -)
            (
                env -u GPUTRAIN_DEVICE GPUTRAIN_TEST_SHAPES=small \
                    oclgrind --data-races --build-options -cl-opt-disable "$tests" "$list" \
                    >"$logs/$shard.out" 2>"$logs/$shard.err"
                echo $? >"$logs/$shard.status"
            ) &
        done
        wait
        for ((shard = 0; shard < shards; shard++)); do
            echo "--- Oclgrind process $((shard + 1)) of $shards"
            cat "$logs/$shard.out"
            cat "$logs/$shard.err" >&2
            [ "$(cat "$logs/$shard.status")" = 0 ] || status=1
        done
        # Every Oclgrind report begins with one of these lines (Oclgrind 21.10's MemCheck,
        # RaceDetector, WorkGroup and fatal-error messages); all of them are errors.
        reports='^(Invalid (read|write|memory|wait)|(Read-write|Write-write) data race'
        reports+='|Work-group divergence|Work-item finished without|Unaligned address'
        reports+='|OCLGRIND FATAL ERROR|Oclgrind: )'
        count=$(cat "$logs"/*.err | grep -cE "$reports")
        if [ "$count" -ne 0 ]; then
            echo "Oclgrind made $count reports (above, and in $logs/*.err):" >&2
            cat "$logs"/*.err | grep -E "$reports" | sed -E 's/ at .*//' | sort | uniq -c >&2
            status=1
        fi
    fi
    finish "Oclgrind" $status "$start"
fi

echo
if ((${#failed[@]})); then
    printf 'FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "All passed: ${steps[*]}"
