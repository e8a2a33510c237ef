#!/bin/sh
# bench/redis/run.sh BUILD_DIR — GET and SET of 64-byte values at 50
# concurrent clients: corio-redis beside redis-benchmark (its own C client),
# Go redigo (GOMAXPROCS=1) and redis-py 4.3 asyncio on uvloop, all measured
# in this run against one throwaway redis-server (scripts/redis-test-server.sh).
#
#   unpipelined  one command in flight per client: corio with a pool of 50
#                connections (corio_redis_pool_command), redis-benchmark
#                -c 50 -P 1, redigo's Pool, redis-py's BlockingConnectionPool.
#   pipelined    corio: 50 tasks sharing 1 (and 2) connections, pipelined
#                automatically; redis-benchmark -c 50 -P 16; redigo and
#                redis-py: 50 clients sending pipelines of 16.
#
# The server is pinned to CPU 0 and every client to CPU 1 (PIN_SERVER,
# PIN_CLIENT; PIN=none: no pinning).  Client CPU per command is user +
# system time of the client process (/usr/bin/time) over the commands it
# ran (warm-up included).  Each cell is the median of REPS runs (default 3).
# N (default 200000) commands per unpipelined run, 5 N pipelined; redis-py
# runs a tenth of that.  Raw lines go to BUILD_DIR/bench/redis-results.txt,
# the table to BUILD_DIR/bench/redis-table.md.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REPS=${REPS:-3}
N=${N:-200000}
NP=$((N * 5))
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=$BUILD/bench
RAW=$OUT/redis-results.txt
TABLE=$OUT/redis-table.md
SRV=$OUT/redis-server
mkdir -p "$OUT"
: >"$RAW"
CORIO=$BUILD/bench/redis_bench
[ -x "$CORIO" ] || { echo "no $CORIO: build first (make bench does)" >&2; exit 1; }

if [ "${PIN:-}" = none ] || [ "$(nproc)" -lt 2 ]; then
    PS=""; PC=""
else
    PS="taskset -c ${PIN_SERVER:-0}"; PC="taskset -c ${PIN_CLIENT:-1}"
fi

"$ROOT/scripts/redis-test-server.sh" start "$SRV" >/dev/null
trap '"$ROOT/scripts/redis-test-server.sh" stop "$SRV"' EXIT
. "$SRV/env"
URL=$CORIO_REDIS_TEST_URL
HOSTPORT=${URL#redis://}
PORT=${HOSTPORT##*:}
[ -n "$PS" ] && taskset -apc "${PIN_SERVER:-0}" "$(cat "$SRV/redis.pid")" >/dev/null

have_go=0
if command -v go >/dev/null && [ -d /usr/share/gocode/src/github.com/gomodule/redigo ]; then
    mkdir -p "$OUT/redigo"
    if (cd "$OUT/redigo" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$OUT/redigo/cache" \
            GOFLAGS= GOPROXY=off go build -o redigo "$HERE/peers/redigo.go"); then
        have_go=1
    fi
fi
[ $have_go = 1 ] || echo "redigo skipped (Debian golang-go, golang-github-gomodule-redigo-dev)" >&2
have_py=0
"$PYTHON" -c 'import redis.asyncio, uvloop' 2>/dev/null && have_py=1 ||
    echo "redis-py skipped (Debian python3-redis, python3-uvloop)" >&2

# measure NAME OP COMMANDS -- CMD...: one run; appends "NAME OP ops/s cpu_us_per_op"
measure() {
    name=$1; op=$2; cmds=$3; shift 4
    tf=$(mktemp)
    rate=$(/usr/bin/time -f "%U %S" -o "$tf" "$@" | tail -n 1 | awk '{ print $1 }')
    cpu=$(awk -v n="$cmds" '{ printf "%.3f", ($1 + $2) * 1e6 / n }' "$tf")
    rm -f "$tf"
    echo "$name $op $rate $cpu" >>"$RAW"
}

rb_rate() { # redis-benchmark --csv: "GET","52548.61",...
    tr -d '"' | awk -F, '/^(GET|SET),/ { print $2 }'
}

for rep in $(seq "$REPS"); do
    for op in get set; do
        OPU=$(echo "$op" | tr a-z A-Z)
        measure corio-pool $op $((N + N / 10)) -- $PC "$CORIO" "$URL" pooled $op 50 50 "$N"
        measure rb-P1 $op "$N" -- sh -c "$PC redis-benchmark -p $PORT -c 50 -P 1 -n $N -d 64 -t $op --csv | tr -d '\"' | awk -F, '/^$OPU,/ { print \$2 }'"
        measure corio-shared1 $op $((NP + NP / 10)) -- $PC "$CORIO" "$URL" shared $op 50 1 "$NP"
        measure corio-shared2 $op $((NP + NP / 10)) -- $PC "$CORIO" "$URL" shared $op 50 2 "$NP"
        measure rb-P16 $op "$NP" -- sh -c "$PC redis-benchmark -p $PORT -c 50 -P 16 -n $NP -d 64 -t $op --csv | tr -d '\"' | awk -F, '/^$OPU,/ { print \$2 }'"
        if [ $have_go = 1 ]; then
            measure redigo-pool $op $((N + N / 10)) -- env GOMAXPROCS=1 $PC "$OUT/redigo/redigo" "$HOSTPORT" pooled $op 50 "$N"
            measure redigo-P16 $op $((NP + NP / 10)) -- env GOMAXPROCS=1 $PC "$OUT/redigo/redigo" "$HOSTPORT" pipelined $op 50 "$NP"
        fi
        if [ $have_py = 1 ]; then
            measure redis-py-pool $op $((N / 10 + N / 100)) -- $PC "$PYTHON" "$HERE/peers/redis_py.py" "$URL" pooled $op 50 $((N / 10))
            measure redis-py-P16 $op $((NP / 10 + NP / 100)) -- $PC "$PYTHON" "$HERE/peers/redis_py.py" "$URL" pipelined $op 50 $((NP / 10))
        fi
    done
done

# Medians and the table.
awk -v reps="$REPS" -v machine="$(nproc) CPUs, $(uname -r)" '
function median(s,   a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((n + 1) / 2)]
}
{ k = $1 " " $2; rate[k] = rate[k] " " $3; cpu[k] = cpu[k] " " $4; if (!(k in seen)) { seen[k] = 1; order[++no] = k } }
END {
    print "| client (50 concurrent) | op | ops/s | client CPU µs/op | ratio |"
    print "|---|---|---:|---:|---:|"
    for (i = 1; i <= no; i++) {
        k = order[i]; split(k, p, " ")
        r = median(rate[k]); c = median(cpu[k])
        ref = (p[1] ~ /P16|shared/) ? "rb-P16 " p[2] : "redigo-pool " p[2]
        if (!(ref in seen)) ref = "rb-P1 " p[2]
        rr = median(rate[ref])
        printf "| %s | %s | %.0f | %.2f | %.2fx %s |\n", p[1], toupper(p[2]), r, c, (rr > 0 ? r / rr : 0), substr(ref, 1, index(ref, " ") - 1)
    }
    printf "\nMedian of %d runs; %s; server pinned to CPU 0, clients to CPU 1.\n", reps, machine
}' "$RAW" | tee "$TABLE"
