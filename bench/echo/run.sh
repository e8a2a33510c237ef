#!/bin/sh
# bench/echo/run.sh BUILD_DIR — TCP echo, as Photon measures it: corio's echo
# server (epoll and io_uring engines) beside libuv, Go, Tokio, asyncio+uvloop
# and Node, driven by one load client (bench/echo/client.c); then a corio
# server holding 10,000 connections for 60 s.  `make bench` calls this with
# build-bench after building the library there; docs/performance.md ("TCP
# echo") explains the method.
#
# Every server listens on 127.0.0.1 pinned to CPU SERVER_CPU (0), the client
# runs pinned to CPU CLIENT_CPU (1).  In each round every server runs once,
# a fresh process, measured streaming then ping-pong with CONNS connections
# and SIZE-byte messages (the order of the servers rotates from round to
# round); REPS rounds; the table gives medians.  Nothing is typed in.
#
# Two configurations (CONFIG):
#   bulk    (the default) every server reads up to 16 KiB per call, which
#           coalesces the echoes of a streaming window by accident;
#   photon  Photon's published method exactly: 512-byte reads in every
#           server (corio's included), streaming with 4 connections x 256
#           messages in flight, ping-pong with 1,000 connections, no hold
#           test; Node is left out (its read size cannot be set).
#
# Environment: CONFIG (bulk), REPS (5), SECS (seconds measured per run, 2),
# WARMUP (0.5), CONNS (ping-pong connections, 1000), STREAM_CONNS (streaming
# connections, CONNS; photon 4), SIZE (512), READ (bytes per server read,
# 16384; photon 512), WINDOW (streaming messages in flight per connection,
# 16; photon 256), SERVERS (default all: corio-epoll corio-uring libuv go
# tokio uvloop node; corio-epoll-raw and corio-uring-raw can be added: the
# corio server on corio_fd_read/corio_fd_write, without the stream layer;
# corio-uring-multishot: io_uring with the streams' multishot read-ahead,
# CORIO_URING_MULTISHOT=1), HOLD_CONNS (10000), HOLD_SECS (60; 0 skips the hold
# test), HOLD_ENGINES (uring), PORT (first port, 7910; the hold uses PORT+21...), SERVER_CPU, CLIENT_CPU,
# PYTHON (/usr/bin/python3), GO (go), NODE (node), CARGO (/usr/bin/cargo),
# PRIORITY (below).
# Raw `impl round metric value` lines go to BUILD_DIR/echo/results.txt and
# the table also to BUILD_DIR/echo/table.md (photon: BUILD_DIR/echo-photon).
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi

# PRIORITY=high (the default as root): run in a session of its own whose
# scheduler autogroup has nice -20, so that other work on the machine (each
# terminal session is an autogroup of its own, where plain nice does not
# reach) takes little of the two pinned CPUs.  PRIORITY=normal: as started.
if [ "${PRIORITY:-high}" = high ] && [ -z "${ECHO_SESSION:-}" ] && [ "$(id -u)" = 0 ] &&
    [ -w /proc/self/autogroup ] && command -v setsid >/dev/null; then
    ECHO_SESSION=1 setsid "$0" "$@" &
    child=$!
    trap 'kill $child 2>/dev/null' INT TERM
    wait $child && exit 0 || exit $?
fi
if [ -n "${ECHO_SESSION:-}" ]; then
    echo -20 >/proc/self/autogroup 2>/dev/null || :
    renice -n -20 $$ >/dev/null 2>&1 || :
fi
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
CONFIG=${CONFIG:-bulk}
case $CONFIG in
bulk) OUT=$BUILD/echo ;;
photon)
    OUT=$BUILD/echo-photon
    READ=${READ:-512} STREAM_CONNS=${STREAM_CONNS:-4} WINDOW=${WINDOW:-256}
    HOLD_SECS=${HOLD_SECS:-0} SERVERS=${SERVERS:-corio-epoll corio-uring libuv go tokio uvloop}
    ;;
