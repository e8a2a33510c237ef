/* test_serve.c — corio_serve over loopback, on the virtual clock.
 *
 * Each test runs a server task (corio_serve) and client tasks in one loop.
 * The handlers record when they started and ended and how (finished or
 * cancelled), so the graceful shutdown can be checked to the nanosecond:
 * stop accepting, let connections finish within the grace period, cancel
 * the rest when it ends, and return only when every connection task is
 * gone.  Descriptor counts before and after show nothing leaks. */
#include "net_util.h"

#include <sys/socket.h>

typedef struct stats {
    int started, finished, cancelled, failed;
    int64_t last_end;
} stats;

typedef struct srv {
    corio_listener *l;
    int port;
    corio_event stop;
    corio_serve_opts o;
    corio_serve_fn fn;
    stats st;
    int rc;
    int64_t returned_at; /* since t0 */
} srv;

static int64_t t0; /* the run's start: virtual time starts at the real clock */

static void srv_init(srv *s, corio_serve_fn fn)
{
    memset(s, 0, sizeof *s);
    t0 = corio_now();
    CHECK_EQ(corio_tcp_listen(&s->l, "127.0.0.1", 0, NULL), 0);
    corio_addr a;
    CHECK_EQ(corio_listener_addr(s->l, &a), 0);
    s->port = corio_addr_port(&a);
    corio_event_init(&s->stop);
    s->o.stop = &s->stop;
    s->fn = fn;
}

static int serve_task(void *arg)
{
    srv *s = arg;
    s->rc = corio_serve(s->l, s->fn, s, &s->o);
    s->returned_at = corio_now() - t0;
    return 0;
}

/* Handlers.  A line "sleep N\n" makes the handler sleep N ms before
 * answering "done\n"; otherwise lines are echoed until end of stream. */
static int handler(corio_stream *c, void *arg)
{
    srv *s = arg;
    char line[64];
    int rc = 0;
    s->st.started++;
    for (;;) {
        ssize_t n = corio_stream_read_line(c, line, sizeof line);
        if (n <= 0) {
            rc = (int)n;
            break;
        }
        int ms;
        if (sscanf(line, "sleep %d", &ms) == 1) {
            rc = corio_sleep(ms * CORIO_MS);
            if (rc < 0)
                break;
            rc = corio_stream_write(c, "done\n", 5);
        } else {
            rc = corio_stream_write(c, line, (size_t)n);
        }
        if (rc == 0)
            rc = corio_stream_flush(c);
        if (rc < 0)
            break;
    }
    if (rc == -ECANCELED)
        s->st.cancelled++;
    else if (rc < 0)
        s->st.failed++;
    else
        s->st.finished++;
    s->st.last_end = corio_now() - t0;
    return rc;
}

typedef struct client {
    int port;
    const char *send; /* a line to send, or NULL to stay idle */
    int64_t delay;    /* before connecting */
    char got[64];
    int rc;
    int64_t at; /* when the answer (or end) came */
} client;

static int client_task(void *arg)
{
    client *c = arg;
    corio_stream *s;
    if (c->delay && (c->rc = corio_sleep(c->delay)) < 0)
        return 0;
    c->rc = corio_tcp_connect(&s, "127.0.0.1", c->port);
    if (c->rc < 0)
        return 0;
    if (c->send) {
        c->rc = corio_stream_write(s, c->send, strlen(c->send));
        if (c->rc == 0)
            c->rc = corio_stream_flush(s);
    }
    if (c->rc == 0) {
        ssize_t n = corio_stream_read_line(s, c->got, sizeof c->got);
        c->rc = n < 0 ? (int)n : 0; /* 0 with got "" at end of stream */
        if (n == 0)
            c->got[0] = 0;
    }
    c->at = corio_now() - t0;
    corio_stream_close(s);
    return 0;
}

static int stop_after(void *arg)
{
    srv *s = arg;
    int rc = corio_sleep(500 * CORIO_MS);
    if (rc == 0)
        corio_event_set(&s->stop);
    return rc;
}

/* ---- echo, then stop ----------------------------------------------------- */

