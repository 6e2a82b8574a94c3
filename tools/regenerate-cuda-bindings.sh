#!/usr/bin/env bash
# Regenerates the jextract bindings in native-bindings/src/main/java/dev/stride/cuda/{cudart,cublas,cudnn,driver,nvrtc}
# from a jextract you supply and the CUDA 13 / cuBLAS 13 / cuDNN 9 / NVRTC 13 headers. The filters (what is bound) are the
# committed argument files native-bindings/jextract/*.args; this script only adds the include paths, the target
# package and the header class name, so the same jextract and headers give the same sources byte for byte.
#
# Usage:
#   tools/regenerate-cuda-bindings.sh --jextract PATH --cuda-include DIR [--cublas-include DIR] [--nvrtc-include DIR]
#       --cudnn-include DIR [--check]
# or the same through the environment: JEXTRACT, CUDA_INCLUDE, CUBLAS_INCLUDE, NVRTC_INCLUDE, CUDNN_INCLUDE.
#
#   JEXTRACT        the jextract launcher (bin/jextract of a jextract build for JDK 25)
#   CUDA_INCLUDE    CUDA 13 runtime headers: cuda_runtime_api.h and cuda.h (pip: nvidia-cuda-runtime), crt/host_defines.h
#                   (pip: nvidia-cuda-crt) and nv/target (pip: nvidia-cuda-cccl). A toolkit's include/ has all of them.
#   CUBLAS_INCLUDE  cuBLAS 13 headers: cublas_v2.h, cublas_api.h (pip: nvidia-cublas). Default: CUDA_INCLUDE.
#   NVRTC_INCLUDE   NVRTC 13 header: nvrtc.h (pip: nvidia-cuda-nvrtc). Default: CUDA_INCLUDE.
#   CUDNN_INCLUDE   cuDNN 9 headers: cudnn_graph.h, cudnn_version.h (pip: nvidia-cudnn-cu13).
#   --check         generate into a temporary folder and compare with the committed sources; change nothing.
#
# With the pip wheels, the headers are at <site-packages>/nvidia/cu13/include (runtime, crt, cccl and cuBLAS share it)
# (NVRTC too) and <site-packages>/nvidia/cudnn/include. Signatures and enum values are pinned to these majors (no struct is
# bound, so no layout depends on a minor version): the script refuses other CUDA, cuBLAS or cuDNN majors, because
# the committed code and the library locator assume them.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ARGS_DIR="$REPO/native-bindings/jextract"
SRC_DIR="$REPO/native-bindings/src/main/java"
PACKAGES=(cudart cublas cudnn driver nvrtc)
CUDA_MAJOR=13 CUBLAS_MAJOR=13 CUDNN_MAJOR=9

CHECK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --jextract) JEXTRACT=$2; shift 2 ;;
    --cuda-include) CUDA_INCLUDE=$2; shift 2 ;;
    --cublas-include) CUBLAS_INCLUDE=$2; shift 2 ;;
    --nvrtc-include) NVRTC_INCLUDE=$2; shift 2 ;;
    --cudnn-include) CUDNN_INCLUDE=$2; shift 2 ;;
    --check) CHECK=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
CUBLAS_INCLUDE=${CUBLAS_INCLUDE:-${CUDA_INCLUDE:-}}
NVRTC_INCLUDE=${NVRTC_INCLUDE:-${CUDA_INCLUDE:-}}

# Every missing input is reported, not just the first one.
missing=()
need_file() { # description, path
  if [ ! -f "$2" ]; then missing+=("$1: no file $2"); fi
}
if [ -z "${JEXTRACT:-}" ]; then
  missing+=("JEXTRACT (--jextract): path to a jextract launcher; jextract is not on any package registry, build it from https://github.com/openjdk/jextract")
elif [ ! -x "$JEXTRACT" ]; then
  missing+=("JEXTRACT: $JEXTRACT is not an executable file")
fi
if [ -z "${CUDA_INCLUDE:-}" ]; then
  missing+=("CUDA_INCLUDE (--cuda-include): the CUDA $CUDA_MAJOR runtime include directory (pip: nvidia-cuda-runtime, nvidia-cuda-crt, nvidia-cuda-cccl)")
else
  need_file "CUDA_INCLUDE, runtime API (pip: nvidia-cuda-runtime)" "$CUDA_INCLUDE/cuda_runtime_api.h"
  need_file "CUDA_INCLUDE, driver API (pip: nvidia-cuda-runtime)" "$CUDA_INCLUDE/cuda.h"
  need_file "CUDA_INCLUDE, crt headers the runtime API includes (pip: nvidia-cuda-crt)" "$CUDA_INCLUDE/crt/host_defines.h"
  need_file "CUDA_INCLUDE, CCCL headers cuda_fp16.h includes (pip: nvidia-cuda-cccl)" "$CUDA_INCLUDE/nv/target"