*)
    echo "$0: CONFIG is bulk or photon" >&2
    exit 2
    ;;
esac
REPS=${REPS:-5}
SECS=${SECS:-2}
WARMUP=${WARMUP:-0.5}
CONNS=${CONNS:-1000}
STREAM_CONNS=${STREAM_CONNS:-$CONNS}
SIZE=${SIZE:-512}
READ=${READ:-16384}
WINDOW=${WINDOW:-16}
SERVERS=${SERVERS:-corio-epoll corio-uring libuv go tokio uvloop node}
HOLD_CONNS=${HOLD_CONNS:-10000}
HOLD_SECS=${HOLD_SECS:-60}
HOLD_ENGINES=${HOLD_ENGINES:-uring}
PORT=${PORT:-7910}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PYTHON=${PYTHON:-/usr/bin/python3}
GO=${GO:-go}
NODE=${NODE:-node}
CARGO=${CARGO:-/usr/bin/cargo}
CC=${CC:-cc}
RAW=$OUT/results.txt
mkdir -p "$OUT"
: >"$RAW"

say() { echo "echo: $*" >&2; }

# ---- packages ----------------------------------------------------------------
# The peers come from Debian: install the missing ones when we can (root).
pkgs="libuv1-dev pkg-config golang-go python3 python3-uvloop nodejs cargo rustc librust-tokio-dev util-linux"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing$missing"
        (export DEBIAN_FRONTEND=noninteractive
         apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null) ||
            say "could not install$missing; those peers are skipped"
    else
        say "missing Debian packages:$missing; those peers are skipped"
    fi
fi

# ---- build -------------------------------------------------------------------
CFLAGS="-O2 -Wall -Wextra"
$CC $CFLAGS -o "$OUT/client" "$HERE/client.c"
ok_libuv=0 ok_corio=0 ok_go=0 ok_tokio=0 ok_uvloop=0 ok_node=0
if pkg-config --exists libuv &&
    $CC $CFLAGS -o "$OUT/uv_echo" "$HERE/peers/uv_echo.c" $(pkg-config --cflags --libs libuv); then
    ok_libuv=1
else
    say "libuv (libuv1-dev) not built; libuv skipped"
fi
if [ -f "$BUILD/libcorio.a" ]; then
    uring_libs=$(pkg-config --libs liburing 2>/dev/null || :)
    if $CC $CFLAGS -I"$SRC/include" -o "$OUT/corio_echo" "$HERE/corio_echo.c" \
        "$BUILD/libcorio.a" $(pkg-config --libs libssl libcrypto) $uring_libs -lpthread -lm; then
        ok_corio=1
    else
        say "corio_echo not built; corio skipped"
    fi
else
    say "no $BUILD/libcorio.a (build the library there first); corio skipped"
fi
if command -v "$GO" >/dev/null &&
    (mkdir -p "$OUT/go" && cd "$OUT/go" &&
     GOCACHE="$OUT/go/cache" GOPATH="$OUT/go/path" GOFLAGS= GOPROXY=off \
         "$GO" build -o gopeer "$HERE/peers/go/main.go"); then
    ok_go=1
else
    say "go build failed (Debian golang-go); Go skipped"
fi
# Tokio offline from Debian's crates: a copy of the crate in the build dir,
# with a cargo home whose config replaces crates.io by the Debian registry.
if [ -x "$CARGO" ] && [ -d /usr/share/cargo/registry ]; then
    T=$OUT/tokio
    mkdir -p "$T/src" "$T/cargo-home"
    cp "$HERE/peers/tokio/Cargo.toml" "$T/Cargo.toml"
    cp "$HERE/peers/tokio/src/main.rs" "$T/src/main.rs"
    cat >"$T/cargo-home/config.toml" <<'EOF'
