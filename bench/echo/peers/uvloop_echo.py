"""asyncio + uvloop TCP echo server for bench/echo: a Protocol that writes
back what it receives (uvloop's fastest echo form), TCP_NODELAY on.

    python3 uvloop_echo.py PORT [asyncio|uvloop]
"""
import asyncio
import socket
import sys


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.transport.write(data)

    def connection_lost(self, exc):
        self.transport = None


async def main(port):
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(Echo, "127.0.0.1", port, backlog=4096)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    port = int(sys.argv[1])
    kind = sys.argv[2] if len(sys.argv) > 2 else "uvloop"
    if kind == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(main(port))
