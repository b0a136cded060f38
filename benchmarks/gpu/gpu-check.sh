#!/usr/bin/env bash
# gpu-check.sh: the CUDA backend on a machine with a GPU, in one run of under 8 minutes (issue 10, item 4). That
# machine has nvcc, CMake, ninja, Python with PyTorch and compute-sanitizer, but no Java, no Maven and no network:
# the Java side travels as a runtime made here with jlink, with the jars, in target/gpu-carry (`prepare`).
#
# Two commands:
#
#   benchmarks/gpu/gpu-check.sh prepare         on a build machine (JDK 17, Maven, nvcc): builds the jars, the jlinked
#                                               runtime and target/gpu-carry/, checks that the carry and the working
#                                               tree fit in 64 MiB, and dry-runs everything that needs no GPU (the
#                                               Java main up to its "no CUDA device", the PyTorch baseline on the CPU
#                                               with tiny models, this script's logic with --no-gpu)
#
#   OUT=/dir benchmarks/gpu/gpu-check.sh        on the GPU machine, with target/gpu-carry carried; in this order:
#     1. build the native tree for sm_90 (the CUDA step and test_cuda)                                   ~1 min
#     2. test_cuda: the CUDA step against the CPU step, every method x mode x T x subset x candidates x
#        batch on 5 networks up to M, and samples from device memory                                     ~1-2 min
#     3. GpuCheck (Java, jlinked runtime): CudaPredictor against NativePredictor on random networks,
#        predictDevice; S, M, L at batch 1 (plain, certain, uncertain: median, p99) and batched
#        throughput at N = 1, 64, 1024                                                                    ~1 min
#     4. torch_baseline.py: PyTorch plain forward, the paper's clone-and-step and a functional no-clone
#        step per sample on the GPU; the copy bandwidth and fp32 rate                                     ~1 min
#     5. report.py: $OUT/table.md, ours beside PyTorch's, with the ratios of the issue's targets
#     6. compute-sanitizer memcheck and racecheck (then synccheck if time is left) on `test_cuda
#        sanitize`; their summaries are appended to table.md                                              ~2 min
#     7. bench_cuda (the C call's latency without Java), if time is left
#   Every step has a time limit taken from what is left of BUDGET (seconds, default 450), so one run ends in
#   time. Files in $OUT (at most 8): gpu-check.log, table.md, java-rows.tsv, torch-baseline.json,
#   sanitizer-{memcheck,racecheck,synccheck}.log, bench.txt. The summary is printed last.
#   Exit status: 0 when every step passed, 77 when there is no usable CUDA device, 1 otherwise.
#
# options: --no-gpu (the dry run: GPU steps skipped, the baseline on the CPU with tiny models), --skip-build
# (reuse $BUILD), --quick (fewer networks and calls).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CARRY=$ROOT/target/gpu-carry
MIB=$((1024 * 1024))

