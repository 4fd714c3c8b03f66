# Sourced by ./demo and ./bench: build a module once, then run its classes with plain java.
#
#   build_once TOOL MODULE   compiles MODULE and the modules it needs (no tests, no jars), unless
#                            its classes are newer than every source; sets CLASSPATH_FILE
#   find_java25 TOOL         prints the java of a JDK 25 or newer, as the build's toolchain finds
#
# The build shows one line per module and step; its full log is MODULE/target/build.log. It
# compiles Kotlin in Maven's own JVM (kotlin.compiler.daemon=false in pom.xml), so no compiler
# daemon outlives it.

# Newer than the stamp: any source or pom of the module and of the library modules it uses.
_sources_changed() {
    local stamp=$1 module=$2
    [ -f "$stamp" ] || return 0
    local entry
    while IFS= read -r -d ':' entry; do
        [ -e "$entry" ] || return 0 # e.g. after mvn clean of a library module
    done < <(cat "$stamp"; printf ':')
    [ -n "$(find pom.xml ioqueue-core ioqueue-kotlin "$module" \
        -path '*/target' -prune -o -type f -newer "$stamp" -print -quit)" ]
}

build_once() {
    local tool=$1 module=$2
    local stamp=$module/target/run-classpath.txt log=$module/target/build.log
    CLASSPATH_FILE=$stamp
    _sources_changed "$stamp" "$module" || return 0
    mkdir -p "$module/target"
    rm -f "$stamp"
    echo "$tool: building $module and the library (once; again only after a source changes)" >&2
    local started=$SECONDS status
    # dependency:build-classpath writes each reactor module's run-time class path, in which the
    # library modules are their target/classes. C1 only: a build this short compiles faster so.
    set +e
    MAVEN_OPTS="${MAVEN_OPTS:-} -XX:TieredStopAtLevel=1" ./mvnw -B -pl "$module" -am compile dependency:build-classpath \
        -Dmdep.includeScope=runtime -Dmdep.outputFile=target/run-classpath.txt 2>&1 \
        | tee "$log" \
        | sed -u -n -e 's/^\[INFO\] Building \(.*\) [0-9][^ ]*SNAPSHOT *\[\([0-9]*\/[0-9]*\)\]$/  [\2] \1/p' \
                    -e 's/^\[INFO\] --- \([^ ]*\) .* @ .* ---$/        \1/p' \
                    -e 's/^\(\[ERROR\] .*\)$/  \1/p' >&2
    status=${PIPESTATUS[0]}
    set -e
    if [ "$status" -ne 0 ] || [ ! -f "$stamp" ]; then
        rm -f "$stamp"
        echo "$tool: the build failed; its log: $log" >&2
        exit 1
    fi
    # The module's own classes first.
    printf '%s:%s' "$PWD/$module/target/classes" "$(cat "$stamp")" > "$stamp.tmp" && mv "$stamp.tmp" "$stamp"
    echo "$tool: built in $((SECONDS - started)) s" >&2
}

# The JDK 25 (or newer) the Maven toolchains plugin would find: JAVA25_HOME, JAVA_HOME, java on
# the PATH, then /usr/lib/jvm and SDKMAN's candidates.
find_java25() {
    local tool=$1 home version
    local candidates=("${JAVA25_HOME:-}" "${JAVA_HOME:-}")
    if command -v java > /dev/null; then
        candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
    fi
    candidates+=(/usr/lib/jvm/* "$HOME"/.sdkman/candidates/java/*)
    for home in "${candidates[@]}"; do
        [ -n "$home" ] && [ -x "$home/bin/java" ] && [ -f "$home/release" ] || continue
        version=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")
        if [ -n "$version" ] && [ "$version" -ge 25 ]; then
            echo "$home/bin/java"
            return 0
        fi
    done
    echo "$tool: no JDK 25 found (looked at JAVA25_HOME, JAVA_HOME, PATH, /usr/lib/jvm, SDKMAN): install one" >&2
    exit 1
}
