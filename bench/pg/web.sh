#!/bin/sh
# The seeds' async web service under wrk: examples/web_service.c (corio's
# HTTP server + corio-pg pool) beside its twins, Go net/http + pgx v4
# (GOMAXPROCS=1) and FastAPI + uvicorn + asyncpg on uvloop, one process
# each, all with a pool of 4 connections.  PostgreSQL and wrk share CPU 0,
# the app has CPU 1.  For each endpoint: requests/s from wrk -t1 -c100,
# and the CPU per request of the app, of PostgreSQL (all its processes) and
# of wrk.  Rounds interleave the apps so the machine's drift hits all.
# corio runs both GETs on shared, pipelined pool connections
# (corio_pg_pool_query, corio_pg_pool_batch_send); corio_lease is the same
# app with --lease, each request holding a connection of its own for its
# round trip (as the Go and FastAPI twins do).  corio_rall is corio with
# the pool's full reset (asyncpg's) on every return to idle; the app's
# default resets only what was used.
# Issue 13's lines: corio with 2 loops (--loops 2, a listener and a pool
# of 2 per loop) beside Go with GOMAXPROCS=2 (pool of 4), both allowed on
# CPUs 0 and 1, sharing them with PostgreSQL and wrk.
#
#   bench/pg/web.sh BUILD_DIR [SECONDS] [ROUNDS]
set -eu
build=${1:-build-bench}
secs=${2:-5}
rounds=${3:-2}
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/corio-pg-web.XXXXXX)
chmod 755 "$dir"
app=
trap '[ -z "$app" ] || kill $app 2>/dev/null || true; sh "$root/scripts/pg-test-server.sh" stop "$dir/srv" >/dev/null 2>&1; rm -rf "$dir"' EXIT
pin0= pin1= pin01=
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin0="taskset -c 0"; pin1="taskset -c 1"; pin01="taskset -c 0,1"
fi
$pin0 sh "$root/scripts/pg-test-server.sh" start "$dir/srv" >/dev/null
export DATABASE_URL="$(cat "$dir/srv/dsn")?sslmode=disable"
port=${WEB_PORT:-$((20000 + $$ % 20000))} # not a fixed port: other runs may hold it
impls="corio corio_lease corio_rall corio2"
if command -v go >/dev/null && (cd "$dir" && GO111MODULE=off GOPATH=/usr/share/gocode \
        GOCACHE="$dir/gocache" GOFLAGS= GOPROXY=off \
        go build -o go_web "$root/bench/pg/peers/go_web.go") 2>/dev/null; then
    impls="$impls go go2"
else
    echo "go net/http + pgx skipped (Debian golang-go, golang-github-jackc-pgx-v4-dev)"
fi
if /usr/bin/python3 -c "import fastapi, uvicorn, asyncpg" 2>/dev/null; then
    impls="$impls fastapi"
else
    echo "FastAPI skipped (python3-fastapi, python3-uvicorn, python3-asyncpg)"
fi
# The corio app creates and fills ws_users; the twins use them.
"$build/examples/web_service" >/dev/null

ticks() { # total CPU ticks of the given pids
    t=0
    for p in "$@"; do
        s=$(cut -d')' -f2 /proc/$p/stat 2>/dev/null) || continue
        t=$((t + $(echo "$s" | awk '{print $12 + $13}')))
    done
    echo $t
}
start_app() {
    case $1 in
    corio) $pin1 "$build/examples/web_service" $port >/dev/null & ;;
    corio_lease) $pin1 "$build/examples/web_service" $port --lease >/dev/null & ;;
    corio_rall) $pin1 "$build/examples/web_service" $port --reset-all >/dev/null & ;;
    corio2) $pin01 "$build/examples/web_service" $port --loops 2 >/dev/null & ;;
    go) GOMAXPROCS=1 $pin1 "$dir/go_web" $port & ;;
    go2) GOMAXPROCS=2 $pin01 "$dir/go_web" $port & ;;
    fastapi) $pin1 /usr/bin/python3 "$root/bench/pg/peers/fastapi_app.py" $port & ;;
    esac
    app=$!
    for i in $(seq 50); do
        curl -sf "http://127.0.0.1:$port/users/2" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "$1 did not start" >&2
    return 1
}
# This run's PostgreSQL: its postmaster and children (other servers on the
# machine, e.g. other test runs', are not ours to count).
pgpids() {
    pm=$(head -n 1 "$dir/srv/data/postmaster.pid")
    echo "$pm"; pgrep -P "$pm"
}
hz=$(getconf CLK_TCK)
echo "web service under wrk -t1 -c100, ${secs}s per line, $rounds rounds; PostgreSQL and wrk on CPU 0, the app on CPU 1"
echo "machine: $(nproc) CPUs, $(uname -r); load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "app      endpoint          req/s   CPU/request: app      PostgreSQL   wrk"
for r in $(seq "$rounds"); do
    for impl in $impls; do
        start_app $impl || continue
        wrk -t1 -c20 -d1 "http://127.0.0.1:$port/users/2" >/dev/null 2>&1 # warm
        for path in "/users/2" "/queries?n=20"; do
            for p in $(pgpids); do echo "$p $(ticks $p)"; done >"$dir/pg0"
            a0=$(ticks $app)
            out=$($pin0 /usr/bin/time -f "wrkcpu %U %S" wrk -t1 -c100 -d"$secs" "http://127.0.0.1:$port$path" 2>&1)
            a1=$(ticks $app)
            # PostgreSQL: every process now, less what it had used at the
            # start (a backend that started and ended during the run is
            # missed; it would be the pool's, which keeps its connections).
            p=$(for p in $(pgpids); do echo "$p $(ticks $p)"; done |
                awk 'NR == FNR {t0[$1] = $2; next} {d += $2 - t0[$1]} END {print d + 0}' "$dir/pg0" -)
            rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
            n=$(echo "$out" | awk '/requests in/ {print $1}')
            w=$(echo "$out" | awk '/wrkcpu/ {print $2 + $3}')
            bad=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
            awk -v i=$impl -v p="$path" -v r="$rps" -v n="$n" -v a=$((a1 - a0)) \
                -v g="$p" -v w="$w" -v hz="$hz" -v bad="$bad" 'BEGIN {
                printf "%-10s %-14s %8.0f   %13.1f us %9.1f us %6.1f us %s\n",
                    i, p, r, a / hz / n * 1e6, g / hz / n * 1e6, w / n * 1e6, bad }'
        done
        kill $app 2>/dev/null || true # an app that failed to start is gone
        wait $app 2>/dev/null || true; app=
    done
done
