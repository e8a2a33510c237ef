#!/bin/sh
# bench/core_instr.sh CORE — instructions per spawn+join and per yield switch
# of bench/core (build-bench/bench/core), counted with callgrind, which
# other work on the machine does not disturb.  Each figure is the
# difference between a run of N and one of 2N (tasks, or yields per task),
# so start-up and the warm-up cancel out:
#   spawn N 1    spawns and gathers N tasks twice (warm-up and one run);
#   switch N 1   two tasks yield N/10 times each (warm-up), then N times.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 CORE" >&2
    exit 2
fi
CORE=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ir() {
    valgrind --tool=callgrind --callgrind-out-file="$TMP/out" "$@" 2>&1 >/dev/null |
        sed -n 's/.*Collected : //p'
}
a=$(ir "$CORE" spawn 100000 1)
b=$(ir "$CORE" spawn 200000 1)
c=$(ir "$CORE" switch 1000000 1)
d=$(ir "$CORE" switch 2000000 1)
awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" 'BEGIN {
    printf "spawn_join_instr %.1f\n", (b - a) / 200000
    printf "switch_instr %.1f\n", (d - c) / 2200000
}'
