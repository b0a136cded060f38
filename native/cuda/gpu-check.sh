#!/usr/bin/env bash
# gpu-check.sh: the CUDA step on a machine with a GPU, in one go, no Java or Maven needed (CMake, nvcc, ctest,
# compute-sanitizer). Sized to finish well inside 10 minutes on one H200 with 16 cores:
#   1. build the native tree (CPU core, CUDA core, tests, bench; --arch 90-real: sm_90 only)           ~1 min
#   2. ctest: every C test, test_cuda's full matrix against the CPU step among them                   ~1-3 min
#   3. compute-sanitizer memcheck, racecheck and synccheck on test_cuda quick                            ~1-2 min
#   4. bench_cuda: batch-1 latency per sample for S and M, certain and uncertain, and batch-64
#      throughput, IMPLICIT and SHADOW, next to the CPU step's times                                    ~1 min
# Everything is logged to $OUT/gpu-check.log (the bench's table also to $OUT/bench.txt); the last lines printed are
# a summary. Exit status: 0 when every step passed, 77 when no CUDA device can be used (after building and running
# the tests that need none: what a machine without a GPU can check), 1 otherwise.
#
# usage: OUT=/some/dir native/cuda/gpu-check.sh [--arch 90-real] [--skip-sanitizer] [--iterations N]
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${OUT:-$ROOT/target/gpu-check}
BUILD=${BUILD:-$ROOT/target/native-gpu}
ARCH=""              # e.g. 90-real: build for that architecture only (faster); default: the project's set
SANITIZER=1
ITERATIONS=2000
while [ $# -gt 0 ]; do
    case "$1" in
        --arch) ARCH=$2; shift 2 ;;
        --skip-sanitizer) SANITIZER=0; shift ;;
        --iterations) ITERATIONS=$2; shift 2 ;;
        *) echo "usage: $0 [--arch 90-real] [--skip-sanitizer] [--iterations N]"; exit 2 ;;
    esac
done
mkdir -p "$OUT"
LOG=$OUT/gpu-check.log
: > "$LOG"
exec > >(tee -a "$LOG") 2>&1

SUMMARY=()
FAILED=0
START=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - START )) s)"; }
passed() { SUMMARY+=("PASS  $*"); }
failed() { SUMMARY+=("FAIL  $*"); FAILED=1; }
finish() {
    echo
    echo "== summary ($(( $(date +%s) - START )) s; log: $LOG)"
    printf '%s\n' "${SUMMARY[@]}"
    exit "$1"
}

step "machine"
uname -a
nproc
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem \
    --format=csv || echo "no nvidia-smi"
NVCC=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
"$NVCC" --version | tail -2 || { failed "nvcc not found ($NVCC)"; finish 1; }
cmake --version | head -1

step "1. build ($BUILD)"
GENERATOR=()
command -v ninja > /dev/null && GENERATOR=(-G Ninja)
ARCH_FLAG=()
[ -n "$ARCH" ] && ARCH_FLAG=(-DREFOCUS_CUDA_ARCHITECTURES="$ARCH")
if cmake -S "$ROOT/native" -B "$BUILD" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release -DREFOCUS_CUDA=ON \
        -DREFOCUS_CUDA_EMULATOR=OFF -DCMAKE_CUDA_COMPILER="$NVCC" "${ARCH_FLAG[@]}" \
    && cmake --build "$BUILD" --parallel "$(nproc)"; then
    passed "build"
else
    failed "build"
    finish 1
fi

step "2. ctest"
if ctest --test-dir "$BUILD" --output-on-failure --no-tests=error; then
    passed "ctest (every C test; test_cuda's matrix against the CPU step where a device is)"
else
    failed "ctest"
fi
PROBE=$("$BUILD/test/test_cuda_abi" | head -1)  # "refocus_cuda_device_count() = N: why"
DEVICES=$(echo "$PROBE" | sed -n 's/^refocus_cuda_device_count() = \(-\{0,1\}[0-9]*\).*/\1/p')
echo "$PROBE"
if [ -z "$DEVICES" ] || [ "$DEVICES" -le 0 ]; then
    SUMMARY+=("SKIP  no usable CUDA device (test_cuda skipped; sanitizer and timing not run): ${PROBE#*: }")
    finish 77
fi
if ctest --test-dir "$BUILD" -R '^cuda$' 2>&1 | grep -q "Skipped"; then
    failed "test_cuda skipped although the runtime sees $DEVICES device(s)"
fi

step "3. compute-sanitizer"
if [ "$SANITIZER" = 1 ] && command -v compute-sanitizer > /dev/null; then
    for tool in memcheck racecheck synccheck; do
        echo "-- $tool"
        if timeout 300 compute-sanitizer --tool "$tool" --error-exitcode 1 --print-limit 20 \
                "$BUILD/test/test_cuda" quick > "$OUT/sanitizer-$tool.log" 2>&1; then
            passed "compute-sanitizer $tool (test_cuda quick)"
        else
            failed "compute-sanitizer $tool (test_cuda quick): see $OUT/sanitizer-$tool.log"
        fi
        tail -3 "$OUT/sanitizer-$tool.log"
    done
else
    SUMMARY+=("SKIP  compute-sanitizer (not found, or --skip-sanitizer)")
fi

step "4. bench"
if timeout 300 "$BUILD/test/bench_cuda" "$ITERATIONS" | tee "$OUT/bench.txt"; then
    passed "bench (table in $OUT/bench.txt)"
else
    failed "bench"
fi

finish "$FAILED"
