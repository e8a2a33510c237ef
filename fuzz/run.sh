#!/bin/sh
# Run every fuzzer of build dir $1 for $2 seconds each, one after the
# other, on a copy of its corpus: each directory fuzz/corpus/<harness>/ names
# a harness, built as $1/fuzz_<harness> (new inputs stay in the build dir;
# add real finds to fuzz/corpus by hand).  A harness's dictionary
# fuzz/<harness>.dict is used when there is one.  A crash stops the run with
# a non-zero status; the input is left as $1/<harness>-crash-* and the
# fuzzer's log as $1/fuzz-<harness>.log.  The last lines sum up each run: executions, and
# the coverage (cov: edges, ft: features) it reached and the CPU seconds it
# used (user+system: less than the wall time when the machine is shared).
# FUZZ_PART=k/n runs only the k-th of every n harnesses (so n runs can go
# side by side, one per core).
set -e
build=$1
seconds=${2:-30}
part=${FUZZ_PART:-1/1}
k=${part%/*}
n=${part#*/}
root=$(dirname "$0")
summary=""
i=0
for dir in "$root"/corpus/*/; do
    h=$(basename "$dir")
    i=$((i + 1))
    [ $(((i - 1) % n + 1)) = "$k" ] || continue
    rm -f "$build/$h-"crash-* "$build/$h-"leak-* "$build/$h-"timeout-* \
        "$build/$h-"oom-*
    if [ ! -x "$build/fuzz_$h" ]; then
        echo "fuzz/run.sh: no $build/fuzz_$h for corpus $dir" >&2
        exit 1
    fi
    work="$build/corpus-$h"
    log="$build/fuzz-$h.log"
    rm -rf "$work"
    mkdir -p "$work"
    cp "$dir"/* "$work"/
    dict=""
    if [ -f "$root/$h.dict" ]; then
        dict="-dict=$root/$h.dict"
    fi
    echo "=== fuzz_$h for ${seconds}s"
    status=0
    /usr/bin/time -f '%U %S' -o "$build/fuzz-$h.cpu" \
        "$build/fuzz_$h" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/$h-" \
        $dict "$work" >"$log" 2>&1 || status=$?
    grep -E 'DONE|stat::number_of_executed_units|stat::peak_rss' "$log" || true
    if [ "$status" != 0 ]; then
        grep -E '^fuzz/|==[0-9]+==|SUMMARY|Test unit written' "$log" >&2 || tail -20 "$log" >&2
        echo "fuzz_$h: failed (status $status), see $log" >&2
        exit 1
    fi
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    execs=$(grep -E 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    cpu=$(awk '{printf "%.0f", $1 + $2}' "$build/fuzz-$h.cpu")
    summary="$summary$(printf '%-14s %12s execs  cov %6s  ft %6s  cpu %5ss' "$h" "$execs" "$cov" "$ft" "$cpu")
"
done
echo "=== fuzz summary (${seconds}s each, 0 crashes)"
printf '%s' "$summary"
