#!/bin/sh
# bench/run.sh BUILD_DIR — run corio's core and sync benchmarks beside their peers
# (Go with GOMAXPROCS=1, CPython asyncio, CPython + uvloop) and print a table
# of medians with ratios.  `make bench` builds BUILD_DIR (Release) and calls
# this.  Nothing is typed in: every figure comes from this run.
#
# Each round runs every metric for corio and each peer in turn (interleaved,
# so that drift in the machine hits all alike), REPS rounds in all (default
# 5; the memory of 1,000,000 sleeping tasks, which is deterministic to ~1%
# but takes ~10 s a program, only in the first SLEEP_REPS rounds, default 3);
# the table shows the median over the rounds.  Each program is a fresh
# process pinned with taskset to one CPU (the last), and itself reports a
# median of a few in-process repetitions after a warm-up.
#
# Environment: REPS (rounds, default 5), SLEEP_REPS (default 3), PIN (CPU list for taskset, default
# the last CPU; PIN=none to not pin), PYTHON (default /usr/bin/python3),
# GO (default go), METRICS (default all: spawn switch sleep timers queue
# lock handoff limiter; e.g. METRICS="spawn switch" for the core plot
# alone).  Raw lines go to BUILD_DIR/bench/results.txt and the table
# also to BUILD_DIR/bench/table.md.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
REPS=${REPS:-5}
SLEEP_REPS=${SLEEP_REPS:-3}
PYTHON=${PYTHON:-/usr/bin/python3}
GO=${GO:-go}
OUT=$BUILD/bench
PEERS=$BUILD/peers
CORE=$OUT/core
SYNC=$OUT/sync
RAW=$OUT/results.txt
mkdir -p "$OUT" "$PEERS"
: >"$RAW"

ncpu=$(nproc)
if [ "${PIN:-}" = none ] || ! command -v taskset >/dev/null; then
    pin=""
else
    pin="taskset -c ${PIN:-$((ncpu - 1))}"
fi

say() { echo "bench: $*" >&2; }

# ---- build the peers ---------------------------------------------------------
have_corio=0 have_sync=0 have_go=0 have_py=0 have_uv=0
if [ -x "$CORE" ]; then
    have_corio=1
else
    say "no $CORE: build with cmake first (make bench does); corio skipped"
fi
if [ -x "$SYNC" ]; then
    have_sync=1
else
    say "no $SYNC: build with cmake first (make bench does); corio sync skipped"
fi
if command -v "$GO" >/dev/null; then
    mkdir -p "$PEERS/go"
    # Offline, no module: one main.go built as command-line-arguments, with
    # the build cache and GOPATH kept inside the build directory.
    if (cd "$PEERS/go" &&
        GOCACHE="$PEERS/go/cache" GOPATH="$PEERS/go/path" GOFLAGS= \
            GOPROXY=off "$GO" build -o gopeer "$HERE/peers/go/main.go"); then
        have_go=1
    else
        say "go build failed; Go skipped"
    fi
else
    say "no go (Debian golang-go); Go skipped"
fi
if [ -x "$PYTHON" ]; then
    have_py=1
    if "$PYTHON" -c 'import uvloop' 2>/dev/null; then
        have_uv=1
    else
        say "$PYTHON has no uvloop (Debian python3-uvloop); uvloop skipped"
    fi
else
    say "no $PYTHON; asyncio and uvloop skipped"
fi

