"""aiohttp server for bench/http: GET / answers "Hello, World!" as
text/plain, keep-alive, on uvloop (aiohttp's fastest setup) or asyncio.

    python3 aiohttp_server.py PORT [uvloop|asyncio]
"""
import sys

from aiohttp import web


async def hello(request):
    return web.Response(text="Hello, World!")


app = web.Application()
app.router.add_get("/", hello)
if len(sys.argv) < 3 or sys.argv[2] == "uvloop":
    import uvloop

    uvloop.install()
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None,
            print=None)
