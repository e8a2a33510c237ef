#!/bin/sh
# Run one example on the virtual clock and compare its stdout with the
# expected transcript.  ctest calls this for every example (label core).
#
#   usage: check_example.sh BINARY EXPECTED [EMULATOR [ARGS...]]
#
# With CORIO_VIRTUAL_CLOCK=1 time only moves when every task is blocked, so
# "sleep 5 s" costs nothing and the output, timestamps included, is exactly
# the same on every run.  EMULATOR (e.g. qemu-aarch64 for a cross build)
# is put in front of BINARY when given.
set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 BINARY EXPECTED [EMULATOR [ARGS...]]" >&2
    exit 2
fi
bin=$1
expected=$2
shift 2

out=$(mktemp "${TMPDIR:-/tmp}/corio-example.XXXXXX") || exit 2
trap 'rm -f "$out"' EXIT
trap 'exit 1' HUP INT TERM

CORIO_VIRTUAL_CLOCK=1 "$@" "$bin" >"$out"
status=$?

if [ "$status" -ne 0 ]; then
    echo "FAIL: $bin exited with status $status; its output was:"
    cat "$out"
    exit 1
fi
if ! diff -u "$expected" "$out"; then
    echo "FAIL: the output of $bin differs from $expected (diff above)"
    exit 1
fi
echo "PASS: $bin"
exit 0
