"""FastAPI + uvicorn + asyncpg twin of examples/web_service.c for
bench/pg/web.sh: GET /users/{id} (one fetchrow) and GET /queries?n=N (N
fetchrows on one pooled connection, one after another: asyncpg runs one
query at a time per connection).  Pool of 4 connections, as the C app.

    DATABASE_URL=... python3 fastapi_app.py PORT
"""
import os, sys

import asyncpg
import uvicorn
from fastapi import FastAPI, HTTPException

app = FastAPI()
pool = None
SQL = "SELECT id, name, email FROM ws_users WHERE id = $1"


@app.on_event("startup")
async def startup():
    global pool
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=4, max_size=4)


@app.get("/users/{id}")
async def get_user(id: int):
    async with pool.acquire() as conn:
        row = await conn.fetchrow(SQL, id)
    if row is None:
        raise HTTPException(status_code=404, detail="not found")
    return dict(row)


@app.get("/queries")
async def get_queries(n: int = 1):
    n = min(max(n, 1), 500)
    async with pool.acquire() as conn:
        rows = [await conn.fetchrow(SQL, i % 3 + 1) for i in range(n)]
    return [dict(r) if r else None for r in rows]


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False, loop="uvloop")
