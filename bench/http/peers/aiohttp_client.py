"""aiohttp client for bench/http: N GET requests of URL, C at a time, over
one ClientSession (pooled keep-alive), on uvloop; prints elapsed seconds.

    python3 aiohttp_client.py URL N C
"""
import asyncio
import sys
import time

import aiohttp
import uvloop


async def main(url, n, c):
    left = n
    failed = 0
    conn = aiohttp.TCPConnector(limit=c)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def worker():
            nonlocal left, failed
            while left > 0:
                left -= 1
                async with session.get(url) as r:
                    await r.read()
                    if r.status != 200:
                        failed += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(c)))
        dt = time.perf_counter() - t0
    if failed:
        sys.exit(f"{failed} requests failed")
    print(f"{dt:.6f}")


uvloop.install()
asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