static int echo_main(void *arg)
{
    (void)arg;
    int fds0 = net_count_fds();
    srv s;
    srv_init(&s, handler);
    corio_task *st, *stopper;
    CHECK_EQ(corio_task_spawn(&st, serve_task, &s), 0);
    enum { N = 5 };
    client c[N];
    corio_task *ct[N];
    for (int i = 0; i < N; i++) {
        c[i] = (client){.port = s.port, .send = "hi\n"};
        CHECK_EQ(corio_task_spawn(&ct[i], client_task, &c[i]), 0);
    }
    CHECK_EQ(corio_gather(ct, N, NULL), 0);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(c[i].rc, 0);
        CHECK(!strcmp(c[i].got, "hi\n"));
    }
    CHECK_EQ(corio_task_spawn(&stopper, stop_after, &s), 0);
    CHECK_EQ(corio_task_join(st, NULL), 0);
    CHECK_EQ(corio_task_join(stopper, NULL), 0);
    CHECK_EQ(s.rc, 0);
    CHECK_EQ(s.returned_at, 500 * CORIO_MS);
    CHECK_EQ(s.st.started, N);
    CHECK_EQ(s.st.finished, N);
    corio_listener_close(s.l);
    corio_event_destroy(&s.stop);
    CHECK_EQ(net_count_fds(), fds0);
    return 0;
}

TEST(serve, echo_then_stop_event)
{
    CHECK_EQ(tst_run(echo_main, NULL), 0);
    tst_leak_check();
}

/* ---- graceful shutdown ----------------------------------------------------
 * At 0: client A asks for a 1 s job, client B connects and stays idle.
 * At 500 ms: stop.  A's job ends at 1 s, within the 2 s grace: A gets
 * "done".  B's handler is still reading at 2.5 s: cancelled; B sees end
 * of stream.  corio_serve returns at 2.5 s with both tasks gone.  Client C
 * connects at 700 ms, after the stop: nobody accepts it any more. */

typedef struct grace_case {
    int how; /* 0: stop event, 1: cancel the serve task, 2: timeout scope */
    int64_t grace;
} grace_case;

static int scoped_serve(void *arg)
{
    srv *s = arg;
    CHECK_EQ(corio_timeout_begin(500 * CORIO_MS), 0);
    s->rc = corio_serve(s->l, s->fn, s, &s->o);
    s->returned_at = corio_now() - t0;
    corio_timeout_end();
    return 0;
}

static int grace_main(void *arg)
{
    grace_case *g = arg;
    int fds0 = net_count_fds();
    srv s;
    srv_init(&s, handler);
    s.o.grace_ns = g->grace;
    corio_task *st, *stopper = NULL;
    CHECK_EQ(corio_task_spawn(&st, g->how == 2 ? scoped_serve : serve_task, &s),
             0);
    client a = {.port = s.port, .send = "sleep 1000\n"};
    client b = {.port = s.port, .send = NULL};
    client c = {.port = s.port, .send = "late\n", .delay = 700 * CORIO_MS};
    corio_task *ct[3];
    CHECK_EQ(corio_task_spawn(&ct[0], client_task, &a), 0);
    CHECK_EQ(corio_task_spawn(&ct[1], client_task, &b), 0);
    CHECK_EQ(corio_task_spawn(&ct[2], client_task, &c), 0);
    if (g->how == 0)
        CHECK_EQ(corio_task_spawn(&stopper, stop_after, &s), 0);
    if (g->how == 1) {
        CHECK_EQ(corio_sleep(500 * CORIO_MS), 0);
        corio_task_cancel(st);
    }
    CHECK_EQ(corio_task_join(st, NULL), 0);
    int64_t grace = g->grace < 0 ? 0 : g->grace;
    int64_t end = 500 * CORIO_MS + grace;
    CHECK_EQ(s.returned_at, end);
    CHECK_EQ(s.rc, g->how == 0 ? 0 : g->how == 1 ? -ECANCELED : -ETIMEDOUT);
    CHECK_EQ(s.st.started, 2); /* C was never served */
    CHECK_EQ(s.st.started, s.st.finished + s.st.cancelled); /* none left */
    CHECK(s.st.last_end <= s.returned_at);
    if (grace >= 500 * CORIO_MS) {
        CHECK_EQ(s.st.finished, 1);  /* A, within the grace period */
        CHECK_EQ(s.st.cancelled, 1); /* B, at its end */
    } else {
        CHECK_EQ(s.st.cancelled, 2);
    }
    corio_listener_close(s.l); /* resets C's queued connection */
    CHECK_EQ(corio_gather(ct, 3, NULL), 0);
    if (stopper)
        CHECK_EQ(corio_task_join(stopper, NULL), 0);
    if (grace >= 500 * CORIO_MS) {
        CHECK_EQ(a.rc, 0);
        CHECK(!strcmp(a.got, "done\n"));
        CHECK_EQ(a.at, CORIO_SECOND);
    } else {
        CHECK(a.got[0] == 0 || a.rc < 0); /* cut off */
    }
    CHECK(b.rc == 0 || b.rc == -ECONNRESET);
    CHECK_EQ(b.got[0], 0); /* end of stream */
    CHECK_EQ(b.at, end);
    CHECK(c.rc == -ECONNRESET || c.rc == -ECONNREFUSED ||
          (c.rc == 0 && c.got[0] == 0));
    corio_event_destroy(&s.stop);
    CHECK_EQ(net_count_fds(), fds0);
    return 0;
}

