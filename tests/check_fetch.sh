#!/bin/sh
# corio-fetch as a user runs it: the demo end to end, URLs from stdin and
# from a file, and the exit statuses.  ctest calls this (test fetch_cli).
#
#   usage: check_fetch.sh CORIO_FETCH [EMULATOR [ARGS...]]
#
# The demo runs on the virtual clock (CORIO_VIRTUAL_CLOCK=1): its 2 s
# timeouts and backoffs cost no real time and the counts below are exact —
# they are what the demo's mix implies for 200 URLs.
set -u

if [ $# -lt 1 ]; then
    echo "usage: $0 CORIO_FETCH [EMULATOR [ARGS...]]" >&2
    exit 2
fi
bin=$1
shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/corio-fetch.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
export CORIO_VIRTUAL_CLOCK=1
failed=0

fail() {
    echo "FAIL: $*"
    failed=1
}

# expect_count FILE PATTERN N: N lines of FILE hold PATTERN.
expect_count() {
    n=$(grep -c -- "$2" "$1")
    [ "$n" -eq "$3" ] || fail "$1: $n lines with $2, expected $3"
}

# --help, and a usage error.
"$@" "$bin" --help >"$tmp/help" 2>&1 || fail "--help exited $?"
grep -q "^usage: corio-fetch" "$tmp/help" || fail "--help printed no usage"
"$@" "$bin" --concurrency 0 http://x/ >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || fail "a bad option did not exit 2"
grep -q "needs a count" "$tmp/err" || fail "a bad option gave no message"
"$@" "$bin" </dev/null >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || fail "no URLs did not exit 2"

# The demo: 200 URLs, one JSON line each (with its input position), and
# the summary on stderr (stdout is the JSON lines').
"$@" "$bin" --demo 200 --json >"$tmp/demo.json" 2>"$tmp/demo.err"
status=$?
[ $status -eq 0 ] || fail "--demo 200 exited $status"
expect_count "$tmp/demo.json" '^{"index":[0-9]*,"url":"http://127.0.0.1:' 200
[ "$(sed -n 's/^{"index":\([0-9]*\),.*/\1/p' "$tmp/demo.json" | sort -n | uniq | wc -l)" -eq 200 ] ||
    fail "--json: the indexes are not 1..200 once each"
[ "$(sed -n 's/^{"index":\([0-9]*\),.*/\1/p' "$tmp/demo.json" | sort -n | tail -1)" -eq 200 ] ||
    fail "--json: the last index is not 200"
expect_count "$tmp/demo.json" '"status":200,' 176
expect_count "$tmp/demo.json" '"status":404,' 8
expect_count "$tmp/demo.json" '"status":500,' 6
expect_count "$tmp/demo.json" '"status":503,"bytes":[0-9]*,"ms":[0-9.]*,"attempts":3' 4
expect_count "$tmp/demo.json" '"status":429,"bytes":[0-9]*,"ms":[0-9.]*,"attempts":3' 2
expect_count "$tmp/demo.json" '/flaky/.*"status":200,.*"attempts":2' 4
expect_count "$tmp/demo.json" '/hang".*"attempts":3,"error":{"kind":"timeout"' 2
expect_count "$tmp/demo.json" '/refused".*"attempts":3,"error":{"kind":"refused"' 2
expect_count "$tmp/demo.json" '"error":null' 196
grep -q "^summary: 200 of 200 URLs" "$tmp/demo.err" || fail "no summary"
grep -q "codes   200 x176, 404 x8, 429 x2, 500 x6, 503 x4" "$tmp/demo.err" ||
    fail "summary: wrong status codes"
grep -q "errors  4 (timeout 2, refused 2), after p50" "$tmp/demo.err" ||
    fail "summary: wrong error kinds"
grep -q "latency .*(196 responses)" "$tmp/demo.err" ||
    fail "summary: the latency is not of the 196 responses"
grep -q "^demo: 200 of 200 URLs got the outcome" "$tmp/demo.err" ||
    fail "the demo's self-check did not pass"
# Not a terminal: plain progress lines, no escape sequences.
grep -q "^progress: 200/200 done" "$tmp/demo.err" || fail "no plain progress"
if grep -q "$(printf '\033')" "$tmp/demo.err"; then
    fail "escape sequences on a non-terminal"
fi

# URLs from stdin (comments and blank lines skipped): port 1 refuses, and a
# URL that is not http(s) fails without a retry.  Exit 1: a URL failed.
printf '# two URLs\n\nhttp://127.0.0.1:1/nothing\n  ftp://example.org/x  \n' |
    "$@" "$bin" --json --retries 1 -q >"$tmp/stdin.json" 2>"$tmp/stdin.err"
status=$?
[ $status -eq 1 ] || fail "failing URLs from stdin exited $status, not 1"
expect_count "$tmp/stdin.json" '"attempts":2,"error":{"kind":"refused"' 1
expect_count "$tmp/stdin.json" '"url":"ftp://example.org/x".*"attempts":1,"error":{"kind":"url"' 1
[ -s "$tmp/stdin.err" ] && fail "-q still wrote to stderr: $(cat "$tmp/stdin.err")"

# A file of URLs with -i and one plain line per URL (-v); a missing file is
# a usage error.  (Exit 0 for all-good URLs needs a server: the demo and the
# fetch_run suite cover it.)
printf 'http://127.0.0.1:1/a\nhttp://127.0.0.1:1/b\n' >"$tmp/list"
"$@" "$bin" -i "$tmp/list" -v >"$tmp/list.out" 2>"$tmp/list.err"
[ $? -eq 1 ] || fail "-i FILE with refused URLs did not exit 1"
expect_count "$tmp/list.out" '^refused (Connection refused) 0 B .* 1 attempt http://127.0.0.1:1/' 2
# Without --json the summary goes to stdout, after the -v lines.
grep -q "^summary: 2 of 2 URLs in .*, 2 attempts$" "$tmp/list.out" ||
    fail "-v: no summary on stdout"
"$@" "$bin" -i "$tmp/missing-file" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || fail "-i with a missing file did not exit 2"
"$@" "$bin" -o "$tmp/missing-dir" http://127.0.0.1:1/ >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || fail "-o with a missing directory did not exit 2"
grep -q "missing-dir: no such directory (--create-dirs makes it)" "$tmp/err" ||
    fail "-o with a missing directory: $(cat "$tmp/err")"
: >"$tmp/plain-file"
"$@" "$bin" -o "$tmp/plain-file" http://127.0.0.1:1/ >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || fail "-o with a file did not exit 2"
grep -q "plain-file: not a directory" "$tmp/err" || fail "-o FILE: $(cat "$tmp/err")"
# --create-dirs makes it, parents too.
"$@" "$bin" --demo 3 -q -o "$tmp/made/deep/dir" --create-dirs ||
    fail "--create-dirs exited $?"
[ -f "$tmp/made/deep/dir/3" ] || fail "--create-dirs: no DIR/3"

# One URL, one attempt: singular ("1 attempt", "1 response").
"$@" "$bin" -v http://127.0.0.1:1/x >"$tmp/one.out" 2>&1
grep -q "URL in .*, 1 attempt$" "$tmp/one.out" || fail "not singular: $(cat "$tmp/one.out")"
grep -q "attempts" "$tmp/one.out" && fail "'1 attempts': $(cat "$tmp/one.out")"

# -o DIR: the demo's bodies saved as DIR/1 ... DIR/N (URL 1 is /fast/0).
mkdir "$tmp/bodies"
"$@" "$bin" --demo 20 -q -o "$tmp/bodies" || fail "--demo 20 -o exited $?"
[ "$(cat "$tmp/bodies/1")" = '{"n": 0, "ok": true}' ] ||
    fail "-o: DIR/1 does not hold /fast/0's body"
[ "$(ls "$tmp/bodies" | wc -l)" -eq 20 ] || fail "-o: not 20 files"

# ---- on the real clock from here: peers in other processes ------------
unset CORIO_VIRTUAL_CLOCK

# --version names corio and OpenSSL.
"$@" "$bin" --version >"$tmp/version" || fail "--version exited $?"
grep -q "^corio-fetch [0-9.]* (corio [0-9.]*, OpenSSL [0-9]" "$tmp/version" ||
    fail "--version: $(cat "$tmp/version")"

# The demo server alone (--serve-demo, port 0: its first line names it).
"$@" "$bin" --serve-demo >"$tmp/serve.out" 2>&1 &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    grep -q "demo server on" "$tmp/serve.out" && break
    sleep 0.1
done
base=$(sed -n 's|.*demo server on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$tmp/serve.out")
[ -n "$base" ] || fail "--serve-demo printed no address: $(cat "$tmp/serve.out")"

# Request options, read back from /echo's JSON (saved with -o).
mkdir "$tmp/echo"
# (The emulator, if any, is "$@"; options follow the binary.)
echo_req() {
    name=$1
    shift
    $emu "$bin" -q -o "$tmp/echo" "$@" "$base/echo" || fail "/echo with $*: exit $?"
    mv "$tmp/echo/1" "$tmp/echo/$name"
}
emu="$*"
echo_req x -X PUT -H 'X-Test: one' -H 'Accept: text/plain' -d a=1 -d b=2 -A 'tester/1.0'
grep -q '"method":"PUT"' "$tmp/echo/x" || fail "-X PUT: $(cat "$tmp/echo/x")"
grep -q '"User-Agent":"tester/1.0"' "$tmp/echo/x" || fail "-A: $(cat "$tmp/echo/x")"
grep -q '"Accept":"text/plain"' "$tmp/echo/x" || fail "-H Accept: $(cat "$tmp/echo/x")"
grep -q '"X-Test":"one"' "$tmp/echo/x" || fail "-H X-Test: $(cat "$tmp/echo/x")"
grep -q '"Content-Type":"application/x-www-form-urlencoded"' "$tmp/echo/x" ||
    fail "-d: no form Content-Type: $(cat "$tmp/echo/x")"
grep -q '"body":"a=1&b=2"' "$tmp/echo/x" || fail "-d twice: $(cat "$tmp/echo/x")"
printf 'line one\r\nline two\n' >"$tmp/data"
echo_req d -d @"$tmp/data"
grep -q '"method":"POST","headers".*"body":"line oneline two"' "$tmp/echo/d" ||
    fail "-d @FILE: $(cat "$tmp/echo/d")"
echo_req b --data-binary @"$tmp/data" -H 'Content-Type: text/plain'
grep -q '"Content-Type":"text/plain"' "$tmp/echo/b" || fail "-H Content-Type: $(cat "$tmp/echo/b")"
grep -q '"body":"line one\\r\\nline two\\n"' "$tmp/echo/b" ||
    fail "--data-binary @FILE: $(cat "$tmp/echo/b")"
echo_req j --json-body '{"a": 1}'
grep -q '"method":"POST","headers":{.*"Content-Type":"application/json","Accept":"application/json"' "$tmp/echo/j" ||
    fail "--json-body: $(cat "$tmp/echo/j")"
echo_req g
grep -q '"method":"GET"' "$tmp/echo/g" || fail "GET: $(cat "$tmp/echo/g")"
grep -q '"User-Agent":"corio-fetch/' "$tmp/echo/g" || fail "default User-Agent"
grep -q '"Accept-Encoding":"gzip, deflate"' "$tmp/echo/g" ||
    fail "--compressed is not the default: $(cat "$tmp/echo/g")"
echo_req n --no-compressed
grep -q 'Accept-Encoding' "$tmp/echo/n" && fail "--no-compressed sent Accept-Encoding"
# Redirects: followed by default (-L is the same), none with --max-redirs 0.
$emu "$bin" --json "$base/redirect/3" >"$tmp/r.json" 2>/dev/null || fail "redirects: exit $?"
grep -q '"status":200' "$tmp/r.json" || fail "redirects not followed: $(cat "$tmp/r.json")"
$emu "$bin" -L --json --max-redirs 0 "$base/redirect/3" >"$tmp/r.json" 2>/dev/null
grep -q '"status":302' "$tmp/r.json" || fail "--max-redirs 0: $(cat "$tmp/r.json")"
$emu "$bin" --json --max-redirs 2 "$base/redirect/3" >"$tmp/r.json" 2>/dev/null
grep -q '"kind":"redirects"' "$tmp/r.json" || fail "--max-redirs 2: $(cat "$tmp/r.json")"
# -O: the remote name (the query is not part of it), in -o DIR.
mkdir "$tmp/O"
$emu "$bin" -q -O -o "$tmp/O" "$base/files/report.txt?v=2" "$base/fast/7" ||
    fail "-O exited $?"
[ "$(cat "$tmp/O/report.txt")" = "this is report.txt" ] || fail "-O: no report.txt"
[ -f "$tmp/O/7" ] || fail "-O: /fast/7 not saved as 7"
# Times with ms and rates per minute.
$emu "$bin" --json --timeout 300ms "$base/slow/2000" >"$tmp/t.json" 2>/dev/null
grep -q '"kind":"timeout"' "$tmp/t.json" || fail "--timeout 300ms: $(cat "$tmp/t.json")"
ms=$(sed -n 's/.*"ms":\([0-9]*\).*/\1/p' "$tmp/t.json")
[ "$ms" -ge 290 ] && [ "$ms" -lt 1500 ] || fail "--timeout 300ms took $ms ms"
start=$(date +%s%N)
$emu "$bin" -q --rate 600/min -c 5 "$base/fast/1" "$base/fast/2" "$base/fast/3" ||
    fail "--rate 600/min exited $?"
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$took" -ge 150 ] || fail "--rate 600/min (10/s): 3 requests in $took ms"

# Load mode: -n, the histogram and percentiles; --json summary; -z.
$emu "$bin" -n 300 -c 8 "$base/fast/1" >"$tmp/load.out" 2>"$tmp/load.err" ||
    fail "-n 300 exited $?"
grep -q "^summary: 300 of 300 requests in .* requests/s$" "$tmp/load.out" ||
    fail "-n: $(cat "$tmp/load.out")"
grep -q "p50 .* p90 .* p99 .* p99.9 .* max .* (300 responses)" "$tmp/load.out" ||
    fail "-n: no percentiles"
grep -q "codes   200 x300" "$tmp/load.out" || fail "-n: no status counts"
grep -q "histogram" "$tmp/load.out" || fail "-n: no histogram"
[ "$(grep -c '^ *[0-9.]* ms \[ *[0-9]*\] |#*$' "$tmp/load.out")" -ge 1 ] ||
    fail "-n: no histogram bars"
$emu "$bin" -n 50 --json "$base/fail/404" >"$tmp/load.json" 2>/dev/null ||
    fail "-n on 404s: exit $? (responses, not errors)"
grep -q '^{"url":".*","requests":50,"responses":50,"errors":0,.*"status":{"404":50}.*"latency_ms":{"min":.*"p99.9":.*"histogram":\[{"le_ms":' "$tmp/load.json" ||
    fail "--json load summary: $(cat "$tmp/load.json")"
$emu "$bin" -z 700ms -c 4 --json "$base/slow/100" >"$tmp/z.json" 2>/dev/null ||
    fail "-z exited $?"
n=$(sed -n 's/.*"requests":\([0-9]*\),.*/\1/p' "$tmp/z.json")
# (7 rounds of 4 at most; fewer on a slow emulator, never more)
[ "$n" -ge 8 ] && [ "$n" -le 28 ] || fail "-z 700ms at -c 4 on /slow/100: $n requests"
$emu "$bin" -n 5 -q http://127.0.0.1:1/ ; [ $? -eq 1 ] || fail "-n with errors did not exit 1"
$emu "$bin" -n 4 http://127.0.0.1:1/ >"$tmp/lerr.out" 2>/dev/null
grep -q "errors  4 (refused 4)" "$tmp/lerr.out" || fail "-n errors: $(cat "$tmp/lerr.out")"
grep -q "latency none: no response" "$tmp/lerr.out" || fail "-n errors: latency of failures shown"

# Ctrl-C: exit 130, a "cancelled" line for each URL in flight (/hang).
env --default-signal=INT $emu "$bin" --json --timeout 60s -c 4 "$base/fast/1" \
    "$base/hang" "$base/fast/2" "$base/hang" >"$tmp/int.json" 2>"$tmp/int.err" &
pid=$!
sleep 1
kill -INT $pid
wait $pid
status=$?
[ $status -eq 130 ] || fail "Ctrl-C: exit $status, not 130"
expect_count "$tmp/int.json" '"url":"[^"]*/hang".*"error":{"kind":"cancelled"' 2
expect_count "$tmp/int.json" '"status":200' 2
grep -q '^{"index":2,' "$tmp/int.json" && grep -q '^{"index":4,' "$tmp/int.json" ||
    fail "Ctrl-C: the cancelled lines lack their index"
grep -q "stopped by Ctrl-C: 2 finished, 2 in flight cancelled" "$tmp/int.err" ||
    fail "Ctrl-C: $(cat "$tmp/int.err")"

# ---- TLS: reasons, trust options, --resolve (openssl s_server -WWW) ------
pki=$tmp/pki
mkdir "$pki"
EC="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
(
    cd "$pki" || exit 1
    openssl req -x509 $EC -keyout ca.key -out ca.pem -subj '/CN=fetch test CA' -days 2
    for c in good:2 expired:-1; do
        n=${c%:*} days=${c#*:}
        openssl req -new $EC -keyout $n.key -out $n.csr -subj /CN=localhost
        printf 'subjectAltName=DNS:localhost,DNS:www.example.test,IP:127.0.0.1\n' >$n.ext
        openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -set_serial $((days + 10)) \
            -days $days -extfile $n.ext -out $n.pem
    done
    openssl req -x509 $EC -keyout self.key -out self.pem -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost -days 2
    mkdir capath && cp ca.pem capath/ && openssl rehash capath
    echo 'hello over TLS' >hello.txt
) >"$tmp/pki.log" 2>&1 || fail "making test certificates: $(cat "$tmp/pki.log")"
tls_pids=
tls_server() { # tls_server NAME: start s_server with NAME.pem, set $port
    (cd "$pki" && exec openssl s_server -accept 127.0.0.1:0 -cert "$1.pem" \
        -key "$1.key" -WWW) >"$tmp/s_$1.log" 2>&1 &
    tls_pids="$tls_pids $!"
    port=
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        port=$(sed -n 's/^ACCEPT 127.0.0.1:\([0-9]*\)/\1/p' "$tmp/s_$1.log" 2>/dev/null)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || fail "s_server $1 did not start"
}
trap 'kill $serve_pid $tls_pids 2>/dev/null; rm -rf "$tmp"' EXIT
tls_server good
good=$port
tls_server expired
expired=$port
tls_server self
self=$port
# tls_reason URL TEXT OPTIONS...: refused with TEXT in the -v line, --json
# and the summary.
tls_reason() {
    url=$1 text=$2
    shift 2
    $emu "$bin" -v "$@" "$url" >"$tmp/tls.out" 2>&1
    [ $? -eq 1 ] || fail "$url: not exit 1"
    grep -q "^tls (certificate refused: certificate verify failed: $text) 0 B" "$tmp/tls.out" ||
        fail "$url: the line lacks '$text': $(cat "$tmp/tls.out")"
    grep -q "^  reason  certificate verify failed: $text (1)" "$tmp/tls.out" ||
        fail "$url: the summary lacks '$text'"
    $emu "$bin" --json "$@" "$url" 2>/dev/null >"$tmp/tls.json"
    grep -q "\"error\":{\"kind\":\"tls\",\"message\":\"certificate refused: certificate verify failed: $text\"}" "$tmp/tls.json" ||
        fail "$url: --json lacks '$text': $(cat "$tmp/tls.json")"
}
tls_reason "https://localhost:$self/hello.txt" "self-signed certificate"
tls_reason "https://localhost:$good/hello.txt" "unable to get local issuer certificate"
tls_reason "https://localhost:$expired/hello.txt" "certificate has expired" --cacert "$pki/ca.pem"
tls_reason "https://wrong.example.test:$good/hello.txt" "hostname mismatch" \
    --cacert "$pki/ca.pem" --resolve "wrong.example.test:$good:127.0.0.1"
# Trusted through --cacert or --capath; --resolve keeps the URL's name.
for trust in "--cacert $pki/ca.pem" "--capath $pki/capath"; do
    $emu "$bin" -q -o "$tmp" $trust "https://localhost:$good/hello.txt" ||
        fail "$trust: exit $?"
    [ "$(cat "$tmp/1")" = "hello over TLS" ] || fail "$trust: wrong body"
done
$emu "$bin" -q --cacert "$pki/ca.pem" --resolve "www.example.test:$good:127.0.0.1" \
    "https://www.example.test:$good/hello.txt" || fail "--resolve: exit $?"
$emu "$bin" --cacert /nonexistent.pem "https://localhost:$good/" >/dev/null 2>"$tmp/err"
[ $? -ne 0 ] && grep -q "TLS: .*nonexistent" "$tmp/err" || fail "--cacert missing: $(cat "$tmp/err")"
# -k: fetched, and said loudly on stderr and in the summary.
$emu "$bin" -k "https://localhost:$self/hello.txt" >"$tmp/k.out" 2>"$tmp/k.err" ||
    fail "-k: exit $?"
grep -q "WARNING: -k/--insecure: certificates and host names are NOT verified" "$tmp/k.err" ||
    fail "-k: no warning on stderr"
grep -q "WARNING: -k/--insecure: no certificate or host name was verified" "$tmp/k.out" ||
    fail "-k: no warning in the summary"

# ---- the bar in a pseudo-terminal of 40 and 120 columns (script(1)) -----
# Every redraw ("\r" ... ESC[K) must fit in columns - 1 cells, or the
# terminal wraps it and each redraw lands on a new line.
if command -v script >/dev/null 2>&1 && [ -z "$emu" ]; then
    for cols in 40 120; do
        CORIO_VIRTUAL_CLOCK=1 script -qec \
            "stty cols $cols rows 24; exec $bin --demo 200 >/dev/null" \
            /dev/null </dev/null >"$tmp/pty$cols" 2>&1
        tr '\r' '\n' <"$tmp/pty$cols" | sed 's/\x1b\[K//g' | grep '^\[[#.]*\] ' >"$tmp/bars$cols"
        nbars=$(wc -l <"$tmp/bars$cols")
        widest=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$tmp/bars$cols")
        [ "$nbars" -ge 3 ] || fail "$cols columns: $nbars bars drawn: $(cat -v "$tmp/pty$cols")"
        [ "$widest" -le $((cols - 1)) ] || fail "$cols columns: a bar of $widest cells"
        grep -q "ETA" "$tmp/bars$cols" || fail "$cols columns: no ETA"
        grep -q "/s " "$tmp/bars$cols" || fail "$cols columns: no rate"
    done
    [ "$widest" -ge 100 ] || fail "120 columns: the widest bar is $widest cells"
    grep -q " in flight" "$tmp/bars120" || fail "120 columns: no in-flight count"
fi

if [ $failed -ne 0 ]; then
    echo "--- demo stderr:"
    cat "$tmp/demo.err"
    exit 1
fi
echo "PASS: corio-fetch"
exit 0