[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "/usr/share/cargo/registry"

[net]
offline = true
EOF
    rustc_bin=$(dirname "$CARGO")/rustc
    [ -x "$rustc_bin" ] || rustc_bin=rustc
    if (cd "$T" && CARGO_HOME="$T/cargo-home" RUSTC="$rustc_bin" \
        "$CARGO" build --release -q 2>"$T/build.log"); then
        ok_tokio=1
    else
        say "Tokio build failed (see $T/build.log); Tokio skipped"
    fi
else
    say "no $CARGO or /usr/share/cargo/registry (Debian cargo, librust-tokio-dev); Tokio skipped"
fi
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import uvloop' 2>/dev/null; then
    ok_uvloop=1
else
    say "$PYTHON has no uvloop (Debian python3-uvloop); uvloop skipped"
fi
if command -v "$NODE" >/dev/null; then
    ok_node=1
else
    say "no node (Debian nodejs); Node skipped"
fi

# ---- servers -------------------------------------------------------------------
# start_server IMPL PORT: start it pinned, in the background; $spid is its
# pid (taskset and env exec, so it is the server's own).
start_server() {
    impl=$1 port=$2
    case $impl in
    corio-epoll) set -- env CORIO_ENGINE=epoll "$OUT/corio_echo" "$port" --read "$READ" ;;
    corio-uring) set -- env CORIO_ENGINE=uring "$OUT/corio_echo" "$port" --read "$READ" ;;
    corio-epoll-raw) set -- env CORIO_ENGINE=epoll "$OUT/corio_echo" "$port" --raw --read "$READ" ;;
    corio-uring-raw) set -- env CORIO_ENGINE=uring "$OUT/corio_echo" "$port" --raw --read "$READ" ;;
    corio-uring-multishot) set -- env CORIO_ENGINE=uring CORIO_URING_MULTISHOT=1 "$OUT/corio_echo" "$port" --read "$READ" ;;
    libuv) set -- "$OUT/uv_echo" "$port" "$READ" ;;
    go) set -- env GOMAXPROCS=1 "$OUT/go/gopeer" "$port" "$READ" ;;
    tokio) set -- "$OUT/tokio/target/release/tokio-echo" "$port" "$READ" ;;
    uvloop) set -- "$PYTHON" "$HERE/peers/uvloop_echo.py" "$port" uvloop "$READ" ;;
    node) set -- "$NODE" "$HERE/peers/node_echo.js" "$port" ;;
    esac
    taskset -c "$SERVER_CPU" "$@" 2>"$OUT/server-$impl.err" &
    spid=$!
}

spid=""
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; exit 130' INT TERM

stop_server() {
    if ! kill -0 "$spid" 2>/dev/null; then
        say "$1: the server died:"
        sed 's/^/    /' "$OUT/server-$1.err" >&2
        echo "$1 $2 server_died 1" >>"$RAW"
    fi
    kill "$spid" 2>/dev/null || :
    wait "$spid" 2>/dev/null || :
    spid=""
    # An io_uring server's listener can outlive its process for a moment
    # (the kernel tears the ring down after the exit): the next start on
    # this port must not find it still bound.  Up to 5 s.
    t=0
    while [ $t -lt 50 ] && ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; do
        sleep 0.1
        t=$((t + 1))
    done
}

have() {
    case $1 in
    corio-*) [ $ok_corio = 1 ] ;;
    *) eval "[ \$ok_$1 = 1 ]" ;;
    esac
}

# The io_uring engine must really be io_uring: checked once per run.
check_engine() {
    case $1 in
    corio-uring*) want=io_uring ;;
    corio-epoll*) want=eventpoll ;;
    *) return 0 ;;
    esac
    if ! ls -l "/proc/$spid/fd" 2>/dev/null | grep -q "anon_inode:\[$want\]"; then
        say "$1: no $want descriptor in the server: engine not in use"
        echo "$1 $2 wrong_engine 1" >>"$RAW"
    fi
}

