#!/bin/sh
# Run every fuzzer of build dir $1 for $2 seconds each on a copy of its
# corpus (new inputs stay in the build dir; add real finds to fuzz/corpus by
# hand).  A crash stops the run with a non-zero status; the input is left
# as $1/crash-* and the fuzzer's log as $1/fuzz-<harness>.log.
set -e
build=$1
seconds=${2:-30}
root=$(dirname "$0")
rm -f "$build"/crash-* "$build"/leak-* "$build"/timeout-* "$build"/oom-*
for h in parse differential; do
    work="$build/corpus-$h"
    log="$build/fuzz-$h.log"
    rm -rf "$work"
    mkdir -p "$work"
    cp "$root/corpus/$h"/* "$work"/
    echo "=== fuzz_$h for ${seconds}s"
    status=0
    "$build/fuzz_$h" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$build/" "$work" >"$log" 2>&1 || status=$?
    grep -E 'DONE|stat::number_of_executed_units|stat::peak_rss' "$log" || true
    if [ "$status" != 0 ]; then
        grep -E '^fuzz/|==[0-9]+==|SUMMARY|Test unit written' "$log" >&2 || tail -20 "$log" >&2
        echo "fuzz_$h: failed (status $status), see $log" >&2
        exit 1
    fi
done
