#!/bin/sh
# PostgreSQL client benchmark: corio-pg beside plain libpq (the floor of
# client cost), asyncpg and psycopg 3 (Debian python3-asyncpg,
# python3-psycopg, on uvloop when installed), and Go pgx v4 (pgxpool) and
# lib/pq (Debian golang-github-jackc-pgx-v4-dev, golang-github-lib-pq-dev,
# built offline with GO111MODULE=off, run with GOMAXPROCS=1), against a
# throwaway server pinned to CPU 0 with the clients on CPU 1.  Every query
# here is server-bound on a small machine, so the figure that separates
# clients is CPU per query on the client side.  A peer whose packages are
# missing is skipped with a note.
#
#   bench/pg/run.sh BUILD_DIR [SECONDS]
set -eu
build=${1:-build-bench}
secs=${2:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/corio-pg-bench.XXXXXX)
chmod 755 "$dir"   # the server runs as postgres
trap 'sh "$root/scripts/pg-test-server.sh" stop "$dir/srv" >/dev/null 2>&1; rm -rf "$dir"' EXIT
pin0= pin1=
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin0="taskset -c 0"; pin1="taskset -c 1"
fi
$pin0 sh "$root/scripts/pg-test-server.sh" start "$dir/srv" >/dev/null
dsn="$(cat "$dir/srv/dsn")?sslmode=disable"
cc -O2 -o "$dir/libpq_bench" "$root/bench/pg/libpq_bench.c" -I"$(pg_config --includedir)" -lpq
bin=$build/bench/corio_pg_bench
gobench=
if command -v go >/dev/null && (cd "$dir" && GO111MODULE=off GOPATH=/usr/share/gocode \
        GOCACHE="$dir/gocache" GOFLAGS= GOPROXY=off \
        go build -o go_bench "$root/bench/pg/peers/go_bench.go") 2>/dev/null; then
    gobench="$dir/go_bench"
else
    echo "pgx, lib/pq skipped (golang-go, golang-github-jackc-pgx-v4-dev, golang-github-lib-pq-dev)"
fi
py() { # driver args...: the Python peer, if its module is there
    if /usr/bin/python3 -c "import $1" 2>/dev/null; then
        $pin1 /usr/bin/python3 "$root/bench/pg/py_bench.py" "$@"
    else
        echo "$1 skipped (python3-$1 not installed)"
    fi
}
echo "PostgreSQL client benchmark, ${secs}s per line; server on CPU 0, clients on CPU 1"
echo "machine: $(nproc) CPUs, $(uname -r); load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for q in select1 series1000 pgtype; do
    echo "== $q"
    $pin1 "$dir/libpq_bench" "$dsn" $q "$secs"
    $pin1 "$bin" "$dsn" $q 10 10 "$secs"
    $pin1 "$bin" "$dsn" $q 10 2 "$secs"
    $pin1 "$bin" "$dsn" $q 10 1 "$secs"
    py asyncpg "$dsn" $q 10 10 "$secs"
    py psycopg "$dsn" $q 10 10 "$secs"
    if [ -n "$gobench" ]; then
        GOMAXPROCS=1 $pin1 "$gobench" pgx "$dsn" $q 10 10 "$secs"
        GOMAXPROCS=1 $pin1 "$gobench" pq "$dsn" $q 10 10 "$secs"
    fi
done
# Writes: insert1000 is one operation of 1,000 rows (corio_pg_execmany,
# libpq in pipeline mode, asyncpg and psycopg executemany, a pgx Batch: one
# sync each), copy100k one COPY FROM of 100,000 rows (pgx CopyFrom,
# asyncpg copy_records_to_table, psycopg cursor.copy); "q/s" counts
# operations.  The table is emptied before every client.
psql -q "$dsn" -c "CREATE UNLOGGED TABLE IF NOT EXISTS bench_rows (a int, b text)"
fresh() { psql -q "$dsn" -c "TRUNCATE bench_rows"; }
for q in insert1000 copy100k; do
    echo "== $q"
    fresh; $pin1 "$dir/libpq_bench" "$dsn" $q "$secs"
    fresh; $pin1 "$bin" "$dsn" $q 10 10 "$secs"
    fresh; py asyncpg "$dsn" $q 10 10 "$secs"
    fresh; py psycopg "$dsn" $q 10 10 "$secs"
    if [ -n "$gobench" ]; then
        fresh; GOMAXPROCS=1 $pin1 "$gobench" pgx "$dsn" $q 10 10 "$secs"
    fi
done
