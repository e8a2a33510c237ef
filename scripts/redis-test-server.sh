#!/bin/sh
# A throwaway redis-server for the tests (ctest fixture redis_server, and
# by hand):
#   redis-test-server.sh start DIR    start one with its files in DIR
#   redis-test-server.sh restart DIR  stop it and start it again on the same
#                                     ports (the server-restart test)
#   redis-test-server.sh stop DIR     stop it (by its PID) and remove DIR
# It listens on 127.0.0.1 on a free TCP port, on DIR/redis.sock, and on a
# TLS port with a certificate of a CA made here (DIR/ca.crt; DIR/other-ca.crt
# is a CA that did not sign it), saves nothing, allows DEBUG, and has an ACL
# user alice with password "s3cret:@/" (characters a URL must escape).
# Tests read DIR/env (shell assignments): CORIO_REDIS_TEST_URL,
# CORIO_REDIS_TEST_UNIX, CORIO_REDIS_TEST_TLS_URL, CORIO_REDIS_TEST_CA,
# CORIO_REDIS_TEST_OTHER_CA, CORIO_REDIS_TEST_PIDFILE.
set -e
cmd=$1
dir=$2
[ -n "$dir" ] || { echo "usage: $0 start|restart|stop DIR" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "redis-server missing: scripts/deps.sh build" >&2; exit 1; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop() {
    if [ -f "$dir/redis.pid" ]; then
        pid=$(cat "$dir/redis.pid")
        kill "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/redis.pid"
    fi
}

certs() {
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=corio test CA" \
        -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" \
        -keyout other-ca.key -out other-ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
        -days 2 -extfile san.ext -out server.crt 2>/dev/null
    cd - >/dev/null
}

launch() {
    # $1 port, $2 tls port
    redis-server --daemonize yes --pidfile "$dir/redis.pid" --dir "$dir" \
        --logfile "$dir/redis.log" --bind 127.0.0.1 --port "$1" \
        --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
        --tls-port "$2" --tls-cert-file "$dir/server.crt" \
        --tls-key-file "$dir/server.key" --tls-ca-cert-file "$dir/ca.crt" \
        --tls-auth-clients no --save '' --appendonly no \
        --enable-debug-command yes --maxclients 1000 \
        --user alice on '>s3cret:@/' '~*' '&*' '+@all'
    i=0
    while [ $i -lt 100 ]; do
        if [ -S "$dir/redis.sock" ] && redis-cli -s "$dir/redis.sock" ping 2>/dev/null | grep -q PONG; then
            return 0
        fi
        sleep 0.05
        i=$((i+1))
    done
    return 1
}

case "$cmd" in
start)
    stop
    rm -rf "$dir"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    certs
    tries=0
    while :; do
        port=$(free_port)
        tport=$(free_port)
        if launch "$port" "$tport"; then break; fi
        stop
        tries=$((tries+1))
        [ $tries -lt 5 ] || { cat "$dir/redis.log" >&2; exit 1; }
    done
    echo "$port $tport" > "$dir/ports"
    cat > "$dir/env" <<EOT
CORIO_REDIS_TEST_URL=redis://127.0.0.1:$port
CORIO_REDIS_TEST_UNIX=$dir/redis.sock
CORIO_REDIS_TEST_TLS_URL=rediss://localhost:$tport
CORIO_REDIS_TEST_CA=$dir/ca.crt
CORIO_REDIS_TEST_OTHER_CA=$dir/other-ca.crt
CORIO_REDIS_TEST_PIDFILE=$dir/redis.pid
EOT
    echo "redis-server on 127.0.0.1:$port, $dir/redis.sock, TLS :$tport (pid $(cat "$dir/redis.pid"))"
    ;;
restart)
    dir=$(cd "$dir" && pwd)
    read -r port tport < "$dir/ports"
    stop
    rm -f "$dir/redis.sock"
    launch "$port" "$tport" || { cat "$dir/redis.log" >&2; exit 1; }
    ;;
stop)
    stop
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|restart|stop DIR" >&2
    exit 2
    ;;
esac