# ---- sizes -------------------------------------------------------------------
# corio and Go take the sizes of the goals; CPython is ~100x slower, so it
# runs fewer tasks (figures are per task, so they compare all the same).
SPAWN_C="1000000 3"     SPAWN_P="100000 1"
SWITCH_C="2000000 3"    SWITCH_P="100000 3"
SLEEP_C=1000000         SLEEP_P=100000
# Each sleeping task sleeps DELAY ms again and again until the measurement
# is taken.  corio's and Python's tasks first run once all are spawned; Go's
# run while the rest are spawned (~5 s for 1,000,000 here), so a shorter
# delay would keep waking them while the rest are spawned.
DELAY_C=1000 DELAY_GO=5000 DELAY_P=1000
TIMERS_C="10000 100000 1000000"  TIMERS_P="10000 100000"
TASKTIMER_N=100000
# Sync primitives (bench/sync.c): round trips, lock pairs, acquisitions per
# task, limiter acquires.  Python's are ~100x slower again.
QUEUE_C=1000000     QUEUE_P="50000 3"
LOCK_C=20000000     LOCK_P="1000000 3"
HANDOFF_C=1000000   HANDOFF_P="50000 3"
LIMITER_C=20000000

# ---- run -----------------------------------------------------------------------
# run IMPL ROUND CMD...: run one program, tag its `metric value` lines.
run() {
    impl=$1 round=$2
    shift 2
    if out=$(timeout 600 $pin "$@" 2>"$OUT/stderr.txt"); then
        :
    else
        say "$impl: '$*' failed:"
        sed 's/^/    /' "$OUT/stderr.txt" >&2
    fi
    [ -s "$OUT/stderr.txt" ] && sed "s/^/bench: $impl: /" "$OUT/stderr.txt" >&2
    printf '%s\n' "$out" | awk -v i="$impl" -v r="$round" \
        'NF == 2 { print i, r, $1, $2 }' >>"$RAW"
}

corio() { [ $have_corio = 1 ] && run corio "$r" "$CORE" "$@" || :; }
csync() { [ $have_sync = 1 ] && run corio "$r" "$SYNC" "$@" || :; }
gopeer() {
    [ $have_go = 1 ] && run go "$r" env GOMAXPROCS=1 "$PEERS/go/gopeer" "$@" || :
}
aio() {
    [ $have_py = 1 ] && run asyncio "$r" "$PYTHON" "$HERE/peers/python/aio.py" asyncio "$@" || :
    [ $have_uv = 1 ] && run uvloop "$r" "$PYTHON" "$HERE/peers/python/aio.py" uvloop "$@" || :
}

METRICS=${METRICS:-spawn switch sleep timers queue lock handoff limiter}
want() { case " $METRICS " in *" $1 "*) return 0 ;; esac; return 1; }

start=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
r=1
while [ $r -le "$REPS" ]; do
    say "round $r of $REPS ($(($(date +%s) - start)) s so far)"
    if want spawn; then
        corio spawn $SPAWN_C; gopeer spawn $SPAWN_C; aio spawn $SPAWN_P
    fi
    if want switch; then
        corio switch $SWITCH_C; gopeer switch $SWITCH_C; aio switch $SWITCH_P
    fi
    if want sleep && [ $r -le "$SLEEP_REPS" ]; then
        corio sleep $SLEEP_C $DELAY_C
        gopeer sleep $SLEEP_C $DELAY_GO
        aio sleep $SLEEP_P $DELAY_P
    fi
    if want timers; then
        corio timers $TIMERS_C; gopeer timers $TIMERS_C; aio timers $TIMERS_P
        gopeer timertask $TASKTIMER_N; aio timertask $TASKTIMER_N
    fi
    if want queue; then
        csync queue $QUEUE_C; gopeer queue $QUEUE_C; aio queue $QUEUE_P
    fi
    if want lock; then
        csync lock $LOCK_C; gopeer lock $LOCK_C; aio lock $LOCK_P
    fi
    if want handoff; then
        csync handoff $HANDOFF_C; gopeer handoff $HANDOFF_C; aio handoff $HANDOFF_P
    fi
    if want limiter; then csync limiter $LIMITER_C; fi
    r=$((r + 1))
done
say "done in $(($(date +%s) - start)) s"
# The load the figures were measured under, for the plot's title.
echo "load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end" >"$OUT/load.txt"