TEST(serve, graceful_shutdown_by_event)
{
    grace_case g = {0, 2 * CORIO_SECOND};
    CHECK_EQ(tst_run(grace_main, &g), 0);
    tst_leak_check();
}

TEST(serve, graceful_shutdown_by_cancel)
{
    grace_case g = {1, 2 * CORIO_SECOND};
    CHECK_EQ(tst_run(grace_main, &g), 0);
}

TEST(serve, graceful_shutdown_by_timeout_scope)
{
    grace_case g = {2, 2 * CORIO_SECOND};
    CHECK_EQ(tst_run(grace_main, &g), 0);
}

TEST(serve, short_grace_cancels_everything)
{
    grace_case g = {0, 200 * CORIO_MS};
    CHECK_EQ(tst_run(grace_main, &g), 0);
}

TEST(serve, no_grace)
{
    grace_case g = {1, -1};
    CHECK_EQ(tst_run(grace_main, &g), 0);
}

/* With every connection finished, shutdown does not wait for the grace
 * period at all; a stop set before the call returns at once. */
static int quick_main(void *arg)
{
    (void)arg;
    srv s;
    srv_init(&s, handler);
    corio_event_set(&s.stop);
    CHECK_EQ(corio_serve(s.l, handler, &s, &s.o), 0);
    CHECK_EQ(corio_now(), t0);
    CHECK_EQ(corio_serve(NULL, handler, &s, NULL), -EINVAL);
    CHECK_EQ(corio_serve(s.l, NULL, &s, NULL), -EINVAL);
    corio_listener_close(s.l);
    corio_event_destroy(&s.stop);
    return 0;
}

TEST(serve, stop_before_start_and_bad_arguments)
{
    CHECK_EQ(tst_run(quick_main, NULL), 0);
    srv s;
    memset(&s, 0, sizeof s);
    CHECK_EQ(corio_serve((corio_listener *)&s, handler, NULL, NULL), -EPERM);
}

/* ---- limits and failures ------------------------------------------------- */

static int limit_main(void *arg)
{
    (void)arg;
    srv s;
    srv_init(&s, handler);
    s.o.max_connections = 1;
    corio_task *st;
    CHECK_EQ(corio_task_spawn(&st, serve_task, &s), 0);
    /* Two clients each want a 100 ms job: one at a time, so the second is
     * answered at 200 ms. */
    client c[2] = {{.port = s.port, .send = "sleep 100\n"},
                   {.port = s.port, .send = "sleep 100\n"}};
    corio_task *ct[2];
    for (int i = 0; i < 2; i++)
        CHECK_EQ(corio_task_spawn(&ct[i], client_task, &c[i]), 0);
    CHECK_EQ(corio_gather(ct, 2, NULL), 0);
    CHECK_EQ(c[0].rc, 0);
    CHECK_EQ(c[1].rc, 0);
    int64_t first = c[0].at < c[1].at ? c[0].at : c[1].at;
    int64_t second = c[0].at < c[1].at ? c[1].at : c[0].at;
    CHECK_EQ(first, 100 * CORIO_MS);
    CHECK_EQ(second, 200 * CORIO_MS);
    corio_event_set(&s.stop);
    CHECK_EQ(corio_task_join(st, NULL), 0);
    CHECK_EQ(s.rc, 0);
    corio_listener_close(s.l);
    corio_event_destroy(&s.stop);
    return 0;
}

TEST(serve, max_connections)
{
    CHECK_EQ(tst_run(limit_main, NULL), 0);
}

static int failing_handler(corio_stream *c, void *arg)
{
    srv *s = arg;
    (void)c;
    s->st.started++;
    s->st.failed++;
    return -EIO; /* ignored: the server goes on */
}