# client MODE IMPL ROUND PORT: one measurement, tagged lines into $RAW.
client() {
    mode=$1 impl=$2 round=$3 port=$4
    n=$CONNS
    [ "$mode" = stream ] && n=$STREAM_CONNS
    if out=$(taskset -c "$CLIENT_CPU" "$OUT/client" "$mode" "$port" "$n" "$SECS" \
        --size "$SIZE" --window "$WINDOW" --warmup "$WARMUP" --pid "$spid" \
        2>"$OUT/client.err"); then
        :
    else
        say "$impl $mode round $round: client failed:"
        sed 's/^/    /' "$OUT/client.err" >&2
    fi
    printf '%s\n' "$out" | awk -v i="$impl" -v r="$round" \
        'NF == 2 { print i, r, $1, $2 }' >>"$RAW"
}

list=""
for s in $SERVERS; do
    if have "$s"; then list="$list $s"; fi
done
nserv=$(echo $list | wc -w)
if [ "$nserv" = 0 ]; then
    say "no server could be built"
    exit 1
fi
start=$(date +%s)
r=1
while [ "$r" -le "$REPS" ]; do
    say "round $r of $REPS ($(($(date +%s) - start)) s so far)"
    # rotate the order by one place each round
    set -- $list
    k=1
    while [ $k -le $(( (r - 1) % nserv )) ]; do
        first=$1
        shift
        set -- "$@" "$first"
        k=$((k + 1))
    done
    for impl in "$@"; do
        # a port of its own per server: an io_uring server's sockets can
        # outlive its process for a moment (the ring is torn down later)
        i=0
        for s in $list; do
            [ "$s" = "$impl" ] && break
            i=$((i + 1))
        done
        port=$((PORT + i))
        start_server "$impl" "$port"
        client stream "$impl" "$r" "$port"
        check_engine "$impl" "$r"
        client pingpong "$impl" "$r" "$port"
        stop_server "$impl" "$r"
    done
    r=$((r + 1))
done
say "echo rounds done in $(($(date +%s) - start)) s"

# ---- the 10,000-connection hold --------------------------------------------------
if [ "$HOLD_SECS" != 0 ] && [ $ok_corio = 1 ]; then
    need=$((HOLD_CONNS + 100))
    [ "$(ulimit -n)" -ge "$need" ] 2>/dev/null || ulimit -n "$need" 2>/dev/null || :
    if [ "$(ulimit -n)" -lt "$need" ] 2>/dev/null; then
        say "descriptor limit $(ulimit -n) < $need: hold test skipped"
    else
        hport=$((PORT + 20))
        for e in $HOLD_ENGINES; do
            impl=corio-$e
            hport=$((hport + 1))
            say "$impl: holding $HOLD_CONNS connections for $HOLD_SECS s"
            start_server "$impl" "$hport"
            if out=$(taskset -c "$CLIENT_CPU" "$OUT/client" hold "$hport" "$HOLD_CONNS" \
                "$HOLD_SECS" --pid "$spid" 2>"$OUT/hold-$e.err"); then
                :
            else
                say "$impl hold: client failed:"
                grep -v '^hold:' "$OUT/hold-$e.err" | sed 's/^/    /' >&2 || :
            fi
            check_engine "$impl" hold
            printf '%s\n' "$out" | awk -v i="$impl" \
                'NF == 2 { print i, "hold", $1, $2 }' >>"$RAW"
            stop_server "$impl" hold
        done
    fi
fi
say "done in $(($(date +%s) - start)) s"

# ---- table -----------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
ver() { "$@" 2>/dev/null | head -n 1 || echo none; }
versions="$(ver $CC --version | sed 's/ (.*)//'); libuv $(pkg-config --modversion libuv 2>/dev/null || echo none); $(ver $GO version | sed 's/^go version //'); tokio $(ls -d /usr/share/cargo/registry/tokio-1* 2>/dev/null | sed 's/.*tokio-//' | head -n 1) ($(ver "$(dirname "$CARGO")/rustc" --version)); uvloop $("$PYTHON" -c 'import uvloop; print(uvloop.__version__)' 2>/dev/null || echo none) (CPython $("$PYTHON" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)); Node $(ver $NODE --version)"
machine="$(nproc) CPUs (${cpu:-unknown}), Linux $(uname -r); $(date -u +%Y-%m-%d); configuration $CONFIG; server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU; $REPS rounds of $SECS s (after $WARMUP s warm-up); $SIZE-byte messages, $READ-byte server reads; streaming $STREAM_CONNS connections x $WINDOW messages in flight, ping-pong $CONNS connections; $versions"

