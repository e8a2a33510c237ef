#!/bin/sh
# Run a Redis example against the test redis-server and compare its output
# (tests/check_example.sh does the rest).  The server is the one the ctest
# fixture redis_server started in $CORIO_REDIS_TEST_DIR.
#   usage: check_redis_example.sh BINARY EXPECTED
set -u
env_file=${CORIO_REDIS_TEST_DIR:-}/env
if [ ! -f "$env_file" ]; then
    echo "FAIL: no test redis-server ($env_file missing)" >&2
    exit 1
fi
. "$env_file"
CORIO_REDIS_URL=$CORIO_REDIS_TEST_URL
export CORIO_REDIS_URL
exec sh "$(dirname "$0")/check_example.sh" "$@"
