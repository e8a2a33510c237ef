/* libuv TCP echo server for bench/echo (libuv1-dev): each connection reads
 * into its own buffer (READ bytes, default 16 KiB) and writes the bytes back at
 * once with uv_try_write; only what the socket does not take is copied into a
 * queued uv_write (the fast path libuv users write).  TCP_NODELAY on.
 *
 *   uv_echo PORT [READ] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BUFSZ 16384

static unsigned readsz = BUFSZ;

typedef struct {
    uv_tcp_t tcp;
    char buf[BUFSZ];
} conn_t;

typedef struct {
    uv_write_t req;
    uv_buf_t b;
} wreq_t;

static uv_loop_t *loop;

static void on_close(uv_handle_t *h)
{
    free(h);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    conn_t *c = (conn_t *)h;
    *b = uv_buf_init(c->buf, readsz);
}

static void on_write(uv_write_t *req, int status)
{
    wreq_t *w = (wreq_t *)req;
    if (status < 0 && !uv_is_closing((uv_handle_t *)req->handle))
        uv_close((uv_handle_t *)req->handle, on_close);
    free(w->b.base);
    free(w);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (n == 0)
        return;
    uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
    int w = uv_stream_get_write_queue_size(s) ? UV_EAGAIN
                                              : uv_try_write(s, &out, 1);
    if (w == UV_EAGAIN)
        w = 0;
    if (w < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (w < n) {
        wreq_t *q = malloc(sizeof *q);
        char *copy = malloc((size_t)(n - w));
        if (!q || !copy) {
            free(q);
            free(copy);
            uv_close((uv_handle_t *)s, on_close);
            return;
        }
        memcpy(copy, b->base + w, (size_t)(n - w));
        q->b = uv_buf_init(copy, (unsigned)(n - w));
        if (uv_write(&q->req, s, &q->b, 1, on_write) < 0) {
            free(copy);
            free(q);
            uv_close((uv_handle_t *)s, on_close);
        }
    }
}

static void on_conn(uv_stream_t *srv, int status)
{
    if (status < 0)
        return;
    conn_t *c = malloc(sizeof *c);
    if (!c)
        return;
    uv_tcp_init(loop, &c->tcp);
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: uv_echo PORT [READ]\n");
        return 2;
    }
    if (argc == 3)
        readsz = (unsigned)atoi(argv[2]);
    if (readsz < 1 || readsz > BUFSZ)
        readsz = BUFSZ;
    loop = uv_default_loop();
    uv_tcp_t srv;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", atoi(argv[1]), &a);
    uv_tcp_init(loop, &srv);
    int r = uv_tcp_bind(&srv, (const struct sockaddr *)&a, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&srv, 4096, on_conn);
    if (r < 0) {
        fprintf(stderr, "uv_echo: %s\n", uv_strerror(r));
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