"$PYTHON" - "$RAW" "$machine" "$HOLD_CONNS" "$HOLD_SECS" "$WARMUP" <<'EOF' | tee "$OUT/table.md"
import statistics, sys
from collections import defaultdict

raw, machine, hold_conns, hold_secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
warmup = float(sys.argv[5])
vals = defaultdict(list)
for line in open(raw):
    impl, rnd, metric, value = line.split()
    vals[impl, metric].append(float(value))

impls = ["corio-epoll", "corio-uring", "corio-uring-multishot", "corio-epoll-raw",
         "corio-uring-raw", "libuv", "go", "tokio", "uvloop", "node"]
names = {"corio-epoll": "corio (epoll)", "corio-uring": "corio (io_uring)",
         "corio-epoll-raw": "corio (epoll), fd calls, no stream",
         "corio-uring-raw": "corio (io_uring), fd calls, no stream",
         "corio-uring-multishot": "corio (io_uring), multishot receives",
         "libuv": "libuv", "go": "Go", "tokio": "Tokio", "uvloop": "asyncio+uvloop",
         "node": "Node"}

def med(impl, m):
    v = vals.get((impl, m))
    return statistics.median(v) if v else None

def rng(impl, m):
    v = vals.get((impl, m))
    return "%s–%s" % (num(min(v)), num(max(v))) if v else "n/a"

def num(x):
    if x is None:
        return "n/a"
    if x >= 100:
        return "{:,.0f}".format(x)
    return "%.1f" % x

def ratio(a, b):
    if a is None or b is None or b <= 0:
        return "n/a"
    return "%.2f×" % (a / b)

def tot(impl, m):
    return int(sum(vals.get((impl, m), [])))

print("Machine: " + machine)
print()
modes = [("stream", "Streaming", "messages/s"), ("pingpong", "Ping-pong", "round trips/s")]
slow = []
for mode, title, unit in modes:
    print("%s (%s; medians over the rounds)" % (title, unit))
    print()
    head = ["server", unit, "range", "corio epoll ÷ it", "corio io_uring ÷ it",
            "server CPU ns/msg", "server CPU", "client CPU"]
    if mode == "pingpong":
        head[6:6] = ["p50 µs", "p99 µs"]
    else:
        head[3:3] = ["MiB/s"]
    print("| " + " | ".join(head) + " |")
    print("|---|" + "|".join("---:" for _ in head[1:]) + "|")
    ce, cu = med("corio-epoll", mode + "_msgs_per_s"), med("corio-uring", mode + "_msgs_per_s")
    for i in impls:
        m = med(i, mode + "_msgs_per_s")
        if m is None and not vals.get((i, mode + "_errors")):
            continue
        errs = tot(i, mode + "_errors") + tot(i, "server_died") + tot(i, "wrong_engine")
        idle = tot(i, mode + "_idle_conns")
        label = names[i] + (" (**%d errors**)" % errs if errs else "")
        if idle:
            label += " (%d connections idle while measured, all rounds)" % idle
        w = med(i, mode + "_warmup_s")
        if w is not None and w > warmup + 0.5:
            slow.append("%s %s %.1f s" % (names[i], title.lower(), w))
        row = [label, num(m),
               rng(i, mode + "_msgs_per_s"), ratio(ce, m), ratio(cu, m),
               num(med(i, mode + "_server_cpu_ns_per_msg")),
               "%.0f %%" % (100 * med(i, mode + "_server_cpu_share")) if med(i, mode + "_server_cpu_share") is not None else "n/a",
               "%.0f %%" % (100 * med(i, mode + "_client_cpu_share")) if med(i, mode + "_client_cpu_share") is not None else "n/a"]
        if mode == "pingpong":
            row[6:6] = [num(med(i, "pingpong_p50_us")), num(med(i, "pingpong_p99_us"))]
        else:
            row[3:3] = [num(med(i, "stream_mib_per_s"))]
        print("| " + " | ".join(row) + " |")
    print()

