"""The Python side of bench/pg/run.sh: TASKS asyncio tasks (uvloop when
installed) over CONNS connections, with either

    asyncpg   a pool (asyncpg cannot share one connection between tasks),
              rows fetched with fetch()
    psycopg   psycopg 3's AsyncConnection, one task at a time per
              connection (tasks take them from a queue, as psycopg_pool
              would), prepared at first use, rows fetched with fetchall()

Prints queries/s and the client's CPU per query.

    python3 py_bench.py asyncpg|psycopg DSN select1|series1000|pgtype|insert1000|copy100k TASKS CONNS SECONDS

insert1000 is one executemany of 1,000 rows, copy100k one COPY of 100,000
rows (asyncpg's copy_records_to_table, psycopg's cursor.copy), both into
bench_rows (a int, b text), which run.sh makes.
"""
import asyncio, resource, sys, time

SQL = {
    "select1": "SELECT 1+1",
    "series1000": "SELECT g FROM generate_series(1, 1000) g",
    "insert1000": "INSERT INTO bench_rows (a, b) VALUES ($1, $2)",
    "copy100k": None,
    "pgtype": "SELECT typname, typnamespace, typowner, typlen, typbyval, typcategory, "
              "typispreferred, typisdefined, typdelim, typrelid, typelem, typarray "
              "FROM pg_type WHERE typtypmod = -1 AND typisdefined = true",
}


ROWS = [(i, f"row {i}") for i in range(1000)]
COPY_ROWS = [(i, f"row {i}") for i in range(100000)]


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def asyncpg_client(dsn, conns):
    import asyncpg
    pool = await asyncpg.create_pool(dsn, min_size=conns, max_size=conns)

    async def one(sql):
        async with pool.acquire() as c:
            if sql is None:
                await c.copy_records_to_table("bench_rows", records=COPY_ROWS,
                                              columns=["a", "b"])
            elif sql.startswith("INSERT"):
                await c.executemany(sql, ROWS)
            else:
                await c.fetch(sql)
    return one, pool.close


async def psycopg_client(dsn, conns):
    import psycopg
    free = asyncio.Queue()
    for _ in range(conns):
        free.put_nowait(await psycopg.AsyncConnection.connect(
            dsn, autocommit=True, prepare_threshold=0))

    async def one(sql):
        c = await free.get()
        try:
            if sql is None:
                async with c.cursor().copy("COPY bench_rows (a, b) FROM STDIN") as cp:
                    for row in COPY_ROWS:
                        await cp.write_row(row)
            elif sql.startswith("INSERT"):
                await c.cursor().executemany(sql.replace("$1", "%s").replace("$2", "%s"), ROWS)
            else:
                cur = await c.execute(sql)
                await cur.fetchall()
        finally:
            free.put_nowait(c)

    async def close():
        while not free.empty():
            await free.get_nowait().close()
    return one, close


async def main(driver, dsn, name, tasks, conns, seconds):
    sql = SQL[name]
    make = asyncpg_client if driver == "asyncpg" else psycopg_client
    one, close = await make(dsn, conns)
    done = 0
    deadline = time.monotonic() + seconds

    async def worker():
        nonlocal done
        while time.monotonic() < deadline:
            await one(sql)
            done += 1

    c0, t0 = cpu(), time.monotonic()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    el, used = time.monotonic() - t0, cpu() - c0
    loop = "uvloop" if "uvloop" in sys.modules else "asyncio"
    print(f"{driver:9} tasks={tasks} conns={conns} ({loop}) {done / el:10.0f} q/s"
          f"  {used * 1e6 / done:7.1f} us CPU/query")
    await close()


if __name__ == "__main__":
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    driver, dsn, name = sys.argv[1:4]
    tasks, conns, seconds = map(int, sys.argv[4:7])
    asyncio.run(main(driver, dsn, name, tasks, conns, seconds))
