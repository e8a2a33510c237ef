/* bench/echo/corio_echo.c — corio's TCP echo server for bench/echo.
 *
 *   corio_echo PORT [HOST] [--raw] [--read N]      (HOST default 127.0.0.1)
 *
 * corio_serve runs each connection as a task: read up to N bytes (default
 * 16 KiB) from its stream, write the bytes back, flush.  --raw bypasses the
 * stream's buffers (corio_fd_read / corio_fd_write on its descriptor), to show
 * what the stream layer costs.  The engine is the loop's default (io_uring
 * where the kernel has it, else epoll); CORIO_ENGINE=epoll|uring forces one.
 * Runs until killed (SIGINT cancels the serve call: graceful). */
#define _GNU_SOURCE
#include <corio.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUFSZ 16384

static int port, raw;
static size_t readsz = BUFSZ;
static const char *host = "127.0.0.1";

static int echo_raw(int fd)
{
    char buf[BUFSZ];
    for (;;) {
        ssize_t n = corio_fd_read(fd, buf, readsz);
        if (n <= 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = corio_fd_write(fd, buf + off, (size_t)(n - off));
            if (w < 0)
                return 0;
            off += w;
        }
    }
}

static int echo_conn(corio_stream *s, void *arg)
{
    (void)arg;
    if (raw)
        return echo_raw(corio_stream_fd(s));
    char buf[BUFSZ];
    for (;;) {
        ssize_t n = corio_stream_read(s, buf, readsz);
        if (n <= 0)
            return 0;
        if (corio_stream_write(s, buf, (size_t)n) < 0 ||
            corio_stream_flush(s) < 0)
            return 0;
    }
}

static int serve_main(void *arg)
{
    (void)arg;
    corio_listener *l;
    corio_listen_opts lo = {.backlog = 4096};
    int r = corio_tcp_listen(&l, host, port, &lo);
    if (r < 0) {
        fprintf(stderr, "corio_echo: listen %s:%d: %s\n", host, port,
                corio_strerror(r));
        return 1;
    }
    r = corio_serve(l, echo_conn, NULL, NULL);
    corio_listener_close(l);
    if (r < 0 && r != -ECANCELED) {
        fprintf(stderr, "corio_echo: serve: %s\n", corio_strerror(r));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--raw"))
            raw = 1;
        else if (!strcmp(argv[i], "--read") && i + 1 < argc)
            readsz = (size_t)atoi(argv[++i]);
        else if (pos == 0)
            port = atoi(argv[i]), pos++;
        else if (pos == 1)
            host = argv[i], pos++;
        else
            pos = 99;
    }
    if (pos < 1 || pos > 2 || readsz < 1 || readsz > BUFSZ) {
        fprintf(stderr, "usage: corio_echo PORT [HOST] [--raw] [--read N]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* peers that go away give -EPIPE, not a signal */
    int result = 0;
    int r = corio_run(serve_main, NULL, &result);
    return r < 0 || result < 0;
}