# ---- table -------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
cc=$(${CC:-cc} --version 2>/dev/null | head -n 1 || echo unknown)
gov=$($GO version 2>/dev/null || echo none)
pyv=$("$PYTHON" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo none)
uvv=$("$PYTHON" -c 'import uvloop; print(uvloop.__version__)' 2>/dev/null || echo none)
machine="$ncpu CPUs ($cpu), Linux $(uname -r), $cc, $gov, CPython $pyv, uvloop $uvv; pinned: ${pin:-no}; $REPS rounds ($SLEEP_REPS for sleeping-task memory); $(date -u +%Y-%m-%d); load average (1, 5, 15 min) $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"

"$PYTHON" - "$RAW" "$machine" "$TASKTIMER_N" <<'EOF' | tee "$OUT/table.md"
import math, statistics, sys
from collections import defaultdict

raw, machine, ntask = sys.argv[1], sys.argv[2], int(sys.argv[3])
vals = defaultdict(list)
for line in open(raw):
    impl, _round, metric, value = line.split()
    vals[impl, metric].append(float(value))

def med(impl, metric):
    v = vals.get((impl, metric))
    return statistics.median(v) if v else None

def fmt(x, unit=""):
    if x is None:
        return "n/a"
    if unit == "KiB":
        return "%.2f" % x
    if unit == "share":
        return "%.3f" % x if x >= 0.001 or x == 0 else "%.1e" % x
    if x >= 100:
        return "{:,.0f}".format(x)
    return "%.1f" % x

def ratio(peer, c):
    # how many times better corio is (time or memory: lower is better)
    if peer is None or c is None or c <= 0:
        return "n/a"
    return "%.1f×" % (peer / c) if peer / c >= 1 else "%.2f×" % (peer / c)

def n_of(impl, metric, dflt):
    v = med(impl, metric)
    return int(v) if v else dflt

rows = []
def row(label, metric, goal, verdict, unit=""):
    c, g, a, u = (med(i, metric) for i in ("corio", "go", "asyncio", "uvloop"))
    if (c, g, a, u) == (None,) * 4:
        return  # not run (METRICS)
    rg, ra = ("", "") if unit == "share" else (ratio(g, c), ratio(a, c))
    rows.append([label, fmt(c, unit), fmt(g, unit), fmt(a, unit),
                 fmt(u, unit), rg, ra, goal, verdict])

def verdict(ok):
    return "n/a" if ok is None else ("met" if ok else "**missed**")

c = med("corio", "spawn_join_ns"); g = med("go", "spawn_join_ns")
a = med("asyncio", "spawn_join_ns")
if None in (c, g, a):
    v = "n/a"
else:
    missed = [x for x, ok in (("≤ 50 ns", c <= 50), ("≥ 4× Go", g / c >= 4),
                              ("≥ 100× asyncio", a / c >= 100)) if not ok]
    v = "met" if not missed else "**missed**: " + ", ".join(missed)
row("spawn+join, ns/task (gather, batches of 1,000)", "spawn_join_ns",
    "≤ 50 ns, ≥ 4× Go, ≥ 100× asyncio", v)

c = med("corio", "switch_ns")
row("switch (yield ping-pong), ns", "switch_ns", "≤ 15 ns",
    verdict(None if c is None else c <= 15))

c = med("corio", "sleep_rss_kib")
nc, ng, np_ = (n_of(i, "sleep_n", 0) for i in ("corio", "go", "asyncio"))
row("sleeping task, RSS KiB/task (N: corio %s, Go %s, Python %s)"
    % tuple("{:,}".format(x) for x in (nc, ng, np_)),
    "sleep_rss_kib", "≤ 4.5 KiB", verdict(None if c is None else c <= 4.5), "KiB")
row("sleeping task, page tables (VmPTE) KiB/task", "sleep_pte_kib", "—", "", "KiB")

# every sleeping task must finish, and none before the measurement
def complete(impl):
    cnt, n = med(impl, "sleep_count"), med(impl, "sleep_n")
    lo = min(vals.get((impl, "sleep_count"), [0]) or [0])
    early = max(vals.get((impl, "sleep_early"), [0]) or [0])
    if cnt is None or n is None:
        return "n/a"
    return "all" if lo == n and early == 0 else "%d of %d" % (lo, n)
