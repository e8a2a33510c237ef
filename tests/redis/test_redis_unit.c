/* test_redis_unit.c — the pure parts of corio-redis, no server: URLs,
 * error codes, reply trees built from crafted RESP by the fake server. */
#include "fake_server.h"
#include "redis/redis.h"

TEST(redis_unit, urls)
{
    corio__redis_url u;
    CHECK_EQ(corio__redis_url_parse(&u, "redis://h"), 0);
    CHECK(!strcmp(u.host, "h") && u.port == 6379 && u.db == -1 && !u.user &&
          !u.password);
    corio__redis_url_free(&u);
    CHECK_EQ(corio__redis_url_parse(&u, "rediss://us%65r:p%40ss@[::1]:7000/5"),
             0);
    CHECK(u.kind == 1 && !strcmp(u.host, "::1") && u.port == 7000 && u.db == 5);
    CHECK(!strcmp(u.user, "user") && !strcmp(u.password, "p@ss"));
    corio__redis_url_free(&u);
    CHECK_EQ(corio__redis_url_parse(&u, "redis://:only@h:1"), 0);
    CHECK(!u.user && !strcmp(u.password, "only"));
    corio__redis_url_free(&u);
    CHECK_EQ(corio__redis_url_parse(&u, "redis://secret@h"), 0);
    CHECK(!u.user && !strcmp(u.password, "secret"));
    corio__redis_url_free(&u);
    CHECK_EQ(corio__redis_url_parse(&u, "unix:///run/r.sock?db=4"), 0);
    CHECK(u.kind == 2 && !strcmp(u.host, "/run/r.sock") && u.db == 4);
    corio__redis_url_free(&u);
    CHECK_EQ(corio__redis_url_parse(&u, "unix://a:b@/run/r.sock"), 0);
    CHECK(!strcmp(u.user, "a") && !strcmp(u.password, "b") &&
          !strcmp(u.host, "/run/r.sock"));
    corio__redis_url_free(&u);
    const char *bad[] = {"",
                         "http://h",
                         "redis://",
                         "redis://h:0",
                         "redis://h:65536",
                         "redis://h:x",
                         "redis://h/abc",
                         "redis://%zz@h",
                         "unix://",
                         "unix://relative",
                         "redis://[::1",
                         NULL};
    for (int i = 0; bad[i]; i++)
        CHECK_EQ(corio__redis_url_parse(&u, bad[i]), -EINVAL);
    CHECK_EQ(corio__redis_url_parse(&u, NULL), -EINVAL);
}

TEST(redis_unit, error_codes_in_the_table)
{
    CHECK(!strcmp(corio_err_name(CORIO_EREDIS), "CORIO_EREDIS"));
    CHECK(!strcmp(corio_err_name(CORIO_EREDIS_AUTH), "CORIO_EREDIS_AUTH"));
    CHECK(strstr(corio_strerror(CORIO_EREDIS_ABORTED), "watched") != NULL);
    CHECK(strstr(corio_strerror(CORIO_EREDIS_PROTO), "protocol") != NULL);
}

