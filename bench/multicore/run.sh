#!/bin/sh
# bench/multicore/run.sh BUILD_DIR — every core: corio with a loop per CPU
# beside its peers, measured in the same run (docs/performance.md, "Every
# core", explains the method).
#
# 1. CPU-bound handler: GET /work does ~200 us of CPU (SHA-256, the same in
#    every server) under wrk -t1 -c100: examples/multicore_server with 2
#    loops, with 1 loop, with 1 loop handing the work to corio_to_thread
#    (GET /thread), and Go net/http with GOMAXPROCS=2.
# 2. Hello world: GET /hello from multicore_server with 2 loops, nginx with
#    worker_processes 2, Go with GOMAXPROCS=2: requests/s and the server's
#    CPU time (user + system, /proc) per request.
# 3. Messaging between two loops pinned to CPUs 0 and 1: corio_loop_call
#    round trips and corio_loop_post throughput (bench/multicore/messaging.c)
#    beside Go's channels (GOMAXPROCS=2) and Tokio's mpsc (a multi-thread
#    runtime with 2 workers, built offline from Debian's crates as
#    bench/echo/run.sh does), all pinned to CPUs 0 and 1.
# 4. Uneven load (PARTS=uneven, not in the default): multicore_server with
#    2 loops, plain (the kernel's reuseport hash) and with `steer` (loops
#    pinned to CPUs 0 and 1, listeners steered by SO_INCOMING_CPU): the
#    latency of GET /hello under wrk -t1 -c20, alone and while a second
#    wrk keeps 2 connections busy with GET /slow (~20 ms of CPU on the
#    loop, no yield).  p50 and p99 in microseconds.
#
# Nothing is pinned in 1 and 2: the servers and wrk share the machine's
# cores, as they would in production.  The load average is recorded with
# the results: on a machine shared with other work, requests/s say little
# and CPU per request says more.  REPS rounds, the order rotating;
# medians.  Environment: REPS (3), SECS (5), PORT (7990), GO (go), CARGO
# (/usr/bin/cargo), PARTS ("cpu hello msg": which parts to run).
# Raw lines go to BUILD_DIR/multicore/results.txt, the table to
# BUILD_DIR/multicore/table.md.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
REPS=${REPS:-3}
SECS=${SECS:-5}
PORT=${PORT:-7990}
GO=${GO:-go}
CARGO=${CARGO:-/usr/bin/cargo}
PARTS=${PARTS:-cpu hello msg}
OUT=$BUILD/multicore
RAW=$OUT/results.txt
mkdir -p "$OUT/go"
: >"$RAW"

say() { echo "multicore: $*" >&2; }

command -v wrk >/dev/null || { say "no wrk: nothing to measure"; exit 1; }
SERVER=$BUILD/examples/multicore_server
for p in go_server go_chan; do
    (cd "$OUT/go" && GOCACHE="$OUT/go/cache" GOPATH="$OUT/go/path" GOFLAGS= \
         GOPROXY=off "$GO" build -o "$p" "$HERE/peers/$p/main.go") ||
        say "go build of $p failed"
done
# Tokio offline from Debian's crates: a copy of the crate in the build dir,
# with a cargo home whose config replaces crates.io by the Debian registry.
TOKIO=""
if [ -x "$CARGO" ] && [ -d /usr/share/cargo/registry ]; then
    T=$OUT/tokio
    mkdir -p "$T/src" "$T/cargo-home"
    cp "$HERE/peers/tokio_mpsc/Cargo.toml" "$T/Cargo.toml"
    cp "$HERE/peers/tokio_mpsc/src/main.rs" "$T/src/main.rs"
    printf '%s\n' '[source.crates-io]' 'replace-with = "debian"' '' \
        '[source.debian]' 'directory = "/usr/share/cargo/registry"' '' \
        '[net]' 'offline = true' >"$T/cargo-home/config.toml"
    if (cd "$T" && CARGO_HOME="$T/cargo-home" "$CARGO" build --release -q \
        2>"$T/build.log"); then
        TOKIO=$T/target/release/tokio-mpsc
    else
        say "Tokio build failed (see $T/build.log); Tokio skipped"
    fi
