#!/usr/bin/env bash
# Builds, on this machine, everything a GPU machine needs to check Stride's cuda backend with one command, as one
# tarball: target/stride-gpu-bundle.tar.xz (under 60 MiB). Unpack it on the GPU machine and run
# stride-gpu/gpu-check.sh (see that script). The GPU machine needs no JDK, no Maven and no network: the bundle holds
#   runtime/   a jlink runtime of this JDK (java.base, jdk.incubator.vector, jdk.unsupported, and what the code and
#              JUnit use: java.desktop for the training plots, java.logging, java.management, java.xml)
#   lib/       the built jars: tools (the stride CLI), engine, graph, native-bindings, zoo, onnx, bench, protobuf
#   test/      the engine's and native-bindings' test classes, jqwik, and JUnit's console launcher
#              (org.junit.platform:junit-platform-console-standalone, fetched from Maven Central by the wrapper)
#   data/      MNIST (the gz files of ../shared/data/mnist, or --mnist DIR), for `stride train lenet5`
#   bench/     torch_peer.py
#   gpu-check.sh
# Nothing of it is committed: it is built under target/.
#
# usage: tools/gpu-bundle.sh [--skip-build] [--mnist DIR] [--out FILE]
#   --skip-build   use the jars and test classes already under */target (after ./mvnw package -DskipTests)
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
. "$root/.ci/jdk.sh"
stride_select_jdk
cd "$root"

build=1
mnist="$root/../shared/data/mnist"
out="$root/target/stride-gpu-bundle.tar.xz"
while [ $# -gt 0 ]; do
    case "$1" in
        --skip-build) build=0 ;;
        --mnist) mnist="$2"; shift ;;
        --out) out="$2"; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "gpu-bundle: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
limit=$((60 * 1024 * 1024))
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [ -f "$mnist/$f" ] || { echo "gpu-bundle: $mnist/$f not found (MNIST's four gz files; --mnist DIR)" >&2; exit 1; }
done

export MAVEN_OPTS="--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow ${MAVEN_OPTS:-}"
if [ "$build" = 1 ]; then
    echo "gpu-bundle: building (./mvnw package -DskipTests: jars and test classes)"
    ./mvnw -q -B package -DskipTests -pl tools,bench -am
fi
tools_jar=$(ls tools/target/stride-tools-*.jar 2>/dev/null | head -1 || true)
[ -n "$tools_jar" ] || { echo "gpu-bundle: tools/target/stride-tools-*.jar missing: build first (drop --skip-build)" >&2; exit 1; }
version=$(basename "$tools_jar" .jar)
version=${version#stride-tools-}

# JUnit's console launcher: the platform version that goes with the project's JUnit Jupiter version (5.x.y <-> 1.x.y).
junit=$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' pom.xml)
platform="1.${junit#5.}"
deps="$root/target/gpu-bundle-deps"
console="$deps/junit-platform-console-standalone-$platform.jar"
if [ ! -f "$console" ]; then
    echo "gpu-bundle: fetching junit-platform-console-standalone $platform"
    ./mvnw -q -B dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$platform" \
        -DoutputDirectory="$deps"
fi
jqwik=$(sed -n 's:.*<jqwik.version>\(.*\)</jqwik.version>.*:\1:p' pom.xml)
for a in jqwik-api jqwik-engine; do
    [ -f "$deps/$a-$jqwik.jar" ] || ./mvnw -q -B dependency:copy -Dartifact="net.jqwik:$a:$jqwik" -DoutputDirectory="$deps"
done

stage="$root/target/gpu-bundle"
rm -rf "$stage"
b="$stage/stride-gpu"
mkdir -p "$b/lib" "$b/test/classes" "$b/test/lib" "$b/data/mnist" "$b/bench"

modules=java.base,java.desktop,java.logging,java.management,java.xml,jdk.incubator.vector,jdk.unsupported
echo "gpu-bundle: jlink runtime ($modules)"
# No jimage compression: the tarball's xz compresses the uncompressed modules better (13 vs 20 MB for java.base).
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
    --output "$b/runtime" 2>&1 | grep -v "Using incubator modules" || true

cp tools/target/stride-tools-"$version".jar tools/target/lib/*.jar "$b/lib/"
cp bench/target/stride-bench-"$version".jar "$b/lib/"
cp -r engine/target/test-classes/. "$b/test/classes/"
cp -r native-bindings/target/test-classes/. "$b/test/classes/"
cp "$console" "$deps/jqwik-api-$jqwik.jar" "$deps/jqwik-engine-$jqwik.jar" "$b/test/lib/"
cp "$mnist"/*-ubyte.gz "$b/data/mnist/"
cp bench/python/torch_peer.py "$b/bench/"
cp tools/gpu-check.sh "$b/"
chmod +x "$b/gpu-check.sh"
git_rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo "Stride GPU check bundle, built $(date -u +%Y-%m-%dT%H:%M:%SZ) from commit $git_rev"
    echo "JDK: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
    echo "Run: stride-gpu/gpu-check.sh [all|doctor|tests|train|bench] (results under \$OUT, or ./gpu-check-out)"
} > "$b/BUNDLE.txt"

mkdir -p "$(dirname "$out")"
echo "gpu-bundle: packing $out (xz)"
tar -C "$stage" -cf - stride-gpu | xz -T0 -6 > "$out"
size=$(stat -c %s "$out")
awk -v f="$out" -v s="$size" 'BEGIN { printf "gpu-bundle: %s, %.1f MiB (limit 60 MiB)\n", f, s / 1048576 }'
if [ "$size" -ge "$limit" ]; then
    echo "gpu-bundle: the bundle is over 60 MiB" >&2
    exit 1
fi
