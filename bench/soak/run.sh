#!/usr/bin/env bash
# bench/soak/run.sh BUILD_DIR — `make soak`: the HTTP server under a long,
# wide load, once per I/O engine, then its memory after bursts.
#
# Soak: bench/http's corio server (pinned to SERVER_CPU) holds CONNS
# keep-alive connections from soak_client (a separate process, pinned to
# CLIENT_CPU), each sending GET / every INTERVAL_MS, for SECS seconds; a
# probe connection beside them (a "normal client") sends GET / every 10 ms
# and its round trips give the p50/p99/p99.9.  The server's RSS is sampled
# every 10 s; "drift" compares the samples after the first minute (the
# ramp) — flat means within 5 %.  Any client error fails the run.
# Bursts: a fresh server; BURST_ROUNDS times, BURST_CONNS connections open
# together, make one request each and close; RSS is read before the first
# burst and IDLE seconds after each (core/trim.c gives memory back once the
# loop idles).
# CRLF flood: a fresh server; the probe alone for FLOOD_SECS (the baseline),
# then beside a separate process streaming "\r\n" as fast as the server reads:
# the probe's p99 beside the baseline's, and when the server closed the
# flood (its header deadline, 10 s by default).
# Tail latency: a fresh server per engine and round; wrk -t1 -cTAIL_CONNS
# for TAIL_SECS (pinned to CLIENT_CPU) gives p50/p99/p99.9/max
# (bench/soak/tail.lua); TAIL_ROUNDS rounds, engines interleaved; medians.
#
# Environment: ENGINES (uring epoll), CONNS (10000), SECS (600),
# INTERVAL_MS (1000), BURST_CONNS (15000), BURST_ROUNDS (3), IDLE (3),
# FLOOD_SECS (20), TAIL_CONNS (1000), TAIL_SECS (20), TAIL_ROUNDS (3),
# PORT (7990), SERVER_CPU (0), CLIENT_CPU (1).  Raw lines go to
# BUILD_DIR/soak/results.txt, the table to BUILD_DIR/soak/table.md.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd)
ENGINES=${ENGINES:-uring epoll}
CONNS=${CONNS:-10000}
SECS=${SECS:-600}
INTERVAL_MS=${INTERVAL_MS:-1000}
BURST_CONNS=${BURST_CONNS:-15000}
BURST_ROUNDS=${BURST_ROUNDS:-3}
IDLE=${IDLE:-3}
FLOOD_SECS=${FLOOD_SECS:-20}
TAIL_CONNS=${TAIL_CONNS:-1000}
TAIL_SECS=${TAIL_SECS:-20}
TAIL_ROUNDS=${TAIL_ROUNDS:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
PORT=${PORT:-7990}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SERVER=$BUILD/bench/http_corio_server
CLIENT=$BUILD/bench/soak_client
OUT=$BUILD/soak
mkdir -p "$OUT"
: >"$OUT/results.txt"

say() { echo "soak: $*" >&2; }

need=$((BURST_CONNS > CONNS ? BURST_CONNS : CONNS))
need=$(((need > TAIL_CONNS ? need : TAIL_CONNS) + 100))
ulimit -n "$need" 2>/dev/null || :
if [ "$(ulimit -n)" -lt "$need" ]; then
    say "needs $need descriptors (ulimit -n is $(ulimit -n))"
    exit 1
fi

spid=""
start_server() { # ENGINE
    CORIO_ENGINE=$1 taskset -c "$SERVER_CPU" "$SERVER" "$PORT" \
        2>"$OUT/server-$1.err" &
    spid=$!
    i=0
    until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && { say "the server did not start"; exit 1; }
        sleep 0.1
    done
    # Something else on PORT would answer instead of a server that died.
    kill -0 "$spid" 2>/dev/null || { say "the server failed"; exit 1; }
}
stop_server() {
    kill "$spid" 2>/dev/null || :
    wait "$spid" 2>/dev/null || :
}
trap 'stop_server' EXIT
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

printf '| engine | connections | requests | errors | probe p50 / p99 / p99.9 / max (µs) | RSS after 1 min → end (kB) | drift |\n|---|---:|---:|---:|---|---|---:|\n' >"$OUT/table.md"
for e in $ENGINES; do
    say "$e: $CONNS connections for ${SECS}s"
    start_server "$e"
    taskset -c "$CLIENT_CPU" "$CLIENT" "$PORT" "$CONNS" "$SECS" \
        "$INTERVAL_MS" >"$OUT/client-$e.txt" 2>&1 &
    cpid=$!
    samples=$OUT/rss-$e.txt
    : >"$samples"
    t=0
    while sleep 10 && kill -0 "$cpid" 2>/dev/null; do
        t=$((t + 10)) # samples while the load is on only
        echo "$t $(rss_kb "$spid")" >>"$samples"
    done
    status=0
    wait "$cpid" || status=$?
    stop_server
    cat "$OUT/client-$e.txt" >&2
    last=$(tail -1 "$OUT/client-$e.txt")
    echo "$e $last" >>"$OUT/results.txt"
    [ "$status" = 0 ] || { say "$e: the client failed ($status)"; exit 1; }
    set -- $last # requests N errors E p50 X p99 Y p999 Z max W us
    row=$(awk -v e="$e" -v c="$CONNS" -v req="$2" -v err="$4" \
        -v lat="$6 / ${8} / ${10} / ${12}" '
        $1 >= 60 { if (!n++) first = $2; if ($2 > max) max = $2;
                   if (min == "" || $2 < min) min = $2; last = $2 }
        END { printf "| %s | %d | %d | %d | %s | %d → %d (max %d) | %.1f %% |",
                     e, c, req, err, lat, first, last, max,
                     min ? 100 * (max - min) / min : 0 }' "$samples")
    echo "$row" >>"$OUT/table.md"
done

printf '\n| engine | RSS before | peak | after burst 1 | 2 | 3 (kB) |\n|---|---:|---:|---:|---:|---:|\n' >>"$OUT/table.md"
for e in $ENGINES; do
    start_server "$e"
    sleep 1
    before=$(rss_kb "$spid")
    after=""
    r=1
    while [ $r -le "$BURST_ROUNDS" ]; do
        taskset -c "$CLIENT_CPU" "$CLIENT" --burst "$PORT" "$BURST_CONNS" >&2
        sleep "$IDLE"
        after="$after | $(rss_kb "$spid")"
        r=$((r + 1))
    done
    row="| $e | $before | $(hwm_kb "$spid")$after"
    stop_server
    echo "$e burst $row" >>"$OUT/results.txt"
    echo "$row |" >>"$OUT/table.md"
done
printf '\n| engine | probe p50 / p99 alone (µs) | with a CRLF flood | p99 ratio | flood closed after |\n|---|---|---|---:|---:|\n' >>"$OUT/table.md"
for e in $ENGINES; do
    start_server "$e"
    taskset -c "$CLIENT_CPU" "$CLIENT" --probe "$PORT" "$FLOOD_SECS" \
        >"$OUT/flood-$e.txt"
    taskset -c "$CLIENT_CPU" "$CLIENT" --flood "$PORT" "$FLOOD_SECS" \
        >"$OUT/flood-only-$e.txt" &
    fpid=$!
    taskset -c "$CLIENT_CPU" "$CLIENT" --probe "$PORT" "$FLOOD_SECS" |
        sed 's/^probe:/flooded:/' >>"$OUT/flood-$e.txt"
    wait "$fpid"
    cat "$OUT/flood-only-$e.txt" >>"$OUT/flood-$e.txt"
    stop_server
    cat "$OUT/flood-$e.txt" >&2
    sed "s/^/$e flood /" "$OUT/flood-$e.txt" >>"$OUT/results.txt"
    awk -v e="$e" '
        /^probe:/ { b50 = $7; b99 = $9 }
        /^flooded:/ { f50 = $7; f99 = $9 }
        /^flood closed/ { closed = $7 " s" }
        /^flood never/ { closed = "never" }
        END { printf "| %s | %s / %s | %s / %s | %.2f | %s |\n",
                     e, b50, b99, f50, f99, b99 ? f99 / b99 : 0, closed }' \
        "$OUT/flood-$e.txt" >>"$OUT/table.md"
done
printf '\n| engine | wrk -c%s: p50 | p99 | p99.9 | max (µs) | req/s | errors |\n|---|---:|---:|---:|---:|---:|---:|\n' "$TAIL_CONNS" >>"$OUT/table.md"
r=1
while [ $r -le "$TAIL_ROUNDS" ]; do
    for e in $ENGINES; do
        start_server "$e"
        line=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$TAIL_CONNS" \
            -d"$TAIL_SECS"s -s "$HERE/tail.lua" "http://127.0.0.1:$PORT/" |
            grep '^tail')
        stop_server
        say "$e round $r: $line"
        echo "$e $line" >>"$OUT/results.txt"
    done
    r=$((r + 1))
done
for e in $ENGINES; do
    grep "^$e tail " "$OUT/results.txt" | awk -v e="$e" '
        { for (i = 0; i < 6; i++) v[i, NR] = $(4 + 2 * i) }
        END { printf "| %s", e
              for (i = 0; i < 6; i++) {
                  n = 0
                  for (j = 1; j <= NR; j++) a[++n] = v[i, j]
                  # median by insertion sort
                  for (x = 2; x <= n; x++) { t = a[x]; y = x - 1
                      while (y > 0 && a[y] + 0 > t + 0) { a[y + 1] = a[y]; y-- }
                      a[y + 1] = t }
                  printf " | %s", a[int((n + 1) / 2)]
              }
              print " |" }' >>"$OUT/table.md"
done
cat "$OUT/table.md"
