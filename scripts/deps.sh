#!/bin/sh
# Install the Debian packages a profile needs, when missing (root + apt).
#   build  compiler and CMake (make, make test, make demo); libhttp-parser
#          is the peer of the fuzz corpus replay (fuzz/differential.c),
#          curl and python3-websockets real peers in the tests;
#          libhiredis-dev for corio-redis, redis-server and redis-tools for
#          its tests (scripts/redis-test-server.sh); libpq-dev for corio-pg
#          and postgresql-15 for its throwaway test server
#          (scripts/pg-test-server.sh)
#   bench  the benchmark peers: Go, Python's uvloop, wrk and ab
#          (apache2-utils) beside corio-fetch -z; redis-server, redis-tools
#          (redis-benchmark), python3-redis and redigo beside corio-redis;
#          asyncpg, psycopg, pgx, lib/pq, FastAPI + uvicorn beside corio-pg
#   ci     clang with sanitizer runtimes, aarch64 cross gcc, qemu-user,
#          and the arm64 libraries the cross build links
set -e
case "$1" in
build) pkgs="gcc make cmake libc6-dev pkg-config binutils libssl-dev openssl liburing-dev zlib1g-dev libjansson-dev curl libhttp-parser-dev python3-websockets libhiredis-dev redis-server redis-tools libpq-dev postgresql-15" ;;
bench) pkgs="golang-go python3 python3-uvloop util-linux wrk apache2-utils redis-server redis-tools python3-redis golang-github-gomodule-redigo-dev python3-asyncpg python3-psycopg golang-github-jackc-pgx-v4-dev golang-github-lib-pq-dev python3-fastapi python3-uvicorn curl time cargo rustc librust-tokio-dev" ;;
ci)    pkgs="clang clang-format libclang-rt-14-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libssl-dev:arm64 liburing-dev:arm64 zlib1g-dev:arm64 libjansson-dev:arm64 libhttp-parser-dev time" ;;
*) echo "usage: $0 build|bench|ci" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "corio: please install these Debian packages:$missing" >&2
    exit 1
fi
echo "corio: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# The aarch64 cross build links Debian's arm64 OpenSSL and liburing.
case "$missing" in
*:arm64*) dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64 ;;
esac
apt-get update -qq >/dev/null
apt-get install -y -qq $missing >/dev/null