fi
if [ -z "${CUBLAS_INCLUDE:-}" ]; then
  missing+=("CUBLAS_INCLUDE (--cublas-include): the cuBLAS $CUBLAS_MAJOR include directory (pip: nvidia-cublas)")
else
  need_file "CUBLAS_INCLUDE (pip: nvidia-cublas)" "$CUBLAS_INCLUDE/cublas_v2.h"
  need_file "CUBLAS_INCLUDE (pip: nvidia-cublas)" "$CUBLAS_INCLUDE/cublas_api.h"
fi
if [ -z "${NVRTC_INCLUDE:-}" ]; then
  missing+=("NVRTC_INCLUDE (--nvrtc-include): the NVRTC $CUDA_MAJOR include directory (pip: nvidia-cuda-nvrtc)")
else
  need_file "NVRTC_INCLUDE (pip: nvidia-cuda-nvrtc)" "$NVRTC_INCLUDE/nvrtc.h"
fi
if [ -z "${CUDNN_INCLUDE:-}" ]; then
  missing+=("CUDNN_INCLUDE (--cudnn-include): the cuDNN $CUDNN_MAJOR include directory (pip: nvidia-cudnn-cu13)")
else
  need_file "CUDNN_INCLUDE (pip: nvidia-cudnn-cu13)" "$CUDNN_INCLUDE/cudnn_graph.h"
  need_file "CUDNN_INCLUDE (pip: nvidia-cudnn-cu13)" "$CUDNN_INCLUDE/cudnn_version.h"
