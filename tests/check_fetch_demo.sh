#!/bin/sh
# `make demo` shows the demo, not the build (ctest: fetch_demo_quiet): its
# recipe logs CMake's output instead of printing it, and the demo prints no
# CMake progress lines, corio-fetch's summary on stdout, its progress on
# stderr.  Runs the corio-fetch part only (DEMO_FETCH_ONLY=1), on the real
# clock: about 7 s.
#
#   usage: check_fetch_demo.sh SOURCE_DIR BUILD_DIR
set -u
src=$1
build=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/corio-fetch-demo.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
    echo "FAIL: $*"
    failed=1
}
# The recipe: CMake's output goes to BUILD/build.log (make -n runs
# nothing, so this build directory is not reconfigured under a running
# ctest — an ASan or TSan build keeps its settings).
make -n -s -C "$src" demo BUILD="$build" >"$tmp/recipe" 2>&1 ||
    fail "make -n demo exited $?"
grep -q "cmake --build $build .*>$build/build.log 2>&1" "$tmp/recipe" ||
    fail "make demo does not send the build's output to a log: $(cat "$tmp/recipe")"
grep -q "scripts/demo.sh $build" "$tmp/recipe" || fail "make demo does not run demo.sh"
# The demo itself (the real make demo with FETCH_DEMO_MAKE=1, for a build
# directory made by `make`).
if [ "${FETCH_DEMO_MAKE:-0}" = 1 ]; then
    DEMO_FETCH_ONLY=1 make -s -C "$src" demo BUILD="$build" JOBS=2 \
        >"$tmp/out" 2>"$tmp/err" || fail "make demo exited $?"
else
    DEMO_FETCH_ONLY=1 sh "$src/scripts/demo.sh" "$build" \
        >"$tmp/out" 2>"$tmp/err" || fail "demo.sh exited $?"
fi
for f in out err; do
    if grep -E -q 'Built target|Building C|Linking C|^\[ *[0-9]+%\]|Configuring done|Generating done' "$tmp/$f"; then
        fail "CMake's progress in the demo's std$f: $(grep -E -c 'Built target|\[ *[0-9]+%\]' "$tmp/$f") lines"
    fi
done
grep -q "^== corio-fetch --demo" "$tmp/out" || fail "no heading on stdout"
grep -q "^summary: 1000 of 1000 URLs" "$tmp/out" || fail "the summary is not on stdout"
grep -q "^demo: 1000 of 1000 URLs got the outcome" "$tmp/out" ||
    fail "the demo's self-check is not on stdout"
grep -q "^progress: " "$tmp/err" || fail "no progress on stderr"
grep -q "^summary:" "$tmp/err" && fail "the summary is on stderr"
lines=$(wc -l <"$tmp/out")
[ "$lines" -le 20 ] || fail "stdout has $lines lines"
if [ $failed -ne 0 ]; then
    echo "--- stdout:"; cat "$tmp/out"; echo "--- stderr:"; cat "$tmp/err"
    exit 1
fi
echo "PASS: make demo is quiet ($lines lines on stdout)"
