#!/bin/sh
# bench/plot.sh BUILD_DIR [OUT_DIR] — the plots of docs/performance.md, drawn
# with gnuplot (Debian gnuplot-nox) from the results files the benchmark
# scripts leave in BUILD_DIR (medians over their rounds); `make bench` calls
# it after them with OUT_DIR docs/img.  A results file that is missing is
# skipped.  Each plot's title names the machine and the date.
#
#   echo.png, echo-photon.png          bench/echo/run.sh (CONFIG=bulk, photon):
#                                    messages/s per server, streaming and
#                                    ping-pong
#   http-server.png, http-server-cpu.png
#                                    bench/http/run.sh: requests/s and server
#                                    CPU µs per request, per server
#   http-client.png                  bench/http/run.sh: requests/s per client
#   core.png                         bench/run.sh: spawn+join and switch ns,
#                                    corio beside Go, asyncio and uvloop
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 BUILD_DIR [OUT_DIR]" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd)
OUT=${2:-$BUILD/plots}
PYTHON=${PYTHON:-/usr/bin/python3}
if ! command -v gnuplot >/dev/null; then
    echo "plot: no gnuplot (Debian gnuplot-nox): no plots" >&2
    exit 0
fi
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
machine="$(nproc) CPUs (${cpu:-unknown}), Linux $(uname -r), $(date -u +%Y-%m-%d)"

# Medians into gnuplot data files: one row per implementation, a column per
# metric.  tables.py RESULTS KIND DATA METRIC... (KIND: echo/core lines are
# `impl round metric value`, http lines `metric impl round value`).
cat >"$TMP/tables.py" <<'EOF'
import statistics, sys
from collections import defaultdict
path, kind, data, metrics = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
vals, order = defaultdict(list), []
for line in open(path):
    f = line.split()
    if len(f) != 4:
        continue
    impl, metric, value = (f[0], f[2], f[3]) if kind == "impl" else (f[1], f[0], f[3])
    if metric in metrics:
        try:
            vals[impl, metric].append(float(value))
        except ValueError:
            continue
        if impl not in order:
            order.append(impl)
with open(data, "w") as out:
    for impl in order:
        row = [statistics.median(vals[impl, m]) if vals[impl, m] else 0 for m in metrics]
        out.write('"%s" %s\n' % (impl, " ".join("%g" % v for v in row)))
EOF

# bars DATA PNG TITLE YLABEL COLUMN-TITLE...: a clustered bar chart
# (LOG=1: a logarithmic y axis, for figures that differ by 100x).
bars() {
    data=$1 png=$2 title=$3 ylabel=$4
    shift 4
    plot="" col=2
    for t in "$@"; do
        plot="$plot${plot:+, }'$data' using $col:xtic(1) title '$t'"
        col=$((col + 1))
    done
    gnuplot <<EOF
set terminal pngcairo size 900,480 noenhanced font ',10'
set output '$png'
set title "$title\n$machine"
set ylabel '$ylabel'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
$([ "${LOG:-0}" = 1 ] && echo 'set logscale y; set yrange [1:*]' || echo 'set yrange [0:*]')
set xtics rotate by -20
set key top right
plot $plot
EOF
    echo "plot: $png" >&2
}

echo_plot() {
    r=$BUILD/$1/results.txt
    [ -s "$r" ] || return 0
    "$PYTHON" "$TMP/tables.py" "$r" impl "$TMP/$1.dat" stream_msgs_per_s pingpong_msgs_per_s
    bars "$TMP/$1.dat" "$OUT/$1.png" "TCP echo ($2): messages per second, median" \
        'messages/s' streaming ping-pong
}
echo_plot echo "16 KiB server reads"
echo_plot echo-photon "Photon's method: 512-byte server reads"

r=$BUILD/http/results.txt
if [ -s "$r" ]; then
    "$PYTHON" "$TMP/tables.py" "$r" metric "$TMP/hs.dat" server
    "$PYTHON" "$TMP/tables.py" "$r" metric "$TMP/hc.dat" cpu
    "$PYTHON" "$TMP/tables.py" "$r" metric "$TMP/cl.dat" client
    bars "$TMP/hs.dat" "$OUT/http-server.png" "HTTP server: requests per second (wrk), median" \
        'requests/s' 'requests/s'
    bars "$TMP/hc.dat" "$OUT/http-server-cpu.png" "HTTP server: CPU per request, median" \
        'µs per request' 'server CPU'
    bars "$TMP/cl.dat" "$OUT/http-client.png" "HTTP client against nginx: requests per second, median" \
        'requests/s' 'requests/s'
fi

r=$BUILD/bench/results.txt
if [ -s "$r" ]; then
    "$PYTHON" "$TMP/tables.py" "$r" impl "$TMP/core.dat" spawn_join_ns switch_ns
    load=$(cat "$BUILD/bench/load.txt" 2>/dev/null || :)
    LOG=1 bars "$TMP/core.dat" "$OUT/core.png" "Core costs: ns per spawn+join and per switch, median (lower is better; log scale)${load:+\n$load}" \
        'ns (log scale)' 'spawn+join' 'switch (yield)'
fi