static int crafted_main(void *arg)
{
    (void)arg;
    corio_stream *a, *b;
    CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
    fake_server f = {.s = b};
    corio_task *srv;
    CHECK_EQ(corio_task_spawn(&srv, fake_server_main, &f), 0);
    corio_redis *c;
    CHECK_EQ(corio_redis_from_stream(&c, a), 0);
    corio_redis_reply *r;
    /* nested arrays with every type, a nil array, an empty bulk */
    CHECK_EQ(
        corio_redis_command(
            c, &r, "RAW %s",
            "*5\r\n:7\r\n*2\r\n+ok\r\n-ERR inner\r\n$-1\r\n*-1\r\n$0\r\n\r\n"),
        0);
    CHECK_EQ(corio_redis_reply_type(r), CORIO_REDIS_ARRAY);
    CHECK_EQ(corio_redis_reply_count(r), 5);
    CHECK_EQ(corio_redis_reply_integer(corio_redis_reply_element(r, 0)), 7);
    corio_redis_reply *in = corio_redis_reply_element(r, 1);
    CHECK_EQ(corio_redis_reply_type(corio_redis_reply_element(in, 0)),
             CORIO_REDIS_STATUS);
    CHECK_EQ(corio_redis_reply_type(corio_redis_reply_element(in, 1)),
             CORIO_REDIS_ERROR);
    CHECK_EQ(corio_redis_reply_type(corio_redis_reply_element(r, 2)),
             CORIO_REDIS_NIL);
    CHECK_EQ(corio_redis_reply_type(corio_redis_reply_element(r, 3)),
             CORIO_REDIS_NIL);
    size_t n = 9;
    CHECK(corio_redis_reply_string(corio_redis_reply_element(r, 4), &n) !=
          NULL);
    CHECK_EQ(n, 0);
    corio_redis_reply_free(r);
    /* a top-level error */
    CHECK_EQ(corio_redis_command(c, &r, "RAW %s", "-WRONGTYPE nope\r\n"),
             CORIO_EREDIS);
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "WRONGTYPE nope"));
    corio_redis_reply_free(r);
    /* hiredis's other format conversions still work */
    CHECK_EQ(corio_redis_command(c, &r, "ECHO %d", 42), 0);
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "42"));
    corio_redis_reply_free(r);
    CHECK_EQ(corio_redis_command(c, &r, "ECHO a%sc%%", "b"), 0);
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "abc%"));
    corio_redis_reply_free(r);
    /* commands whose replies are not one per command are refused */
    CHECK_EQ(corio_redis_command(c, &r, "subscribe %s", "ch"), -EINVAL);
    CHECK_EQ(corio_redis_command(c, &r, "MONITOR"), -EINVAL);
    corio_redis_pipeline *p;
    CHECK_EQ(corio_redis_pipeline_new(&p, 0), 0);
    CHECK_EQ(corio_redis_pipeline_append(p, "PSUBSCRIBE x*"), -EINVAL);
    CHECK_EQ(corio_redis_pipeline_count(p), 0);
    corio_redis_pipeline_free(p);
    CHECK_EQ(corio_redis_command(c, &r, "PING"), 0);
    corio_redis_reply_free(r);
    /* garbage: the connection fails, for good, with a protocol error */
    CHECK_EQ(corio_redis_command(c, &r, "RAW %s", "?what\r\n"),
             CORIO_EREDIS_PROTO);
    CHECK_EQ(corio_redis_error(c), CORIO_EREDIS_PROTO);
    CHECK_EQ(corio_redis_command(c, &r, "PING"), CORIO_EREDIS_PROTO);
    corio_redis_close(c);
    CHECK_EQ(corio_task_join(srv, NULL), 0);
    return 0;
}

TEST(redis_unit, crafted_replies_and_protocol_errors)
{
    CHECK_EQ(tst_run(crafted_main, NULL), 0);
}

static int extra_main(void *arg)
{
    (void)arg;
    corio_stream *a, *b;
    CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
    fake_server f = {.s = b};
    corio_task *srv;
    CHECK_EQ(corio_task_spawn(&srv, fake_server_main, &f), 0);
    corio_redis *c;
    CHECK_EQ(corio_redis_from_stream(&c, a), 0);
    corio_redis_reply *r;
    /* a reply nobody asked for */
    CHECK_EQ(corio_redis_command(c, &r, "RAW %s", "+one\r\n+two\r\n"), 0);
    corio_redis_reply_free(r);
    corio_sleep(CORIO_MS);
    CHECK_EQ(corio_redis_error(c), CORIO_EREDIS_PROTO);
    corio_redis_close(c);
    CHECK_EQ(corio_task_join(srv, NULL), 0);
    return 0;
}

TEST(redis_unit, unexpected_reply_fails_the_connection)
{
    CHECK_EQ(tst_run(extra_main, NULL), 0);
}

static int64_t slow(long seq)
{
    (void)seq;
    return 10 * CORIO_MS;
}

typedef struct waiter {
    corio_redis *c;
    int rc;
} waiter;

