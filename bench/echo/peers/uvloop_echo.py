"""asyncio + uvloop TCP echo server for bench/echo: a Protocol that writes
back what it receives (uvloop's fastest echo form), TCP_NODELAY on.  With
READ, a BufferedProtocol whose buffer holds READ bytes, so that each read
takes at most READ bytes (Photon's method: 512).

    python3 uvloop_echo.py PORT [asyncio|uvloop] [READ]
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


class BufferedEcho(asyncio.BufferedProtocol):
    size = 16384

    def connection_made(self, transport):
        self.transport = transport
        self.buf = bytearray(self.size)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def get_buffer(self, sizehint):
        return self.buf

    def buffer_updated(self, nbytes):
        self.transport.write(self.buf[:nbytes])

    def connection_lost(self, exc):
        self.transport = None


async def main(port, read):
    loop = asyncio.get_running_loop()
    proto = Echo
    if read:
        BufferedEcho.size = read
        proto = BufferedEcho
    srv = await loop.create_server(proto, "127.0.0.1", port, backlog=4096)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    port = int(sys.argv[1])
    kind = sys.argv[2] if len(sys.argv) > 2 else "uvloop"
    read = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    if kind == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(main(port, read))
