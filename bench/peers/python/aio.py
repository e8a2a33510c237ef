"""bench/peers/python/aio.py -- the CPython asyncio / uvloop peer of
bench/core.c: the same metrics, printed as `metric value` lines.

    aio.py LOOP spawn [TOTAL [REPS]]   spawn_join_ns: create_task + gather in
                                       batches of 1,000
    aio.py LOOP switch [N [REPS]]      switch_ns: two tasks awaiting sleep(0)
    aio.py LOOP sleep [N [DELAY_MS]]   sleep_rss_kib, sleep_pte_kib: N tasks in
                                       asyncio.sleep at once
    aio.py LOOP timers N ...           timer_ns_N: loop.call_later(1 h) +
                                       cancel, per pair
    aio.py LOOP timertask N ...        timer_task_ns_N: N tasks in sleep(1 h),
                                       all cancelled and gathered (one run
                                       after a warm-up at N/10)

and the peers of bench/sync.c:

    aio.py LOOP queue [N [REPS]]       queue_rt_ns: two tasks, two
                                       asyncio.Queue (one each way); ns per
                                       round trip
    aio.py LOOP lock [N [REPS]]        lock_ns: `await lock.acquire()` +
                                       `lock.release()`, uncontended
    aio.py LOOP handoff [N [REPS]]     lock_handoff_ns: two tasks each looping
                                       acquire, sleep(0), release; ns per
                                       acquisition, and lock_handoff_share

LOOP is `asyncio` (the default event loop) or `uvloop`.  Run it with Debian's
/usr/bin/python3, which has python3-uvloop.
"""
import asyncio
import statistics
import sys
import time

BATCH = 1000


def now_ns():
    return time.monotonic_ns()


def read_mem():
    """VmRSS and VmPTE in KiB."""
    rss = pte = -1
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmPTE:"):
                pte = int(line.split()[1])
    return rss, pte


async def trivial():
    return 0


async def spawn_round(total):
    create_task, gather = asyncio.create_task, asyncio.gather
    t0 = now_ns()
    for _ in range(0, total, BATCH):
        tasks = [create_task(trivial()) for _ in range(BATCH)]
        await gather(*tasks)
    return now_ns() - t0


async def bench_spawn(total, reps):
    total = (total + BATCH - 1) // BATCH * BATCH
    await spawn_round(min(total, 10 * BATCH))  # warm-up
    ns = [await spawn_round(total) / total for _ in range(reps)]
    print("spawn_join_ns %.2f" % statistics.median(ns))


async def pinger(n):
    sleep = asyncio.sleep
    for _ in range(n):
        await sleep(0)


async def bench_switch(n, reps):
    ns = []
    for r in range(-1, reps):
        m = n // 10 if r < 0 else n
        t0 = now_ns()
        await asyncio.gather(asyncio.create_task(pinger(m)),
                             asyncio.create_task(pinger(m)))
        if r >= 0:
            ns.append((now_ns() - t0) / (2 * m))
    print("switch_ns %.2f" % statistics.median(ns))


async def bench_sleep(n, delay_ms):
    st = {"started": 0, "woke": 0, "wakeups": 0, "released": False}
    delay = delay_ms / 1000

    async def sleeper():
        st["started"] += 1
        # Sleep again until released, so that no task can finish before
        # memory is measured, however long spawning takes (as in core.c).
        while True:
            await asyncio.sleep(delay)
            if st["released"]:
                break
            st["wakeups"] += 1
        st["woke"] += 1

    tasks = [None] * n
    rss0, pte0 = read_mem()
    t0 = now_ns()
    for i in range(n):
        tasks[i] = asyncio.create_task(sleeper())
    t1 = now_ns()
    while st["started"] < n:
        await asyncio.sleep(0)
    t2 = now_ns()
    rss1, pte1 = read_mem()
    early, rewaits = st["woke"], st["wakeups"]
    st["released"] = True
    await asyncio.gather(*tasks)
    print("sleep_n %d" % n)
    print("sleep_rss_kib %.3f" % ((rss1 - rss0) / n))
    print("sleep_pte_kib %.3f" % ((pte1 - pte0) / n))
    print("sleep_count %d" % st["woke"])
    print("sleep_early %d" % early)
    print("sleep_rewaits %d" % rewaits)
    print("sleep_spawn_ns %.2f" % ((t1 - t0) / n))
    print("sleep_park_ns %.2f" % ((t2 - t1) / n))
    print("sleep_wait_ms %.1f" % ((now_ns() - t2) / 1e6))