else
    say "no $CARGO or /usr/share/cargo/registry (cargo, librust-tokio-dev); Tokio skipped"
fi
cat >"$OUT/nginx.conf" <<EOF2
worker_processes 2;
daemon off;
pid $OUT/nginx.pid;
error_log $OUT/nginx.err;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path $OUT/nginx-tmp;
    proxy_temp_path $OUT/nginx-tmp;
    fastcgi_temp_path $OUT/nginx-tmp;
    server {
        listen 127.0.0.1:@PORT@ backlog=4096 reuseport;
        location /hello { default_type text/plain; return 200 "hello from nginx\n"; }
    }
}
EOF2
mkdir -p "$OUT/nginx-tmp"

spid=""
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; exit 130' INT TERM

# start_server IMPL PORT PATH: in the background, $spid its pid; waits
# until PATH answers.
start_server() {
    impl=$1 port=$2 path=$3
    case $impl in
    corio-2) set -- "$SERVER" "$port" 2 ;;
    corio-1|corio-1-to_thread) set -- "$SERVER" "$port" 1 ;;
    go) set -- env GOMAXPROCS=2 "$OUT/go/go_server" "$port" ;;
    nginx) command -v nginx >/dev/null || return 1
           sed "s/@PORT@/$port/" "$OUT/nginx.conf" >"$OUT/nginx-$port.conf"
           set -- nginx -c "$OUT/nginx-$port.conf" ;;
    esac
    "$@" 2>"$OUT/server-$impl.err" &
    spid=$!
    i=0
    until curl -s -o /dev/null "http://127.0.0.1:$port$path"; do
        i=$((i + 1))
        [ $i -gt 100 ] && { say "$impl did not start"; return 1; }
        sleep 0.1
    done
}

stop_server() {
    kill "$spid" 2>/dev/null || :
    wait "$spid" 2>/dev/null || :
    spid=""
}

# CPU ticks (user + system) of a server process and its children (nginx's
# workers are the master's children).
cpu_ticks() {
    for p in "$1" $(pgrep -P "$1"); do
        awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || :
    done | awk '{ s += $1 } END { print s + 0 }'
}

wrk_rate() {
    wrk -t1 -c100 -d"$1"s "http://127.0.0.1:$2$3" | awk '/^Requests\/sec:/ { print $2 }'
}

rotate() {
    echo "$1" | awk -v r="$2" '{ n = NF; for (i = 0; i < n; i++) printf "%s ", $((i + r) % n + 1) }'
}

