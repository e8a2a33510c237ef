#!/bin/sh
# bench/http/run.sh BUILD_DIR — HTTP/1.1, server and client, corio beside
# its peers measured in the same run.  `make bench` calls this with
# build-bench; docs/performance.md ("HTTP") explains the method.
#
# Server: each server (corio on io_uring and on epoll, nginx, Go net/http,
# Node, aiohttp on uvloop) answers GET / with "Hello, World!" (text/plain,
# keep-alive), pinned to CPU SERVER_CPU; wrk -t1 -c100 pinned to CLIENT_CPU
# measures requests/s for SECS seconds after a 1 s warm-up, and the
# server's CPU time (user + system, from /proc) per request over the same
# seconds: wrk saturates its own core near nginx's rate, so CPU per request
# compares the servers where requests/s cannot.
# Client: nginx (one worker, pinned to SERVER_CPU) serves the same page; each
# client (corio on both engines, Go net/http, aiohttp, libcurl multi), pinned
# to CLIENT_CPU, makes REQS requests CONC at a time over its keep-alive pool.
# REPS rounds, the order rotating; the table gives medians and ratios.
#
# Environment: REPS (3), SECS (5), REQS (10000), CONC (100), PORT (7950),
# SERVERS (corio-uring corio-epoll nginx go node aiohttp),
# CLIENTS (corio-uring corio-epoll go aiohttp curl), SERVER_CPU (0),
# CLIENT_CPU (1), PYTHON (/usr/bin/python3), GO (go), NODE (node).
# Raw `part impl round value` lines go to BUILD_DIR/http/results.txt, the
# table to BUILD_DIR/http/table.md.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
REPS=${REPS:-3}
SECS=${SECS:-5}
REQS=${REQS:-10000}
CONC=${CONC:-100}
PORT=${PORT:-7950}
SERVERS=${SERVERS:-corio-uring corio-epoll nginx go node aiohttp}
CLIENTS=${CLIENTS:-corio-uring corio-epoll go aiohttp curl}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PYTHON=${PYTHON:-/usr/bin/python3}
GO=${GO:-go}
NODE=${NODE:-node}
CC=${CC:-cc}
OUT=$BUILD/http
RAW=$OUT/results.txt
mkdir -p "$OUT"
: >"$RAW"

say() { echo "http: $*" >&2; }

# ---- packages and builds -------------------------------------------------------
pkgs="wrk nginx-light libcurl4-openssl-dev golang-go nodejs python3-aiohttp python3-uvloop curl"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing$missing"
    (export DEBIAN_FRONTEND=noninteractive
     apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null) ||
        say "could not install$missing; those peers are skipped"
fi
command -v wrk >/dev/null || { say "no wrk: nothing to measure"; exit 1; }

CFLAGS="-O2 -Wall -Wextra"
libs="$BUILD/libcorio-http.a $BUILD/libcorio-tls.a $BUILD/libcorio.a $(pkg-config --libs libssl libcrypto zlib jansson) $(pkg-config --libs liburing 2>/dev/null || :) -lpthread -lm"
for p in corio_server corio_client; do
    $CC $CFLAGS -I"$SRC/include" -o "$OUT/$p" "$HERE/$p.c" $libs || say "$p not built"
done
$CC $CFLAGS -o "$OUT/curl_multi" "$HERE/peers/curl_multi.c" -lcurl || say "libcurl client not built"
for p in go_server go_client; do
    (mkdir -p "$OUT/go" && cd "$OUT/go" &&
     GOCACHE="$OUT/go/cache" GOPATH="$OUT/go/path" GOFLAGS= GOPROXY=off \
         "$GO" build -o "$p" "$HERE/peers/$p/main.go") || say "go build of $p failed"
done
cat >"$OUT/nginx.conf" <<EOF2
worker_processes 1;
daemon off;
master_process off;
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
        listen 127.0.0.1:@PORT@ backlog=4096;
        location / { default_type text/plain; return 200 "Hello, World!"; }
    }
}
EOF2
mkdir -p "$OUT/nginx-tmp"

# ---- servers -------------------------------------------------------------------
spid=""
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; exit 130' INT TERM

# start_server IMPL PORT: pinned, in the background, $spid its pid; waits
# until it answers.
start_server() {
    impl=$1 port=$2
    case $impl in
    corio-uring) set -- env CORIO_ENGINE=uring "$OUT/corio_server" "$port" ;;
    corio-epoll) set -- env CORIO_ENGINE=epoll "$OUT/corio_server" "$port" ;;
    nginx) sed "s/@PORT@/$port/" "$OUT/nginx.conf" >"$OUT/nginx-$port.conf"
           set -- nginx -c "$OUT/nginx-$port.conf" ;;
    go) set -- env GOMAXPROCS=1 "$OUT/go/go_server" "$port" ;;
    node) set -- "$NODE" "$HERE/peers/node_server.js" "$port" ;;
    aiohttp) set -- "$PYTHON" "$HERE/peers/aiohttp_server.py" "$port" uvloop ;;
    esac
    taskset -c "$SERVER_CPU" "$@" 2>"$OUT/server-$impl.err" &
    spid=$!
    i=0
    until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
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