prepare() {
    set -e
    cd "$ROOT"
    echo "== prepare: jars (mvn package, tests skipped)"
    timeout 1500 mvn -B -q -pl benchmarks -am package -DskipTests -Dfuzz.skip
    rm -rf "$CARRY"
    mkdir -p "$CARRY/lib"
    local core
    core=$(ls "$ROOT"/target/refocus-*.jar | grep -v -e '-tests.jar$' -e '-sources.jar$' -e '-javadoc.jar$' | head -1)
    [ -f "$core" ] || { echo "no core jar in $ROOT/target"; exit 1; }
    unzip -l "$core" | grep -q 'linux-x86_64/libjnirefocus_cuda.so' \
        || { echo "$core holds no libjnirefocus_cuda.so: was nvcc found?"; exit 1; }
    cp "$core" "$CARRY/lib/"
    mvn -B -q -f core.pom.xml dependency:build-classpath -Dmdep.includeScope=runtime \
        -Dmdep.outputFile="$CARRY/core.classpath" > /dev/null
    tr ':' '\n' < "$CARRY/core.classpath" | grep -E 'javacpp-[0-9.]+(-linux-x86_64)?\.jar$' \
        | xargs -I{} cp {} "$CARRY/lib/"
    rm "$CARRY/core.classpath"
    # the check's own classes: GpuCheck and the benchmark models
    (cd benchmarks/target/classes && jar cf "$CARRY/lib/refocus-gpu-check.jar" dev/refocus/benchmarks/gpu \
        dev/refocus/benchmarks/BenchmarkModels.class)
    ls -l "$CARRY/lib"

    echo "== prepare: jlink"
    local modules
    modules=$(jdeps --print-module-deps --ignore-missing-deps --multi-release 17 "$CARRY"/lib/*.jar 2> /dev/null \
        | tail -1)
    echo "modules: $modules"
    jlink --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=2 \
        --output "$CARRY/jre"

    echo "== prepare: size"
    local carry_bytes tree_bytes
    carry_bytes=$(du -sb "$CARRY" | cut -f1)
    tree_bytes=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 du -cb 2>/dev/null \
        | tail -1 | cut -f1)
    printf 'carry %s: %.1f MiB (runtime %.1f MiB, jars %.1f MiB); working tree %.1f MiB; together %.1f of 64 MiB\n' \
        "$CARRY" "$(echo "$carry_bytes / $MIB" | bc -l)" "$(echo "$(du -sb "$CARRY/jre" | cut -f1) / $MIB" | bc -l)" \
        "$(echo "$(du -sb "$CARRY/lib" | cut -f1) / $MIB" | bc -l)" "$(echo "$tree_bytes / $MIB" | bc -l)" \
        "$(echo "($carry_bytes + $tree_bytes) / $MIB" | bc -l)"
    if [ $((carry_bytes + tree_bytes)) -gt $((60 * MIB)) ]; then
        echo "too large: the run tool carries 64 MiB in all (a margin of 4 MiB is kept)"
        exit 1
    fi

    echo "== prepare: dry run of the Java main (no GPU here: it must stop at a clean \"no CUDA device\")"
    set +e
    "$CARRY/jre/bin/java" -Dorg.bytedeco.javacpp.cachedir="$ROOT/target/gpu-check-javacpp" -cp "$CARRY/lib/*" \
        dev.refocus.benchmarks.gpu.GpuCheck --quick
    local rc=$?
    set -e
    [ "$rc" = 77 ] || { echo "expected exit status 77 (no CUDA device), got $rc"; exit 1; }
    echo "== prepare: dry run of the whole script (--no-gpu)"
    # 77: GpuCheck found no device, as it must here; anything else that failed is 1
    OUT=$ROOT/target/gpu-check-dry-run "$0" --no-gpu --quick || [ $? = 77 ]
    echo "== prepare: done. Carry target/gpu-carry; the run call is in native/cuda/NOTES.md."
}

if [ "${1:-}" = prepare ]; then
    prepare
    exit $?
fi

OUT=${OUT:-$ROOT/target/gpu-check}
BUILD=${BUILD:-$ROOT/target/native-gpu}
BUDGET=${BUDGET:-450}
GPU=1
BUILD_NATIVE=1
QUICK=()
while [ $# -gt 0 ]; do
    case "$1" in
        --no-gpu) GPU=0; shift ;;
        --skip-build) BUILD_NATIVE=0; shift ;;
        --quick) QUICK=(--quick); shift ;;
        *) echo "usage: $0 prepare | [--no-gpu] [--skip-build] [--quick]"; exit 2 ;;
    esac
done
mkdir -p "$OUT"
LOG=$OUT/gpu-check.log
: > "$LOG"
exec > >(tee -a "$LOG") 2>&1

SUMMARY=()
FAILED=0
NO_DEVICE=0
START=$(date +%s)
elapsed() { echo $(( $(date +%s) - START )); }
left() { echo $(( BUDGET - $(elapsed) )); }
# the time limit of a step: what it needs at most, or what is left of the budget
limit() { local l; l=$(left); [ "$l" -lt 1 ] && l=1; [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
step() { echo; echo "== $* ($(elapsed) s of $BUDGET)"; }
passed() { SUMMARY+=("PASS  $*"); }
failed() { SUMMARY+=("FAIL  $*"); FAILED=1; }
skipped() { SUMMARY+=("SKIP  $*"); }
# runs "$@" under a limit; 0 passed, 77 no device, 124 out of time, else failed
judge() {
    local what=$1 rc=$2
    case "$rc" in
        0) passed "$what" ;;
        77) skipped "$what: no usable CUDA device"; NO_DEVICE=1 ;;
        124) failed "$what: out of time" ;;
        *) failed "$what (exit status $rc)" ;;
    esac
}
finish() {
    echo
    echo "== summary ($(elapsed) s; log: $LOG)"
    printf '%s\n' "${SUMMARY[@]}"
    if [ "$FAILED" = 1 ]; then exit 1; fi
    if [ "$NO_DEVICE" = 1 ]; then exit 77; fi
    exit 0
}

step "0. machine"
uname -a
nproc
if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv
else
    echo "no nvidia-smi"
fi
NVCC=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
"$NVCC" --version | tail -2 || { failed "nvcc not found ($NVCC)"; finish; }
cmake --version | head -1
PYTHON=$(command -v python3)
# (from /: the repository's torch/ folder would pass for the package)
if ! (cd / && "$PYTHON" -c 'import torch' 2> /dev/null) && [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; fi
JAVA=$CARRY/jre/bin/java
[ -x "$JAVA" ] || JAVA=""
echo "python: $PYTHON; java: ${JAVA:-none (target/gpu-carry not carried?)}"

step "1. build ($BUILD)"
if [ "$BUILD_NATIVE" = 1 ]; then
    GENERATOR=()
    command -v ninja > /dev/null && GENERATOR=(-G Ninja)
    if timeout "$(limit 150)" cmake -S "$ROOT/native" -B "$BUILD" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release \
            -DREFOCUS_CUDA=ON -DREFOCUS_CUDA_EMULATOR=OFF -DCMAKE_CUDA_COMPILER="$NVCC" \
            -DREFOCUS_CUDA_ARCHITECTURES=90-real > "$OUT/cmake.txt" \
        && timeout "$(limit 150)" cmake --build "$BUILD" --parallel "$(nproc)" --target test_cuda test_cuda_abi \
            bench_cuda; then
        passed "build"
    else
        failed "build (cmake output: $OUT/cmake.txt)"
        finish
    fi
    rm -f "$OUT/cmake.txt"
else
    skipped "build (--skip-build: $BUILD as it is)"
fi
"$BUILD/test/test_cuda_abi" | head -1  # "refocus_cuda_device_count() = N: why"

step "2. test_cuda: the CUDA step against the CPU step"
if [ "$GPU" = 1 ]; then
    timeout "$(limit 150)" "$BUILD/test/test_cuda" "${QUICK[@]/--quick/quick}"
    rc=$?
    judge "test_cuda (full matrix against the CPU step, samples from device memory)" "$rc"
else
    skipped "test_cuda (--no-gpu)"
fi

step "3. GpuCheck (Java through the jlinked runtime)"
if [ -z "$JAVA" ]; then
    failed "GpuCheck: no Java runtime at $CARRY/jre (run \`gpu-check.sh prepare\` and carry target/gpu-carry)"
else
    timeout "$(limit 150)" "$JAVA" -Dorg.bytedeco.javacpp.cachedir=/tmp/refocus-javacpp -cp "$CARRY/lib/*" \
        dev.refocus.benchmarks.gpu.GpuCheck --out "$OUT/java-rows.tsv" "${QUICK[@]}"
    rc=$?
    judge "GpuCheck (CudaPredictor vs NativePredictor, predictDevice, S/M/L timings from Java)" "$rc"
fi

step "4. PyTorch baseline"
BASELINE=()
WHERE="GPU"
[ "$GPU" = 0 ] && BASELINE=(--device cpu --tiny) && WHERE="CPU, tiny models: a dry run"
PYTHONUNBUFFERED=1 timeout "$(limit 120)" "$PYTHON" "$ROOT/benchmarks/gpu/torch_baseline.py" "${BASELINE[@]}" \
    --out "$OUT/torch-baseline.json"
rc=$?
judge "PyTorch baseline ($WHERE)" "$rc"

step "5. report"
if "$PYTHON" "$ROOT/benchmarks/gpu/report.py" --java "$OUT/java-rows.tsv" --torch "$OUT/torch-baseline.json" \
        --out "$OUT/table.md" > /dev/null; then
    passed "report ($OUT/table.md)"
else
    failed "report"
fi

step "6. compute-sanitizer on test_cuda sanitize"
SANITIZED=()
if [ "$GPU" = 0 ]; then
    skipped "compute-sanitizer (--no-gpu)"
elif ! SANITIZER=$(command -v compute-sanitizer || ls "$(dirname "$NVCC")/compute-sanitizer" 2> /dev/null); then
    failed "compute-sanitizer not found (on PATH or beside $NVCC)"
else
    for tool in memcheck racecheck synccheck; do
        if [ "$tool" = synccheck ] && [ "$(left)" -lt 60 ]; then
            skipped "compute-sanitizer synccheck (no time left)"
            continue
        fi
        echo "-- $tool"
        timeout "$(limit 100)" "$SANITIZER" --tool "$tool" --error-exitcode 1 --print-limit 20 \
            "$BUILD/test/test_cuda" sanitize > "$OUT/sanitizer-$tool.log" 2>&1
        rc=$?
        judge "compute-sanitizer $tool (test_cuda sanitize; $OUT/sanitizer-$tool.log)" "$rc"
        tail -3 "$OUT/sanitizer-$tool.log"
        SANITIZED+=("$tool")
    done
fi
{
    echo
    echo "Sanitizers (compute-sanitizer on \`test_cuda sanitize\`; the last lines of each log):"
    echo
    if [ ${#SANITIZED[@]} = 0 ]; then echo "- not run"; fi
    for tool in "${SANITIZED[@]}"; do
        echo "- $tool: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|checks, [0-9]+ failed' "$OUT/sanitizer-$tool.log" \
            | tr '\n' ' ')"
    done
} >> "$OUT/table.md"

step "7. bench_cuda (the C call, no Java)"
if [ "$GPU" = 1 ] && [ "$(left)" -gt 40 ]; then
    timeout "$(limit 60)" "$BUILD/test/bench_cuda" 500 > "$OUT/bench.txt" 2>&1
    rc=$?
    judge "bench_cuda ($OUT/bench.txt)" "$rc"
    tail -20 "$OUT/bench.txt"
else
    skipped "bench_cuda (--no-gpu, or no time left)"
fi

echo
cat "$OUT/table.md"
finish
