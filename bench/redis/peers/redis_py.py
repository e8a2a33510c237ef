"""redis_py.py — the Python peer of bench/redis/run.sh: redis.asyncio
(Debian python3-redis 4.3) on uvloop, GET or SET of 64-byte values from
TASKS tasks.

    redis_py.py URL pooled|pipelined get|set TASKS N

pooled: a BlockingConnectionPool of TASKS connections, one command per
await; pipelined: each task sends pipelines (transaction=False) of 16.
Prints "ops_per_s" for the timed part (after a warm-up of N/10)."""
import asyncio
import sys
import time

import redis.asyncio as aioredis
import uvloop


async def main(url, mode, op, tasks, n):
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=tasks)
    r = aioredis.Redis(connection_pool=pool)
    value = b"x" * 64

    async def worker(state):
        while state["done"] < state["total"]:
            if mode == "pooled":
                state["done"] += 1
                if op == "set":
                    await r.set("key:__rand_int__", value)
                else:
                    await r.get("key:__rand_int__")
            else:
                state["done"] += 16
                p = r.pipeline(transaction=False)
                for _ in range(16):
                    if op == "set":
                        p.set("key:__rand_int__", value)
                    else:
                        p.get("key:__rand_int__")
                await p.execute()

    async def round_of(total):
        state = {"done": 0, "total": total}
        await asyncio.gather(*(worker(state) for _ in range(tasks)))
        return state["done"]

    await round_of(n // 10)
    t0 = time.perf_counter()
    done = await round_of(n)
    print("%.0f" % (done / (time.perf_counter() - t0)))
    await pool.disconnect()


uvloop.install()
asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
