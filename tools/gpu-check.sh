#!/usr/bin/env bash
# Every GPU check of Stride's cuda backend, run on the GPU machine from the bundle that tools/gpu-bundle.sh builds
# (needs no JDK, Maven or network there; PyTorch only for the peer benchmark):
#
#   tar xJf stride-gpu-bundle.tar.xz && stride-gpu/gpu-check.sh [all|doctor|tests|train|bench]...
#
# Stages (default: all, in this order; each one's output goes to the terminal and to files under $OUT, or
# ./gpu-check-out when OUT is not set; a failing stage does not stop the next, the exit status says if any failed):
#   doctor  `stride doctor`: JDK, libraries found, driver, GPU                              -> doctor.txt
#   tests   the JUnit tests tagged gpu, cuda-kernels (the cuda kernels' properties against the reference backend,
#           run on the GPU: -Dstride.cuda.device=gpu) and cudnn (the cuDNN graphs against the installed libcudnn),
#           with JUnit's console launcher                                                   -> tests.txt, junit.tar.gz
#   train   `stride train lenet5 --backend cuda` on the bundled MNIST, 1 epoch (TRAIN_EPOCHS)  -> train.txt, train-run.tar.gz
#   bench   dev.stride.bench.GpuBenchmark, then bench/torch_peer.py on the same cases, then the side-by-side
#           report                                                -> gpu-stride.json, gpu-torch.json, gpu-report.md
# Environment: OUT; BENCH_ARGS (extra GpuBenchmark options, e.g. "--batch 16 --runs 20"; torch_peer gets the same
# --batch/--warmup/--runs/--size/--only); BENCH_TUNED=1 (autotuned cuDNN engines, and PyTorch's cudnn.benchmark);
# TRAIN_EPOCHS (default 1); JAVA_OPTS; CUDNN_PATH / CUDA_HOME (else found from python3's nvidia wheels or
# /usr/local/cuda).
set -uo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
OUT="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$OUT"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

java="$here/runtime/bin/java"
jopts=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx16g ${JAVA_OPTS:-})
cp="$(ls "$here"/lib/*.jar | tr '\n' ':')"
cp="${cp%:}"

# The CUDA libraries: what the environment names, else the pip wheels PyTorch came with, else the toolkit.
if [ -z "${CUDNN_PATH:-}" ] && command -v python3 >/dev/null; then
    d=$(python3 -c 'import nvidia.cudnn as m; print(list(m.__path__)[0])' 2>/dev/null) && [ -d "$d" ] && export CUDNN_PATH="$d"
fi
if [ -z "${CUDA_HOME:-}" ]; then
    d=$(python3 -c 'import nvidia, os; print(next(os.path.join(p, "cu13") for p in nvidia.__path__ if os.path.isdir(os.path.join(p, "cu13"))))' 2>/dev/null) \
        && [ -d "$d" ] && export CUDA_HOME="$d"
    [ -z "${CUDA_HOME:-}" ] && [ -d /usr/local/cuda ] && export CUDA_HOME=/usr/local/cuda
fi
echo "gpu-check: CUDNN_PATH=${CUDNN_PATH:-} CUDA_HOME=${CUDA_HOME:-} OUT=$OUT"

stride() { "$java" "${jopts[@]}" -cp "$cp" dev.stride.tools.Stride "$@"; }
failed=()

stage_doctor() {
    stride doctor 2>&1 | tee "$OUT/doctor.txt"
}

stage_tests() {
    local tcp
    tcp="$here/test/classes:$(ls "$here"/test/lib/jqwik-*.jar | tr '\n' ':')$cp"
    "$java" "${jopts[@]}" -Dstride.cuda.device=gpu -jar "$here"/test/lib/junit-platform-console-standalone-*.jar \
        execute --class-path "$tcp" --scan-class-path "$here/test/classes" --include-tag 'gpu | cuda-kernels | cudnn' \
        --config "jqwik.database=$work/jqwik-database" --details tree --disable-banner --disable-ansi-colors \
        --reports-dir "$work/junit" 2>&1 | tee "$OUT/tests.txt"
    local status=${PIPESTATUS[0]}
    tar -C "$work" -czf "$OUT/junit.tar.gz" junit 2>/dev/null
    return "$status"
}

stage_train() {
    local status
    stride train lenet5 --data "$here/data/mnist" --backend cuda --epochs "${TRAIN_EPOCHS:-1}" --out "$work/lenet5" \
        2>&1 | tee "$OUT/train.txt"
    status=${PIPESTATUS[0]}
    [ -d "$work/lenet5" ] && tar -C "$work" -czf "$OUT/train-run.tar.gz" lenet5
    return "$status"
}

stage_bench() {
    local status=0 tuned=() peer=() a
    [ "${BENCH_TUNED:-0}" = 1 ] && tuned=(--tuned) && peer=(--cudnn-benchmark)
    # shellcheck disable=SC2206
    local args=(${BENCH_ARGS:-})
    "$java" "${jopts[@]}" -cp "$cp" dev.stride.bench.GpuBenchmark --out "$OUT/gpu-stride.json" "${tuned[@]}" \
        "${args[@]}" 2>&1 || status=1
    # The peer runs the cases Stride wrote (same shapes); its own list when Stride measured nothing.
    local cases=()
    grep -q '"case"' "$OUT/gpu-stride.json" 2>/dev/null && cases=(--cases "$OUT/gpu-stride.json")
    for ((i = 0; i < ${#args[@]}; i++)); do
        case "${args[i]}" in
            --batch|--warmup|--runs|--size|--only) peer+=("${args[i]}" "${args[i+1]}"); i=$((i + 1)) ;;
        esac
    done
    if command -v python3 >/dev/null; then
        PYTHONUNBUFFERED=1 python3 "$here/bench/torch_peer.py" --out "$OUT/gpu-torch.json" "${cases[@]}" "${peer[@]}" \
            2>&1 || status=1
    else
        echo "gpu-check: no python3: the PyTorch peer is not run"
    fi
    local files=("$OUT/gpu-stride.json")
    [ -f "$OUT/gpu-torch.json" ] && files+=("$OUT/gpu-torch.json")
    "$java" -cp "$cp" dev.stride.bench.Report --gpu "${files[@]}" > "$OUT/gpu-report.md" 2>&1 || status=1
    cat "$OUT/gpu-report.md"
    return "$status"
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(all)
[ "${stages[0]}" = all ] && stages=(doctor tests train bench)
for s in "${stages[@]}"; do
    case "$s" in
        doctor|tests|train|bench) ;;
        *) echo "gpu-check: unknown stage '$s' (all, doctor, tests, train, bench)" >&2; exit 2 ;;
    esac
    echo "==== gpu-check: $s ($(date -u +%H:%M:%S))"
    start=$(date +%s)
    if "stage_$s"; then
        echo "==== gpu-check: $s passed in $(( $(date +%s) - start )) s"
    else
        echo "==== gpu-check: $s FAILED in $(( $(date +%s) - start )) s"
        failed+=("$s")
    fi
done
echo "gpu-check: results in $OUT: $(cd "$OUT" && ls | tr '\n' ' ')"
if [ ${#failed[@]} -gt 0 ]; then
    echo "gpu-check: failed: ${failed[*]}"
    exit 1
fi
echo "gpu-check: every stage passed"