async def bench_timers(n, reps):
    loop = asyncio.get_running_loop()
    call_later = loop.call_later

    def fired():
        raise SystemExit("a 1 h timer fired")

    ns = []
    for r in range(-1, reps):
        t0 = now_ns()
        handles = [call_later(3600, fired) for _ in range(n)]
        for h in handles:
            h.cancel()
        t = now_ns() - t0
        del handles
        await asyncio.sleep(0)  # let the loop drop the cancelled handles
        if r >= 0:
            ns.append(t / n)
    print("timer_ns_%d %.2f" % (n, statistics.median(ns)))


async def bench_timertask(n, reps):
    st = {"started": 0, "cancelled": 0}

    async def hour_sleeper():
        st["started"] += 1
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            st["cancelled"] += 1
            return 0
        raise RuntimeError("a 1 h sleep ended")

    ns = []
    for r in range(-1, reps):
        m = max(n // 10, 1) if r < 0 else n  # a smaller warm-up
        st["started"] = st["cancelled"] = 0
        t0 = now_ns()
        tasks = [asyncio.create_task(hour_sleeper()) for _ in range(m)]
        while st["started"] < m:
            await asyncio.sleep(0)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks)
        t = now_ns() - t0
        if st["cancelled"] != m:
            raise RuntimeError("not every task was cancelled")
        if r >= 0:
            ns.append(t / n)
    print("timer_task_ns_%d %.2f" % (n, statistics.median(ns)))


async def bench_queue(n, reps):
    there, back = asyncio.Queue(), asyncio.Queue()

    async def ponger(m):
        get, put = there.get, back.put
        for _ in range(m):
            await put(await get())

    async def pinger(m):
        get, put = back.get, there.put
        for i in range(m):
            await put(i)
            if await get() != i:
                raise RuntimeError("ping-pong lost an item")

    ns = []
    for r in range(-1, reps):
        m = max(n // 10, 1) if r < 0 else n
        t0 = now_ns()
        await asyncio.gather(asyncio.create_task(ponger(m)),
                             asyncio.create_task(pinger(m)))
        if r >= 0:
            ns.append((now_ns() - t0) / m)
    print("queue_rt_ns %.2f" % statistics.median(ns))


async def bench_lock(n, reps):
    lock = asyncio.Lock()
    acquire, release = lock.acquire, lock.release
    ns = []
    for r in range(-1, reps):
        m = max(n // 10, 1) if r < 0 else n
        t0 = now_ns()
        for _ in range(m):
            await acquire()
            release()
        if r >= 0:
            ns.append((now_ns() - t0) / m)
    print("lock_ns %.2f" % statistics.median(ns))


async def bench_handoff(n, reps):
    lock = asyncio.Lock()
    st = {"last": -1, "changes": 0}

    async def contender(ident, m):
        acquire, release, sleep = lock.acquire, lock.release, asyncio.sleep
        for _ in range(m):
            await acquire()
            if st["last"] != ident:
                st["changes"] += 1
            st["last"] = ident
            await sleep(0)
            release()

    ns = []
    share = 0.0
    for r in range(-1, reps):
        m = max(n // 10, 1) if r < 0 else n
        st["last"], st["changes"] = -1, 0
        t0 = now_ns()
        await asyncio.gather(asyncio.create_task(contender(0, m)),
                             asyncio.create_task(contender(1, m)))
        if r >= 0:
            ns.append((now_ns() - t0) / (2 * m))
            share = st["changes"] / (2 * m)
    print("lock_handoff_ns %.2f" % statistics.median(ns))
    print("lock_handoff_share %.5f" % share)


def arg(i, default):
    if len(sys.argv) <= i:
        return default
    v = int(sys.argv[i])
    if v <= 0:
        raise SystemExit("aio.py: bad number %r" % sys.argv[i])
    return v


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("asyncio", "uvloop"):
        raise SystemExit(__doc__)
    kind, what = sys.argv[1], sys.argv[2]
    if what == "spawn":
        coro = bench_spawn(arg(3, 100000), arg(4, 3))
    elif what == "switch":
        coro = bench_switch(arg(3, 200000), arg(4, 3))
    elif what == "sleep":
        coro = bench_sleep(arg(3, 100000), arg(4, 1000))
    elif what == "queue":
        coro = bench_queue(arg(3, 100000), arg(4, 3))
    elif what == "lock":
        coro = bench_lock(arg(3, 1000000), arg(4, 3))
    elif what == "handoff":
        coro = bench_handoff(arg(3, 100000), arg(4, 3))
    elif what in ("timers", "timertask"):
        sizes = [int(a) for a in sys.argv[3:]] or [100000]

        async def coro_all():
            for n in sizes:
                if what == "timers":
                    await bench_timers(n, 3 if n >= 1000000 else 5)
                else:  # ~16 us a task: one run (run.sh repeats it)
                    await bench_timertask(n, 1)
        coro = coro_all()
    else:
        raise SystemExit(__doc__)
    sys.stdout.reconfigure(line_buffering=True)
    if kind == "uvloop":
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(coro)


if __name__ == "__main__":
    main()
