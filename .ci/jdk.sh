# Sourced by ./stride and .ci/run: makes JAVA_HOME point at a JDK 25 or newer, or explains what is missing.
stride_java_feature() {  # major version of the java in $1/bin, or 0
    "$1/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}' | cut -d. -f1
}
stride_select_jdk() {
    local candidate
    for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/java-25-openjdk-amd64 \
                     $(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")" 2>/dev/null); do
        [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
        if [ "$(stride_java_feature "$candidate")" -ge 25 ] 2>/dev/null; then
            export JAVA_HOME="$candidate"
            return 0
        fi
    done
    echo "Stride needs JDK 25 or newer (Vector API, final FFM). Set JAVA_HOME to one." >&2
    return 1
}