static int failing_main(void *arg)
{
    (void)arg;
    srv s;
    srv_init(&s, failing_handler);
    corio_task *st;
    CHECK_EQ(corio_task_spawn(&st, serve_task, &s), 0);
    for (int i = 0; i < 3; i++) {
        client c = {.port = s.port, .send = "x\n"};
        client_task(&c);
        CHECK(c.rc == 0 || c.rc == -ECONNRESET);
        CHECK_EQ(c.got[0], 0);
    }
    CHECK_EQ(s.st.failed, 3);
    /* A fatal accept error (the listening socket shut down) ends serve with
     * that error after the usual shutdown. */
    CHECK_EQ(shutdown(corio_listener_fd(s.l), SHUT_RDWR), 0);
    CHECK_EQ(corio_task_join(st, NULL), 0);
    CHECK_EQ(s.rc, -EINVAL);
    corio_listener_close(s.l);
    corio_event_destroy(&s.stop);
    return 0;
}

TEST(serve, handler_errors_ignored_accept_errors_stop)
{
    CHECK_EQ(tst_run(failing_main, NULL), 0);
}

/* Many connections at once, shut down mid-flight: every task accounted. */
static int many_main(void *arg)
{
    (void)arg;
    int fds0 = net_count_fds();
    srv s;
    srv_init(&s, handler);
    s.o.grace_ns = 50 * CORIO_MS;
    corio_task *st;
    CHECK_EQ(corio_task_spawn(&st, serve_task, &s), 0);
    enum { N = 40 };
    client c[N];
    corio_task *ct[N];
    for (int i = 0; i < N; i++) {
        /* Jobs of 10..400 ms: some finish within the grace, some do not. */
        static char lines[N][24];
        snprintf(lines[i], sizeof lines[i], "sleep %d\n", 10 * (i + 1));
        c[i] = (client){.port = s.port, .send = lines[i]};
        CHECK_EQ(corio_task_spawn(&ct[i], client_task, &c[i]), 0);
    }
    CHECK_EQ(corio_sleep(100 * CORIO_MS), 0);
    corio_event_set(&s.stop);
    CHECK_EQ(corio_task_join(st, NULL), 0);
    CHECK_EQ(s.rc, 0);
    CHECK_EQ(s.returned_at, 150 * CORIO_MS);
    CHECK_EQ(s.st.started, N);
    CHECK_EQ(s.st.finished + s.st.cancelled, N);
    /* 10..150 ms: done by the end of grace (the 150 ms one answers in the
     * grace's last tick and may be cancelled while it waits for more). */
    CHECK(s.st.finished >= 14 && s.st.finished <= 15);
    CHECK_EQ(corio_gather(ct, N, NULL), 0);
    int answered = 0;
    for (int i = 0; i < N; i++)
        answered += !strcmp(c[i].got, "done\n");
    CHECK_EQ(answered, 15);
    corio_listener_close(s.l);
    corio_event_destroy(&s.stop);
    CHECK_EQ(net_count_fds(), fds0);
    return 0;
}

TEST(serve, many_connections_shutdown_mid_flight)
{
    CHECK_EQ(tst_run(many_main, NULL), 0);
    tst_leak_check();
}

/* Serving a Unix-domain listener works the same way. */
static int unix_main(void *arg)
{
    (void)arg;
    srv s;
    memset(&s, 0, sizeof s);
    t0 = corio_now();
    char path[64];
    snprintf(path, sizeof path, "@corio-serve-%d", (int)getpid());
    CHECK_EQ(corio_unix_listen(&s.l, path, NULL), 0);
    corio_event_init(&s.stop);
    s.o.stop = &s.stop;
    s.fn = handler;
    corio_task *st;
    CHECK_EQ(corio_task_spawn(&st, serve_task, &s), 0);
    corio_stream *c;
    CHECK_EQ(corio_unix_connect(&c, path, NULL), 0);
    char buf[32];
    CHECK_EQ(net_ask(c, "unix\n", buf, sizeof buf), 0);
    CHECK(!strcmp(buf, "unix\n"));
    corio_stream_close(c);
    corio_event_set(&s.stop);
    CHECK_EQ(corio_task_join(st, NULL), 0);
    CHECK_EQ(s.rc, 0);
    CHECK_EQ(s.st.started, 1);
    corio_listener_close(s.l);
    corio_event_destroy(&s.stop);
    return 0;
}

TEST(serve, unix_listener)
{
    CHECK_EQ(tst_run(unix_main, NULL), 0);
}
