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

if [ $failed -ne 0 ]; then
    echo "--- demo stderr:"
    cat "$tmp/demo.err"
    exit 1
fi
echo "PASS: corio-fetch"
exit 0
