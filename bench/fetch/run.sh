#!/bin/sh
# bench/fetch/run.sh BUILD_DIR — corio-fetch's load mode beside wrk and ab
# (ApacheBench, the classic of hey's kind), against the same local server.  `make bench` calls this; docs/performance.md
# ("corio-fetch load mode") gives the figures.
#
# The server is corio-fetch --serve-demo (corio's HTTP server, one thread,
# GET /fast/1: a 21-byte JSON body, keep-alive), pinned to SERVER_CPU.  Each
# load generator, pinned to CLIENT_CPU, keeps CONC connections busy for SECS
# seconds: wrk -t1 -cCONC -dSECS, ab -k -cCONC -tSECS, and corio-fetch
# -z SECS -c CONC.  Each reports requests/s; /usr/bin/time gives each generator's CPU time (user +
# system), so CPU per request says whether the generator or the server is
# the bottleneck.  REPS rounds, the order rotating; medians.
#
# Environment: REPS (3), SECS (5), CONC (50), PORT (7960), SERVER_CPU (0),
# CLIENT_CPU (1).  The rounds rotate the order.  Raw lines `tool round req/s cpu_s` go to
# BUILD_DIR/fetch/results.txt, the table to BUILD_DIR/fetch/table.md.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd)
REPS=${REPS:-3}
SECS=${SECS:-5}
CONC=${CONC:-50}
PORT=${PORT:-7960}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
FETCH=$BUILD/tools/corio-fetch
OUT=$BUILD/fetch
mkdir -p "$OUT"
: >"$OUT/results.txt"
for t in wrk ab taskset /usr/bin/time; do
    command -v $t >/dev/null 2>&1 || { echo "bench/fetch: needs $t (scripts/deps.sh bench)" >&2; exit 1; }
done

taskset -c "$SERVER_CPU" "$FETCH" --serve-demo "$PORT" >"$OUT/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT INT TERM
sleep 0.5
URL=http://127.0.0.1:$PORT/fast/1
# Warm-up: connections, page cache, CPU frequency.
wrk -t1 -c"$CONC" -d1s "$URL" >/dev/null

run_wrk() {
    taskset -c "$CLIENT_CPU" /usr/bin/time -f "cpu %U %S" -o "$OUT/time" \
        wrk -t1 -c"$CONC" -d"${SECS}s" "$URL" >"$OUT/wrk.out"
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' "$OUT/wrk.out")
}
run_ab() {
    taskset -c "$CLIENT_CPU" /usr/bin/time -f "cpu %U %S" -o "$OUT/time" \
        ab -q -k -c "$CONC" -t "$SECS" -n 100000000 "$URL" >"$OUT/ab.out" 2>&1
    rps=$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' "$OUT/ab.out")
}
run_fetch() {
    taskset -c "$CLIENT_CPU" /usr/bin/time -f "cpu %U %S" -o "$OUT/time" \
        "$FETCH" -z "${SECS}s" -c "$CONC" -q --json "$URL" >"$OUT/fetch.out"
    rps=$(sed -n 's/.*"requests_per_second":\([0-9.]*\).*/\1/p' "$OUT/fetch.out")
}
for r in $(seq 1 "$REPS"); do
    case $((r % 3)) in
    1) order="wrk fetch ab" ;;
    2) order="fetch ab wrk" ;;
    0) order="ab wrk fetch" ;;
    esac
    for tool in $order; do
        run_$tool
        cpu=$(awk '/^cpu/ { print $2 + $3 }' "$OUT/time")
        echo "$tool $r $rps $cpu" | tee -a "$OUT/results.txt"
    done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
{
    echo "| load generator (-c $CONC, ${SECS} s, $REPS rounds) | requests/s (median) | its CPU s (median) | CPU µs per request |"
    echo "|---|---|---|---|"
    for tool in wrk ab fetch; do
        rps=$(awk -v t=$tool '$1 == t { print $3 }' "$OUT/results.txt" | median)
        cpu=$(awk -v t=$tool '$1 == t { print $4 }' "$OUT/results.txt" | median)
        per=$(awk -v t=$tool '$1 == t { print $4 / ($3 * '"$SECS"') * 1e6 }' "$OUT/results.txt" | median)
        name=$tool
        [ $tool = fetch ] && name="corio-fetch -z"
        [ $tool = ab ] && name="ab -k"
        printf '| %s | %.0f | %.2f | %.1f |\n' "$name" "$rps" "$cpu" "$per"
    done
} | tee "$OUT/table.md"