rows.append(["sleeping tasks completed (every round)"] +
            [complete(i) for i in ("corio", "go", "asyncio", "uvloop")] +
            ["", "", "all", verdict(None if med("corio", "sleep_n") is None
                                    else complete("corio") == "all")])

for n in (10000, 100000, 1000000):
    m = "timer_ns_%d" % n
    if any(vals.get((i, m)) for i in ("corio", "go", "asyncio", "uvloop")):
        row("timer arm+cancel, %s timers, ns" % "{:,}".format(n), m,
            "O(log n)" if n == 100000 else "", "")
m = "timer_task_ns_%d" % ntask
vals["corio", m] = vals.get(("corio", "timer_ns_%d" % ntask), [])
row("sleeping task cancelled, %s tasks, ns/task" % "{:,}".format(ntask), m,
    "(like for like)", "")

arm, can = med("corio", "timer_arm_ns_%d" % ntask), med("corio", "timer_cancel_ns_%d" % ntask)
if arm and can:
    rows.append(["corio's row split: spawn → timer armed, cancel → joined, "
                 "ns/task", "%s + %s" % (fmt(arm), fmt(can)), "", "", "", "",
                 "", "", ""])

t1, t2, t3 = (med("corio", "timer_ns_%d" % n) for n in (10000, 100000, 1000000))
if t1 and t2 and t3:
    # Judged on 100k -> 1M, where both working sets are far beyond the
    # caches; 10k -> 100k also measures the caches (docs/performance.md).
    rows.append(["corio timer cost growth per 10× timers: 10k → 100k, "
                 "100k → 1M (log n: 1.25×, 1.2×; linear: 10×)",
                 "%.2f×, %.2f×" % (t2 / t1, t3 / t2), "", "", "", "", "",
                 "O(log n)", verdict(t3 / t2 <= 2)])

# ---- sync primitives (bench/sync.c) ----
c, g = med("corio", "queue_rt_ns"), med("go", "queue_rt_ns")
row("queue ping-pong (two queues, one each way), ns/round trip",
    "queue_rt_ns", "≥ 3× Go", verdict(None if None in (c, g) else g / c >= 3))
c = med("corio", "lock_ns")
row("lock + unlock, uncontended, ns", "lock_ns", "≤ 5 ns",
    verdict(None if c is None else c <= 5))
row("lock hand-off, two tasks (lock, yield, unlock), ns/acquisition",
    "lock_handoff_ns", "report", "")
row("  share of those acquisitions that changed the owner",
    "lock_handoff_share", "", "", "share")
row("rate limiter acquire (never waits), ns", "limiter_ns", "report", "")

print("Machine: " + machine)
print()
head = ["metric", "corio", "Go", "asyncio", "uvloop", "corio vs Go",
        "corio vs asyncio", "goal", "verdict"]
print("| " + " | ".join(head) + " |")
print("|" + "|".join("---" if i == 0 or i >= 7 else "---:"
                     for i in range(len(head))) + "|")
for r_ in rows:
    print("| " + " | ".join(r_) + " |")
print()
print("Ratios: peer ÷ corio (above 1×: corio faster or smaller).  Timers: "
      "corio's row is a task sleeping 1 h, cancelled and gathered (spawn + "
      "arm + cancel + join per task: corio has no bare timer call); Go's is "
      "time.AfterFunc + Stop, Python's loop.call_later + cancel.  The "
      "'sleeping task cancelled' row compares like with like: Go goroutines "
      "on a 1 h timer or a cancel channel, Python tasks in sleep(3600) "
      "cancelled and gathered.  Sync: Go's queue is a pair of unbuffered "
      "channels, its locks sync.Mutex (hand-off loop: Lock, runtime.Gosched, "
      "Unlock); Python's asyncio.Queue and asyncio.Lock (acquire, sleep(0), "
      "release).  Neither standard library has a rate limiter.")
EOF
