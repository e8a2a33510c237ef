#!/bin/sh
# The main job first: corio-fetch --demo fetches 1,000 URLs from its own
# demo server on loopback (fast, slow, failing, hanging and redirecting
# endpoints) with a concurrency cap, a rate limit, timeouts, retries and one
# pooled session, and prints its progress and summary (about 7 s: the
# hanging URLs wait out three 2 s timeouts).  Then every example runs on the
# real clock, each under a heading that names the asyncio pattern it
# reproduces.  `make demo` calls this after building.
#
#   usage: scripts/demo.sh BUILD_DIR
#
# The sleeps are real here, so the whole demo takes about 40 seconds; the
# tests (make test) run the same programs on the virtual clock instead.
# corio-fetch's progress goes to stderr and its summary to stdout, with the
# examples' output.  DEMO_FETCH_ONLY=1 stops after corio-fetch (the test
# fetch_demo_quiet uses it).
set -u

build=${1:-build}
bin=$build/examples
if [ ! -d "$bin" ]; then
    echo "demo: no $bin; build first (make)" >&2
    exit 2
fi
unset CORIO_VIRTUAL_CLOCK

# Headings in bold when the output is a terminal.
bold='' plain=''
if [ -t 1 ]; then
    bold=$(printf '\033[1m')
    plain=$(printf '\033[0m')
fi

failed=0
run() {
    name=$1
    shift
    printf '\n%s== %s.c: %s%s\n' "$bold" "$name" "$*" "$plain"
    if ! "$bin/$name"; then
        echo "demo: $name failed" >&2
        failed=1
    fi
}

printf '%s== corio-fetch --demo: 1,000 URLs, -c 50 --rate 2000/s --timeout 2s --retries 2%s\n' "$bold" "$plain"
echo "Semaphore, rate limiter, timeouts, retries with backoff, errors isolated per"
echo "URL, one shared pooled session: tools/corio-fetch/, on a demo server in the"
echo "same process."
if ! "$build/tools/corio-fetch" --demo 1000; then
    echo "demo: corio-fetch failed" >&2
    failed=1
fi
if [ "${DEMO_FETCH_ONLY:-0}" = 1 ]; then
    exit $failed
fi

echo
echo "corio demo: the asyncio examples of the seed documents, in C."
echo "Sources in examples/; the asyncio -> corio map is docs/asyncio.md."
run hello       "asyncio.run(): print, await asyncio.sleep(1), print"
run sleep       "a coroutine pausing with await asyncio.sleep() without blocking the loop"
run gather      "asyncio.gather(task1(), task2()): two sleeps overlap, 2 s in all"
run create_task "asyncio.create_task() now, await task later"
run wait_for    "asyncio.wait_for(timeout=5) and async_timeout.timeout() with finally-cleanup"
run cancel      "task.cancel(), catching CancelledError to clean up, then re-raising"
run to_thread   "asyncio.to_thread() / run_in_executor(): CPU work off the loop"
run group       "asyncio.TaskGroup: one child fails, the others are cancelled"
run semaphore   "asyncio.Semaphore(10) around 50 fetches: never more than 10 at once"
run rate_limiter "the seeds' token-bucket RateLimiter, done right: 5/s, burst 2, a caller gives up"
run lock        "asyncio.Lock: async with lock around a read-wait-write update"
run producer_consumer "asyncio.Queue: 3 producers, 2 consumers, queue.join(), cancel the consumers"
run as_completed "asyncio.as_completed(): results in the order tasks finish, then a timeout"
run map         "gather behind Semaphore(10) in one call: 25 fetches, 10 at once, a timeout"
run select      "one worker waiting on two queues, a stop event and an idle deadline"
run worker_thread "worker threads and the loop: thread-safe channels and call_soon_threadsafe"
run tcp_echo    "asyncio.start_server + open_connection: an echo server and its clients"
run tls_client  "open_connection(ssl=ctx, server_hostname=...): verification, ALPN, resumption, a refusal"
run read_lines  "async for line in aiofiles.open(path), with a maximum line length"
run subprocess  "asyncio.create_subprocess_exec: read a child's output, communicate, a timeout kills it"
run graceful_shutdown "loop.add_signal_handler(SIGTERM): cancel the main group, clean up in shields"
run http_gather "gather(*[fetch_data(url) ...], return_exceptions=True): errors logged per URL"
run http_semaphore "async with semaphore: session.get(url): 50 fetches, 10 at once, one session"
run http_shared_session "fetch_multiple_apis: one ClientSession for every request, response.json()"
run http_task_group "async with asyncio.TaskGroup(): all results, or the rest cancelled"
run http_test_client "pytest + httpx.AsyncClient(app=app): an HTTP app tested in-process, no sockets"
run testing "@pytest.mark.asyncio test_fetch_data on corio's test kit, then a timeout, a fault sweep and a cancel sweep"
echo
if [ "$failed" -ne 0 ]; then
    echo "demo: some examples failed" >&2
    exit 1
fi
echo "demo: done."