static int wait_get(void *arg)
{
    waiter *w = arg;
    corio_redis_reply *r;
    w->rc = corio_redis_command(w->c, &r, "GET k");
    corio_redis_reply_free(r);
    return 0;
}

static int close_main(void *arg)
{
    (void)arg;
    corio_stream *a, *b;
    CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
    fake_server f = {.s = b, .delay_ns = slow};
    corio_task *srv, *t[4];
    CHECK_EQ(corio_task_spawn(&srv, fake_server_main, &f), 0);
    corio_redis *c;
    CHECK_EQ(corio_redis_from_stream(&c, a), 0);
    waiter w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (waiter){.c = c, .rc = 1};
        CHECK_EQ(corio_task_spawn(&t[i], wait_get, &w[i]), 0);
    }
    CHECK_EQ(corio_sleep(CORIO_MS), 0); /* all written, none answered */
    CHECK_EQ(corio_redis_in_flight(c), 4);
    corio_redis_close(c); /* the waiters get -EBADF; c is freed after them */
    CHECK_EQ(corio_gather(t, 4, NULL), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(w[i].rc, -EBADF);
    CHECK_EQ(corio_task_join(srv, NULL), 0);
    return 0;
}

TEST(redis_unit, close_while_commands_wait)
{
    CHECK_EQ(tst_run(close_main, NULL), 0);
}

static int pool_refused_main(void *arg)
{
    (void)arg;
    /* a port nobody listens on: acquire retries with backoff for retry_ns,
     * on the virtual clock, then gives the error and its slot back */
    corio_redis_pool *p;
    corio_redis_pool_opts po = {.max_connections = 1,
                                .retry_ns = 300 * CORIO_MS};
    CHECK_EQ(corio_redis_pool_new(&p, "redis://127.0.0.1:1", &po), 0);
    corio_redis *c;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_redis_pool_acquire(p, &c), -ECONNREFUSED);
    CHECK(c == NULL);
    int64_t took = corio_now() - t0;
    CHECK(took >= 150 * CORIO_MS && took <= 300 * CORIO_MS);
    /* the slot came back: a second acquire fails the same way, not by waiting
     */
    po.retry_ns = -1;
    corio_redis_pool_free(p);
    CHECK_EQ(corio_redis_pool_new(&p, "redis://127.0.0.1:1", &po), 0);
    CHECK_EQ(corio_redis_pool_acquire(p, &c), -ECONNREFUSED);
    CHECK_EQ(corio_redis_pool_acquire(p, &c), -ECONNREFUSED);
    CHECK_EQ(corio_redis_pool_size(p), 0);
    corio_redis_pool_free(p);
    CHECK_EQ(corio_redis_pool_new(&p, "ftp://x", NULL), -EINVAL);
    return 0;
}

TEST(redis_unit, pool_retries_then_gives_the_error)
{
    CHECK_EQ(tst_run(pool_refused_main, NULL), 0);
}

static int connect_cancel_main(void *arg)
{
    (void)arg;
    /* A listener nobody accepts on: the TCP connect completes (the kernel's
     * backlog), then the connect's PING waits for an answer that never
     * comes, until the scope expires. */
    corio_listener *l;
    corio_addr addr;
    CHECK_EQ(corio_tcp_listen(&l, "127.0.0.1", 0, NULL), 0);
    CHECK_EQ(corio_listener_addr(l, &addr), 0);
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", corio_addr_port(&addr));
    int fds = tst_count_fds();
    corio_redis *c;
    CHECK_EQ(corio_timeout_begin(50 * CORIO_MS), 0);
    CHECK_EQ(corio_redis_connect(&c, url), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK(c == NULL);
    CHECK_EQ(corio_sleep(CORIO_MS), 0); /* the connection's tasks leave */
    CHECK_EQ(tst_count_fds(), fds);
    corio_listener_close(l);
    return 0;
}

TEST(redis_unit, interrupted_connect_leaves_nothing)
{
    CHECK_EQ(tst_run(connect_cancel_main, NULL), 0);
}
