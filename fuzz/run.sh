#!/bin/sh
# Run every fuzzer of build dir $1 for $2 seconds each on a copy of its
# corpus (new inputs stay in the build dir; add real finds to fuzz/corpus by
# hand).  A crash stops the run: the input is left as $1/crash-* and the
# exit status is non-zero.
set -e
build=$1
seconds=${2:-30}
root=$(dirname "$0")
rm -f "$build"/crash-* "$build"/leak-* "$build"/timeout-*
for h in parse differential; do
    work="$build/corpus-$h"
    rm -rf "$work"
    mkdir -p "$work"
    cp "$root/corpus/$h"/* "$work"/
    echo "=== fuzz_$h for ${seconds}s"
    "$build/fuzz_$h" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$build/" "$work" 2>&1 |
        grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==|SUMMARY|.*Test unit written|fuzz/)' || true
    # libFuzzer's status is lost in the pipe: a crash leaves an artifact.
    if ls "$build"/crash-* "$build"/leak-* "$build"/timeout-* >/dev/null 2>&1; then
        echo "fuzz_$h: failure, see $(ls "$build"/crash-* "$build"/leak-* "$build"/timeout-* 2>/dev/null)" >&2
        exit 1
    fi
done
