/* test_redis_unit.c — the pure parts of corio-redis, no server: URLs,
 * error codes, reply trees built from crafted RESP by the fake server. */
#include "fake_server.h"
#include "redis/redis.h"

TEST(redis_unit, urls)
{
    corio__redis_url u;
    CHECK_EQ(corio__redis_url_parse(&u, "redis://h"), 0);
    CHECK(!strcmp(u.host, "h") && u.port == 6379 && u.db == -1 && !u.user && !u.password);
    corio__redis_url_free(&u);
    CHECK_EQ(corio__redis_url_parse(&u, "rediss://us%65r:p%40ss@[::1]:7000/5"), 0);
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
    CHECK(!strcmp(u.user, "a") && !strcmp(u.password, "b") && !strcmp(u.host, "/run/r.sock"));
    corio__redis_url_free(&u);
    const char *bad[] = {"", "http://h", "redis://", "redis://h:0", "redis://h:65536",
                         "redis://h:x", "redis://h/abc", "redis://%zz@h", "unix://",
                         "unix://relative", "redis://[::1", NULL};
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
    CHECK_EQ(corio_redis_command(c, &r, "RAW %s",
                                 "*5\r\n:7\r\n*2\r\n+ok\r\n-ERR inner\r\n$-1\r\n*-1\r\n$0\r\n\r\n"),
             0);
    CHECK_EQ(corio_redis_reply_type(r), CORIO_REDIS_ARRAY);
    CHECK_EQ(corio_redis_reply_count(r), 5);
    CHECK_EQ(corio_redis_reply_integer(corio_redis_reply_element(r, 0)), 7);
    corio_redis_reply *in = corio_redis_reply_element(r, 1);
    CHECK_EQ(corio_redis_reply_type(corio_redis_reply_element(in, 0)), CORIO_REDIS_STATUS);
    CHECK_EQ(corio_redis_reply_type(corio_redis_reply_element(in, 1)), CORIO_REDIS_ERROR);
    CHECK_EQ(corio_redis_reply_type(corio_redis_reply_element(r, 2)), CORIO_REDIS_NIL);
    CHECK_EQ(corio_redis_reply_type(corio_redis_reply_element(r, 3)), CORIO_REDIS_NIL);
    size_t n = 9;
    CHECK(corio_redis_reply_string(corio_redis_reply_element(r, 4), &n) != NULL);
    CHECK_EQ(n, 0);
    corio_redis_reply_free(r);
    /* a top-level error */
    CHECK_EQ(corio_redis_command(c, &r, "RAW %s", "-WRONGTYPE nope\r\n"), CORIO_EREDIS);
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "WRONGTYPE nope"));
    corio_redis_reply_free(r);
    /* hiredis's other format conversions still work */
    CHECK_EQ(corio_redis_command(c, &r, "ECHO %d", 42), 0);
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "42"));
    corio_redis_reply_free(r);
    CHECK_EQ(corio_redis_command(c, &r, "ECHO a%sc%%", "b"), 0);
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "abc%"));
    corio_redis_reply_free(r);
    /* garbage: the connection fails, for good, with a protocol error */
    CHECK_EQ(corio_redis_command(c, &r, "RAW %s", "?what\r\n"), CORIO_EREDIS_PROTO);
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
