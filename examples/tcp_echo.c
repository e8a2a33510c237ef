/* tcp_echo.c — a TCP echo server and its clients in one program.
 *
 * The asyncio originals (the "TCP echo server/client using streams"
 * examples of the asyncio documentation):
 *
 *     async def handle_echo(reader, writer):
 *         data = await reader.read(100)
 *         message = data.decode()
 *         addr = writer.get_extra_info('peername')
 *         print(f"Received {message!r} from {addr!r}")
 *         print(f"Send: {message!r}")
 *         writer.write(data)
 *         await writer.drain()
 *         print("Close the connection")
 *         writer.close()
 *         await writer.wait_closed()
 *
 *     server = await asyncio.start_server(handle_echo, '127.0.0.1', 8888)
 *     async with server:
 *         await server.serve_forever()
 *
 *     async def tcp_echo_client(message):
 *         reader, writer = await asyncio.open_connection('127.0.0.1', 8888)
 *         print(f'Send: {message!r}')
 *         writer.write(message.encode())
 *         await writer.drain()
 *         data = await reader.read(100)
 *         print(f'Received: {data.decode()!r}')
 *         print('Close the connection')
 *         writer.close()
 *         await writer.wait_closed()
 *
 * In corio, start_server + serve_forever is corio_tcp_listen + corio_serve:
 * each connection runs in its own task, and setting the `stop` event (or
 * cancelling the serving task) shuts the server down gracefully: it stops
 * accepting, gives running connections a grace period, then cancels them.
 * open_connection is corio_tcp_connect, which resolves the name and races
 * IPv6 against IPv4 (happy eyeballs); the reader and the writer are one
 * corio_stream, and drain is corio_stream_flush.  A connect timeout is
 * an ordinary timeout scope around the call.
 *
 * The server listens on a port the kernel picks (port 0), so that the
 * example never collides with anything; the clients are told the port. */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct server {
    corio_listener *listener;
    int port;
    corio_event stop;
} server;

/* handle_echo: one message per connection.  The stream belongs to
 * corio_serve, which closes it when this returns. */
static int handle_echo(corio_stream *conn, void *arg)
{
    (void)arg;
    char data[100], peer[CORIO_ADDR_STRLEN] = "?";
    corio_addr addr;

    ssize_t n = corio_stream_read(conn, data, sizeof data - 1);
    if (n <= 0)
        return (int)n;
    data[n] = 0;
    /* The peer's address (with its port, which changes from run to run:
     * only the host part is printed). */
    if (corio_socket_peer(corio_stream_fd(conn), &addr) == 0)
        corio_addr_format(&addr, peer, sizeof peer);
    *strrchr(peer, ':') = 0;
    printf("server: Received '%s' from %s\n", data, peer);
    printf("server: Send: '%s'\n", data);
    int rc = corio_stream_write(conn, data, (size_t)n);
    if (rc == 0)
        rc = corio_stream_flush(conn); /* await writer.drain() */
    printf("server: Close the connection\n");
    return rc;
}

static int run_server(void *arg)
{
    server *s = arg;
    corio_serve_opts o = {.stop = &s->stop, .grace_ns = CORIO_SECOND};
    int rc = corio_serve(s->listener, handle_echo, NULL, &o);
    printf("server: stopped (%s)\n",
           rc == 0 ? "stop event" : corio_strerror(rc));
    return rc;
}

static int tcp_echo_client(const char *message, int port)
{
    corio_stream *s;
    char data[100];

    /* open_connection, with a 5 s connect timeout. */
    int rc;
    CORIO_WITH_TIMEOUT(5 * CORIO_SECOND, rc)
    {
        rc = corio_tcp_connect(&s, "127.0.0.1", port);
    }
    if (rc < 0) {
        printf("client: connect failed: %s\n", corio_strerror(rc));
        return rc;
    }
    printf("client: Send: '%s'\n", message);
    rc = corio_stream_write(s, message, strlen(message));
    if (rc == 0)
        rc = corio_stream_flush(s);
    ssize_t n = rc < 0 ? rc : corio_stream_read(s, data, sizeof data - 1);
    if (n >= 0) {
        data[n] = 0;
        printf("client: Received: '%s'\n", data);
    }
    printf("client: Close the connection\n");
    corio_stream_close(s);
    return n < 0 ? (int)n : 0;
}

static int async_main(void *arg)
{
    (void)arg;
    server s;
    corio_addr addr;
    corio_task *srv;

    /* server = await asyncio.start_server(handle_echo, '127.0.0.1', 0) */
    int rc = corio_tcp_listen(&s.listener, "127.0.0.1", 0, NULL);
    if (rc < 0)
        return rc;
    corio_listener_addr(s.listener, &addr);
    s.port = corio_addr_port(&addr);
    corio_event_init(&s.stop);
    printf("server: serving on 127.0.0.1\n");
    rc = corio_task_spawn(&srv, run_server, &s);
    if (rc < 0)
        return rc;

    const char *messages[] = {"Hello World!", "corio says hi", "bye"};
    for (size_t i = 0; i < 3 && rc == 0; i++)
        rc = tcp_echo_client(messages[i], s.port);

    /* Stop the server (server.close()); it returns once every connection
     * task is gone. */
    corio_event_set(&s.stop);
    CORIO_IGNORE(corio_task_join(srv, NULL));
    corio_listener_close(s.listener);
    corio_event_destroy(&s.stop);

    /* Nobody listens any more: the connection is refused. */
    tcp_echo_client("anyone there?", s.port);
    return rc;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int result;
    int rc = corio_run(async_main, NULL, &result);
    if (rc == 0)
        rc = result; /* main's own verdict */
    if (rc < 0) {
        fprintf(stderr, "tcp_echo: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