def verdict(ok):
    return "n/a" if ok is None else ("met" if ok else "**missed**")

print("| goal | messages/s | server CPU per message | verdict |")
print("|---|---|---|---|")
# Issue 10's goals: corio's engine ÷ a named peer, at least the factor.
goals = [("stream", "Streaming", "corio-uring", "uvloop", 1.1),
         ("stream", "Streaming", "corio-epoll", "uvloop", 1.0),
         ("pingpong", "Ping-pong", "corio-uring", "tokio", 1.2),
         ("pingpong", "Ping-pong", "corio-epoll", "libuv", 1.1)]
for mode, title, mine, peer, want in goals:
    m, c = mode + "_msgs_per_s", mode + "_server_cpu_ns_per_msg"
    a, b = med(mine, m), med(peer, m)
    r = a / b if a and b else None
    ka, kb = med(mine, c), med(peer, c)
    k = kb / ka if ka and kb else None
    print("| %s: %s ≥ %.1f× %s | %s | %s | %s |"
          % (title, names[mine], want, names[peer], "%.2f×" % r if r else "n/a",
             "%.2f×" % k if k else "n/a", verdict(None if r is None else r >= want)))
for i in ("corio-uring", "corio-epoll"):
    if not vals.get((i, "hold_conns")):
        continue
    c0, c1 = med(i, "hold_rss_connected_kib"), med(i, "hold_rss_last_kib")
    cmax, g = med(i, "hold_rss_max_kib"), med(i, "hold_rss_growth_pct")
    conns, secs = med(i, "hold_conns"), med(i, "hold_secs")
    errs = tot(i, "hold_errors") + tot(i, "hold_late_rounds") + tot(i, "server_died")
    trips = med(i, "hold_round_trips")
    ok = (conns == hold_conns and secs == hold_secs and errs == 0 and g is not None
          and abs(g) <= 5)
    print("| %s: %s connections held %d s by a separate process, RSS flat (≤ 5 %% "
          "growth), no errors | %s connections, %d s, %s round trips, %s errors; server RSS "
          "%.1f MiB after connecting (%.1f KiB/connection) → %.1f MiB at the end "
          "(%+.1f %%, peak %.1f MiB) | | %s |"
          % (names[i], "{:,}".format(hold_conns), hold_secs, "{:,}".format(int(conns or 0)),
             int(secs or 0), "{:,}".format(int(trips or 0)), errs, (c0 or 0) / 1024,
             (c0 or 0) / max(conns or 1, 1), (c1 or 0) / 1024, g or 0, (cmax or 0) / 1024,
             verdict(ok)))
print()
if slow:
    print("Warm-up lasts %.1f s and then until every connection has had an echo; "
          "longer (median): %s." % (warmup, ", ".join(slow)))
    print()
shares = [med(i, md + "_server_cpu_share") for i in impls for md in ("stream", "pingpong")]
shares = [x for x in shares if x is not None]
if shares and statistics.median(shares) < 0.8:
    print("**The servers did not have their core**: median server CPU %.0f %% of a "
          "core while measured (other work shared the CPUs), so messages/s measure "
          "the share each got as much as the server itself; the server CPU per "
          "message is the fairer comparison here." % (100 * statistics.median(shares)))
    print()
print("Ratios: corio's messages per second ÷ the server's (above 1×: corio "
      "faster).  Server CPU ns/msg: the server process's CPU time (all threads, "
      "user + system, from /proc) over the measured window ÷ messages echoed; "
      "CPU columns: CPU time ÷ wall time (100 % = the whole core).  A client "
      "CPU near 100 % means the client, not the server, set the pace.  Goals, "
      "server CPU per message column: the peer's CPU ns per message ÷ corio's "
      "(above 1×: corio spends less); the verdict is on messages/s.")
EOF