fi
for p in "${PACKAGES[@]}"; do need_file "filter file (part of the repository)" "$ARGS_DIR/$p.args"; done
if [ ${#missing[@]} -gt 0 ]; then
  echo "regenerate-cuda-bindings: cannot run, missing:" >&2
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  exit 2
fi

define() { # header, macro name: the macro's integer value, or empty
  sed -n "s/^#define[[:space:]]\{1,\}$2[[:space:]]\{1,\}\([0-9]\{1,\}\).*/\1/p" "$1" | head -n 1
}
CUDART_VERSION=$(define "$CUDA_INCLUDE/cuda_runtime_api.h" CUDART_VERSION)
CUDA_VERSION=$(define "$CUDA_INCLUDE/cuda.h" CUDA_VERSION)
CUBLAS_V=$(define "$CUBLAS_INCLUDE/cublas_api.h" CUBLAS_VER_MAJOR).$(define "$CUBLAS_INCLUDE/cublas_api.h" CUBLAS_VER_MINOR).$(define "$CUBLAS_INCLUDE/cublas_api.h" CUBLAS_VER_PATCH)
CUDNN_V=$(define "$CUDNN_INCLUDE/cudnn_version.h" CUDNN_MAJOR).$(define "$CUDNN_INCLUDE/cudnn_version.h" CUDNN_MINOR).$(define "$CUDNN_INCLUDE/cudnn_version.h" CUDNN_PATCHLEVEL)
wrong=()
[ "${CUDART_VERSION:-0}" -ge $((CUDA_MAJOR * 1000)) ] && [ "$CUDART_VERSION" -lt $(((CUDA_MAJOR + 1) * 1000)) ] ||
  wrong+=("cuda_runtime_api.h has CUDART_VERSION ${CUDART_VERSION:-?}, the bindings are pinned to CUDA $CUDA_MAJOR.x")
[ "${CUDA_VERSION:-0}" -ge $((CUDA_MAJOR * 1000)) ] && [ "$CUDA_VERSION" -lt $(((CUDA_MAJOR + 1) * 1000)) ] ||
  wrong+=("cuda.h has CUDA_VERSION ${CUDA_VERSION:-?}, the bindings are pinned to CUDA $CUDA_MAJOR.x")
[ "${CUBLAS_V%%.*}" = "$CUBLAS_MAJOR" ] || wrong+=("cublas_api.h is cuBLAS $CUBLAS_V, the bindings are pinned to cuBLAS $CUBLAS_MAJOR.x")
[ "${CUDNN_V%%.*}" = "$CUDNN_MAJOR" ] || wrong+=("cudnn_version.h is cuDNN $CUDNN_V, the bindings are pinned to cuDNN $CUDNN_MAJOR.x")
if [ ${#wrong[@]} -gt 0 ]; then
  echo "regenerate-cuda-bindings: wrong header versions:" >&2
  for m in "${wrong[@]}"; do echo "  - $m" >&2; done
  exit 2
fi

# "jextract 23+f9866df3a178 / JDK version ... / LibClang version ...": keep the jextract and libclang lines.
JEXTRACT_VERSION=$("$JEXTRACT" --version 2>&1 | sed -n 's/^jextract //p' | head -n 1)
LIBCLANG_VERSION=$("$JEXTRACT" --version 2>&1 | sed -n 's/^LibClang version //p' | head -n 1)
CUDA_V="$((CUDART_VERSION / 1000)).$((CUDART_VERSION % 1000 / 10))"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# jextract adds the current directory to the include path: run it from the empty work folder, with absolute paths.
JEXTRACT=$(cd "$(dirname "$JEXTRACT")" && pwd)/$(basename "$JEXTRACT")
CUDA_INCLUDE=$(cd "$CUDA_INCLUDE" && pwd) CUBLAS_INCLUDE=$(cd "$CUBLAS_INCLUDE" && pwd) CUDNN_INCLUDE=$(cd "$CUDNN_INCLUDE" && pwd)
NVRTC_INCLUDE=$(cd "$NVRTC_INCLUDE" && pwd)
cd "$WORK"

# package, header class, header file, include dirs..., header versions for the comment
generate() {
  local pkg=$1 cls=$2 header=$3 versions=$4; shift 4
  local incs=()
  for d in "$@"; do incs+=(-I "$d"); done
  echo "jextract: dev.stride.cuda.$pkg.$cls from $header" >&2
  # jextract warns about every declaration it skips in the headers it parses; only errors matter here.
  if ! "$JEXTRACT" "${incs[@]}" --output "$WORK/out" -t "dev.stride.cuda.$pkg" --header-class-name "$cls" \
      "@$ARGS_DIR/$pkg.args" "$header" > "$WORK/$pkg.log" 2>&1; then
    grep -v ': warning: ' "$WORK/$pkg.log" >&2 || true
    echo "regenerate-cuda-bindings: jextract failed for $pkg (full log above)" >&2
    exit 1
  fi
  if grep -q ': error: ' "$WORK/$pkg.log"; then
    grep ': error: ' "$WORK/$pkg.log" >&2
    echo "regenerate-cuda-bindings: jextract reported errors for $pkg" >&2
    exit 1
  fi
  local f
  for f in "$WORK/out/dev/stride/cuda/$pkg"/*.java; do
    { echo "// Generated by tools/regenerate-cuda-bindings.sh; do not edit by hand, rerun the script."
      echo "// jextract $JEXTRACT_VERSION, libclang $LIBCLANG_VERSION"
      echo "// filters native-bindings/jextract/$pkg.args, header $(basename "$header") from $versions"
      cat "$f"; } > "$f.tmp"
    mv "$f.tmp" "$f"
  done
}
generate cudart Cudart "$CUDA_INCLUDE/cuda_runtime_api.h" "CUDA runtime $CUDA_V (CUDART_VERSION $CUDART_VERSION)" "$CUDA_INCLUDE"
generate driver CudaDriver "$CUDA_INCLUDE/cuda.h" "CUDA driver API $CUDA_V (CUDA_VERSION $CUDA_VERSION)" "$CUDA_INCLUDE"
generate cublas Cublas "$CUBLAS_INCLUDE/cublas_v2.h" "cuBLAS $CUBLAS_V with CUDA runtime $CUDA_V" "$CUBLAS_INCLUDE" "$CUDA_INCLUDE"
generate cudnn Cudnn "$CUDNN_INCLUDE/cudnn_graph.h" "cuDNN $CUDNN_V with CUDA runtime $CUDA_V" "$CUDNN_INCLUDE" "$CUDA_INCLUDE"
# nvrtc.h has no version macro; its calls bound here are unchanged since CUDA 11, the locator accepts majors 13 and 12.
generate nvrtc Nvrtc "$NVRTC_INCLUDE/nvrtc.h" "NVRTC with CUDA $CUDA_V headers" "$NVRTC_INCLUDE"

if [ $CHECK = 1 ]; then
  status=0
  for p in "${PACKAGES[@]}"; do
    diff -r "$SRC_DIR/dev/stride/cuda/$p" "$WORK/out/dev/stride/cuda/$p" > "$WORK/$p.diff" 2>&1 || {
      status=1; echo "differs: dev.stride.cuda.$p" >&2; head -n 40 "$WORK/$p.diff" >&2; }
  done
  [ $status = 0 ] && echo "regenerate-cuda-bindings: committed bindings match (jextract $JEXTRACT_VERSION)"
  exit $status
fi
for p in "${PACKAGES[@]}"; do
  rm -rf "${SRC_DIR:?}/dev/stride/cuda/$p"
  mkdir -p "$SRC_DIR/dev/stride/cuda"
  cp -r "$WORK/out/dev/stride/cuda/$p" "$SRC_DIR/dev/stride/cuda/$p"
done
echo "regenerate-cuda-bindings: wrote dev.stride.cuda.{$(IFS=,; echo "${PACKAGES[*]}")} under native-bindings/src/main/java"
echo "  jextract $JEXTRACT_VERSION, libclang $LIBCLANG_VERSION; CUDA $CUDA_V, cuBLAS $CUBLAS_V, cuDNN $CUDNN_V, NVRTC from $NVRTC_INCLUDE"