# CPU ticks (user + system) a process has used.
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# wrk's "Requests/sec:" line.
wrk_rate() {
    taskset -c "$CLIENT_CPU" wrk -t1 -c100 -d"$1"s "http://127.0.0.1:$2/" |
        awk '/^Requests\/sec:/ { print $2 }'
}

# rotate LIST ROUND: the list, started at position ROUND.
rotate() {
    echo "$1" | awk -v r="$2" '{ n = NF; for (i = 0; i < n; i++) printf "%s ", $((i + r) % n + 1) }'
}

port=$PORT
round=1
while [ $round -le "$REPS" ]; do
    for impl in $(rotate "$SERVERS" "$round"); do
        port=$((port + 1))
        start_server "$impl" "$port" || { stop_server; continue; }
        wrk_rate 1 "$port" >/dev/null
        t0=$(cpu_ticks "$spid")
        rate=$(wrk_rate "$SECS" "$port")
        t1=$(cpu_ticks "$spid")
        stop_server
        us=$(awk -v a="$t0" -v b="$t1" -v r="$rate" -v s="$SECS" -v hz="$(getconf CLK_TCK)" \
            'BEGIN { printf "%.3f", (b - a) / hz * 1e6 / (r * s) }')
        say "server $impl round $round: $rate req/s, $us us CPU/request"
        echo "server $impl $round $rate" >>"$RAW"
        echo "cpu $impl $round $us" >>"$RAW"
    done
    round=$((round + 1))
done

# ---- clients -------------------------------------------------------------------
port=$((port + 1))
start_server nginx "$port"
url="http://127.0.0.1:$port/"
round=1
while [ $round -le "$REPS" ]; do
    for impl in $(rotate "$CLIENTS" "$round"); do
        case $impl in
        corio-uring) set -- env CORIO_ENGINE=uring "$OUT/corio_client" ;;
        corio-epoll) set -- env CORIO_ENGINE=epoll "$OUT/corio_client" ;;
        go) set -- env GOMAXPROCS=1 "$OUT/go/go_client" ;;
        aiohttp) set -- "$PYTHON" "$HERE/peers/aiohttp_client.py" ;;
        curl) set -- "$OUT/curl_multi" ;;
        esac
        if secs=$(taskset -c "$CLIENT_CPU" "$@" "$url" "$REQS" "$CONC" 2>"$OUT/client-$impl.err"); then
            rate=$(awk -v n="$REQS" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
            say "client $impl round $round: $rate req/s"
            echo "client $impl $round $rate" >>"$RAW"
        else
            say "client $impl failed: $(head -c 300 "$OUT/client-$impl.err")"
        fi
    done
    round=$((round + 1))
done
stop_server

# ---- table ---------------------------------------------------------------------
awk '
function median(part, impl,   n, i, j, t, v) {
    n = 0
    for (k in val) { split(k, f, SUBSEP); if (f[1] == part && f[2] == impl) v[++n] = val[k] }
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n ? (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) : 0
}
{ val[$1, $2, $3] = $4; if (!(($1, $2) in seen)) { seen[$1, $2] = 1; order[$1] = order[$1] " " $2 } }
END {
    split("server client", parts, " ")
    for (p = 1; p <= 2; p++) {
        part = parts[p]; n = split(order[part], impls, " ")
        best = 0; corio = 0
        for (i = 1; i <= n; i++) {
            m[impls[i]] = median(part, impls[i])
            if (impls[i] !~ /^corio/ && m[impls[i]] > best) { best = m[impls[i]]; bestname = impls[i] }
            if (impls[i] ~ /^corio/ && m[impls[i]] > corio) corio = m[impls[i]]
        }
        if (part == "server") {
            printf "\n| server | requests/s (median) | corio best / it | CPU us/request (median) |\n|---|---:|---:|---:|\n"
            for (i = 1; i <= n; i++)
                printf "| %s | %.0f | %.2fx | %.2f |\n", impls[i], m[impls[i]], corio / m[impls[i]], median("cpu", impls[i])
        } else {
            printf "\n| client | requests/s (median) | corio best / it |\n|---|---:|---:|\n"
            for (i = 1; i <= n; i++)
                printf "| %s | %.0f | %.2fx |\n", impls[i], m[impls[i]], corio / m[impls[i]]
        }
        if (best) printf "\ncorio / best peer (%s): %.2fx\n", bestname, corio / best
    }
}' "$RAW" | tee "$OUT/table.md"
