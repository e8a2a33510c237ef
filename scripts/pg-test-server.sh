#!/bin/sh
# A throwaway PostgreSQL 15 cluster for corio-pg's tests and examples.
#
#   usage: pg-test-server.sh start DIR    make DIR, initdb, start, print the DSN
#          pg-test-server.sh stop DIR     stop the server by its PID, remove DIR
#          pg-test-server.sh env DIR      print the shell exports for DIR
#          pg-test-server.sh restart DIR  fast restart (the tests' outage)
#
# The cluster listens on 127.0.0.1 on a free port and on a Unix socket in
# DIR/sock.  Users: the superuser `postgres` (trust), `corio_scram`
# (password "scram-pw", SCRAM-SHA-256 over TCP) and `corio_md5` (password
# "md5-pw", md5 over TCP); database `corio`.  TLS is on with a CA made here
# (DIR/ca.crt; the server certificate names localhost and 127.0.0.1).
#
# DIR/dsn holds the superuser's URL; the tests read it through
# CORIO_PG_TEST_DIR=DIR (or take CORIO_PG_TEST_DSN directly).  initdb
# refuses to run as root, so as root the cluster is made and run as the
# `postgres` user.  Stopping is by the postmaster's PID, never by name.
set -eu

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop|env DIR" >&2
    exit 2
fi

bindir=
for d in /usr/lib/postgresql/15/bin /usr/local/bin /usr/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then bindir=$d; break; fi
done

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    if [ -z "$bindir" ]; then
        echo "pg-test-server: no PostgreSQL server binaries (Debian: postgresql-15)" >&2
        exit 1
    fi
    if [ -f "$dir/data/postmaster.pid" ]; then
        "$0" stop "$dir" || true
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    mkdir -p "$dir/sock"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    # The test CA and a server certificate for localhost / 127.0.0.1.
    (
        cd "$dir"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=corio test CA" \
            -keyout ca.key -out ca.crt >/dev/null 2>&1
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
            -keyout server.key -out server.csr >/dev/null 2>&1
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -days 2 -extfile san.ext -out server.crt >/dev/null 2>&1
        chmod 600 server.key
    )
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres "$dir"
    fi
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
        --no-sync >"$dir/initdb.log" 2>&1
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/sock'
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 32MB
EOF
    cat >"$dir/data/pg_hba.conf" <<EOF
local all all trust
host all corio_scram 127.0.0.1/32 scram-sha-256
host all corio_md5 127.0.0.1/32 md5
host all all 127.0.0.1/32 trust
EOF
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null
    as_pg "$bindir/psql" -X -q -h "$dir/sock" -p "$port" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 >/dev/null <<EOF
CREATE DATABASE corio;
CREATE USER corio_scram PASSWORD 'scram-pw';
SET password_encryption = 'md5';
CREATE USER corio_md5 PASSWORD 'md5-pw';
GRANT ALL ON DATABASE corio TO corio_scram, corio_md5;
\c corio
GRANT ALL ON SCHEMA public TO corio_scram, corio_md5;
EOF
    echo "postgresql://postgres@127.0.0.1:$port/corio" >"$dir/dsn"
    echo "$port" >"$dir/port"
    cat "$dir/dsn"
    ;;
stop)
    [ -d "$dir" ] || exit 0
    pidfile=$dir/data/postmaster.pid
    if [ -f "$pidfile" ]; then
        pid=$(head -n 1 "$pidfile")
        if kill -INT "$pid" 2>/dev/null; then    # fast shutdown
            i=0
            while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
                sleep 0.1; i=$((i + 1))
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$dir"
    ;;
restart)
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 30 \
        restart >/dev/null
    ;;
env)
    dir=$(cd "$dir" && pwd)
    echo "export CORIO_PG_TEST_DIR=$dir"
    echo "export CORIO_PG_TEST_DSN=$(cat "$dir/dsn")"
    ;;
*)
    echo "usage: $0 start|stop|restart|env DIR" >&2
    exit 2
    ;;
esac