# measure PART IMPL PATH
port=$PORT
measure() {
    part=$1 impl=$2 path=$3
    port=$((port + 1))
    start_server "$impl" "$port" "$path" || { stop_server; return 0; }
    wrk_rate 1 "$port" "$path" >/dev/null
    t0=$(cpu_ticks "$spid")
    rate=$(wrk_rate "$SECS" "$port" "$path")
    t1=$(cpu_ticks "$spid")
    stop_server
    us=$(awk -v a="$t0" -v b="$t1" -v r="$rate" -v s="$SECS" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.2f", (b - a) / hz * 1e6 / (r * s) }')
    say "$part $impl round $round: $rate req/s, $us us CPU/request"
    echo "$part $impl $round $rate $us" >>"$RAW"
}

say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
round=1
while [ $round -le "$REPS" ]; do
    case " $PARTS " in *" cpu "*)
    for impl in $(rotate "corio-2 corio-1 corio-1-to_thread go" "$round"); do
        path=/work
        [ "$impl" = corio-1-to_thread ] && path=/thread
        measure cpu "$impl" "$path"
    done ;; esac
    case " $PARTS " in *" hello "*)
    for impl in $(rotate "corio-2 nginx go" "$round"); do
        measure hello "$impl" /hello
    done ;; esac
    case " $PARTS " in *" uneven "*)
    for impl in $(rotate "plain steer" "$round"); do
        for with in alone hogged; do
            port=$((port + 1))
            arg=""
            [ "$impl" = steer ] && arg=steer
            "$SERVER" "$port" 2 $arg 2>"$OUT/server-uneven.err" &
            spid=$!
            i=0
            until curl -s -o /dev/null "http://127.0.0.1:$port/hello"; do
                i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
            done
            hog=""
            if [ $with = hogged ]; then
                wrk -t1 -c2 -d"$((SECS + 2))"s "http://127.0.0.1:$port/slow" >/dev/null &
                hog=$!
                sleep 1
            fi
            lat=$(wrk -t1 -c20 -d"$SECS"s --latency "http://127.0.0.1:$port/hello" |
                awk 'function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; return v * 1e6 }
                     $1 == "50%" { p50 = us($2) } $1 == "99%" { p99 = us($2) } END { print p99, p50 }')
            [ -n "$hog" ] && wait "$hog" 2>/dev/null
            stop_server
            say "uneven $impl-$with round $round: p99 p50 $lat us"
            echo "uneven $impl-$with $round $lat" >>"$RAW"
        done
    done ;; esac
    case " $PARTS " in *" msg "*) ;; *) round=$((round + 1)); continue ;; esac
    for impl in $(rotate "corio corio-nopoll go tokio" "$round"); do
        case $impl in
        corio) out=$("$BUILD/bench/messaging" 200000 1000000 0 1) ;;
        corio-nopoll) out=$("$BUILD/bench/messaging" 20000 1000000 0 1 -1) ;;
        go) out=$(env GOMAXPROCS=2 taskset -c 0,1 "$OUT/go/go_chan" 200000 1000000) ;;
        tokio) [ -n "$TOKIO" ] || continue
               out=$(taskset -c 0,1 "$TOKIO" 200000 1000000) ;;
        esac
        echo "$out" | while read -r kind rate; do
            say "msg $impl-$kind round $round: $rate/s"
            echo "msg $impl-$kind $round $rate 0" >>"$RAW"
        done
    done
    round=$((round + 1))
done

say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
function median(part, impl, col,   n, i, j, t, v) {
    n = 0
    for (k in val) { split(k, f, SUBSEP); if (f[1] == part && f[2] == impl) v[++n] = (col == 4 ? val[k] : cpu[k]) }
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n ? (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) : 0
}
{ val[$1, $2, $3] = $4; cpu[$1, $2, $3] = $5
  if (!(($1, $2) in seen)) { seen[$1, $2] = 1; order[$1] = order[$1] " " $2 } }
END {
    printf "\n| CPU-bound /work | requests/s (median) | corio-2 / it | server CPU us/request |\n|---|---:|---:|---:|\n"
    n = split(order["cpu"], im, " "); c = median("cpu", "corio-2", 4)
    for (i = 1; i <= n; i++) { m = median("cpu", im[i], 4); printf "| %s | %.0f | %.2fx | %.1f |\n", im[i], m, m ? c / m : 0, median("cpu", im[i], 5) }
    printf "\n| hello world | requests/s (median) | corio-2 / it | server CPU us/request |\n|---|---:|---:|---:|\n"
    n = split(order["hello"], im, " "); c = median("hello", "corio-2", 4)
    for (i = 1; i <= n; i++) { m = median("hello", im[i], 4); printf "| %s | %.0f | %.2fx | %.2f |\n", im[i], m, m ? c / m : 0, median("hello", im[i], 5) }
    n = split(order["uneven"], im, " ")
    if (n) printf "\n| uneven load, GET /hello | p50 us (median) | p99 us (median) |\n|---|---:|---:|\n"
    for (i = 1; i <= n; i++) printf "| %s | %.0f | %.0f |\n", im[i], median("uneven", im[i], 5), median("uneven", im[i], 4)
    printf "\n| messaging | per second (median) |\n|---|---:|\n"
    n = split(order["msg"], im, " ")
    for (i = 1; i <= n; i++) printf "| %s | %.0f |\n", im[i], median("msg", im[i], 4)
    cc = median("msg", "corio-call", 4); gc = median("msg", "go-call", 4)
    tc = median("msg", "tokio-call", 4)
    if (gc) printf "\ncorio loop_call round trips / Go unbuffered channel round trips: %.2fx\n", cc / gc
    if (tc) printf "corio loop_call round trips / Tokio mpsc round trips: %.2fx\n", cc / tc
}' "$RAW" | tee "$OUT/table.md"
