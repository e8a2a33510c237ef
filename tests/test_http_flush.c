/* test_http_flush.c — corio_http_reply_flush: a streamed reply (server-sent
 * events) pushes each event as it is written.  The handler writes event k,
 * flushes, then waits until the client says it has read event k before it
 * writes event k + 1: without the flush the client would never see event 1
 * (the bytes would sit in the server's write buffer) and the run would
 * deadlock.  Over a real loopback socket, chunked and with a length. */
#include "tst.h"

#include <signal.h>
#include <string.h>

#define NEVENTS 3

typedef struct sse {
    corio_event read[NEVENTS]; /* the client read event k */
    int64_t length;            /* -1 chunked, else Content-Length */
    int rc;                    /* the handler's last flush result */
} sse;

static int h_events(corio_http_req *req, void *arg)
{
    sse *s = arg;
    int rc = corio_http_reply_flush(req);
    CHECK_EQ(rc, -EINVAL); /* no streamed reply yet */
    CHECK_EQ(corio_http_reply_header(req, "Content-Type", "text/event-stream"),
             0);
    rc = corio_http_reply_begin(req, 200, s->length);
    for (int k = 0; rc == 0 && k < NEVENTS; k++) {
        char ev[32];
        int n = snprintf(ev, sizeof ev, "data: %d\n\n", k);
        rc = corio_http_reply_write(req, ev, (size_t)n);
        if (rc == 0)
            rc = corio_http_reply_flush(req);
        if (rc == 0)
            rc = corio_event_wait(&s->read[k]);
    }
    if (rc == 0)
        rc = corio_http_reply_end(req);
    CHECK_EQ(corio_http_reply_flush(req), -EINVAL); /* ended */
    s->rc = rc;
    return rc;
}

typedef struct srv {
    corio_listener *l;
    corio_http_router *r;
    corio_event stop;
} srv;

static int serve(void *arg)
{
    srv *v = arg;
    corio_http_server_opts o = {0};
    o.stop = &v->stop;
    return corio_http_serve(v->l, v->r, &o);
}

static int events_main(void *arg)
{
    sse *s = arg;
    srv v;
    corio_addr a;
    corio_task *t;
    corio_stream *c;
    char buf[512];
    signal(SIGPIPE, SIG_IGN);
    for (int k = 0; k < NEVENTS; k++)
        CHECK_EQ(corio_event_init(&s->read[k]), 0);
    CHECK_EQ(corio_event_init(&v.stop), 0);
    CHECK_EQ(corio_tcp_listen(&v.l, "127.0.0.1", 0, NULL), 0);
    CHECK_EQ(corio_listener_addr(v.l, &a), 0);
    CHECK_EQ(corio_http_router_new(&v.r), 0);
    CHECK_EQ(corio_http_router_add(v.r, "GET", "/events", h_events, s), 0);
    CHECK_EQ(corio_task_spawn(&t, serve, &v), 0);
    CHECK_EQ(corio_tcp_connect(&c, "127.0.0.1", corio_addr_port(&a)), 0);
    const char *get = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_EQ(corio_stream_write(c, get, strlen(get)), 0);
    CHECK_EQ(corio_stream_flush(c), 0);
    ssize_t n = corio_stream_read_until(c, "\r\n\r\n", 4, buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n] = 0;
    CHECK(strstr(buf, "HTTP/1.1 200") == buf);
    CHECK(strstr(buf, "text/event-stream") != NULL);
    for (int k = 0; k < NEVENTS; k++) {
        char want[32];
        int wl = snprintf(want, sizeof want, "data: %d\n\n", k);
        if (s->length < 0) { /* chunk size line, data, CRLF */
            n = corio_stream_read_line(c, buf, sizeof buf);
            CHECK(n > 0);
            CHECK_EQ(strtol(buf, NULL, 16), wl);
        }
        CHECK_EQ(corio_stream_read_exactly(c, buf, (size_t)wl), 0);
        CHECK(memcmp(buf, want, (size_t)wl) == 0);
        if (s->length < 0)
            CHECK_EQ(corio_stream_read_exactly(c, buf, 2), 0);
        corio_event_set(&s->read[k]); /* now the server may write k + 1 */
    }
    if (s->length < 0) {
        CHECK_EQ(corio_stream_read_exactly(c, buf, 5), 0);
        CHECK(memcmp(buf, "0\r\n\r\n", 5) == 0);
    }
    corio_stream_close(c);
    corio_event_set(&v.stop);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(s->rc, 0);
    corio_listener_close(v.l);
    corio_http_router_free(v.r);
    return 0;
}

TEST(http_flush, chunked_events_arrive_one_by_one)
{
    sse s = {.length = -1};
    CHECK_EQ(tst_run(events_main, &s), 0);
}

TEST(http_flush, sized_events_arrive_one_by_one)
{
    sse s = {.length = NEVENTS * 9};
    CHECK_EQ(tst_run(events_main, &s), 0);
}
