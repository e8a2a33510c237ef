"""asyncpg's side of bench/pg/run.sh: TASKS tasks over a pool of CONNS
connections (asyncpg cannot share one connection between tasks), uvloop
when installed.  Prints queries/s and the client's CPU per query.

    python3 asyncpg_bench.py DSN select1|series1000|pgtype TASKS CONNS SECONDS
"""
import asyncio, os, resource, sys, time

import asyncpg

SQL = {
    "select1": "SELECT 1+1",
    "series1000": "SELECT g FROM generate_series(1, 1000) g",
    "pgtype": "SELECT typname, typnamespace, typowner, typlen, typbyval, typcategory, "
              "typispreferred, typisdefined, typdelim, typrelid, typelem, typarray "
              "FROM pg_type WHERE typtypmod = -1 AND typisdefined = true",
}


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def main(dsn, name, tasks, conns, seconds):
    sql = SQL[name]
    pool = await asyncpg.create_pool(dsn, min_size=conns, max_size=conns)
    done = 0
    deadline = time.monotonic() + seconds

    async def worker():
        nonlocal done
        while time.monotonic() < deadline:
            async with pool.acquire() as c:
                await c.fetch(sql)
            done += 1

    c0, t0 = cpu(), time.monotonic()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    el, used = time.monotonic() - t0, cpu() - c0
    loop = "uvloop" if "uvloop" in sys.modules else "asyncio"
    print(f"asyncpg   tasks={tasks} conns={conns} ({loop}) {done / el:10.0f} q/s"
          f"  {used * 1e6 / done:7.1f} us CPU/query")
    await pool.close()


if __name__ == "__main__":
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    dsn, name, tasks, conns, seconds = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    asyncio.run(main(dsn, name, tasks, conns, seconds))
