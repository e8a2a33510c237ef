/* test_redis.c — corio-redis against a real redis-server (the ctest
 * fixture redis_server starts one; see server_env.h): every reply type,
 * binary-safe values, URLs (TCP, Unix socket, TLS, ACL user, database),
 * authentication and certificate failures, pipelining from many tasks,
 * DEBUG SLEEP against a timeout scope, pub/sub across two connections,
 * MULTI/EXEC with a WATCH conflict, blocking commands, the pool (FIFO
 * waits, CLIENT KILL, a server restart under load), a cancel sweep with
 * real I/O, and the fault sweep. */
#include "server_env.h"

#include <corio/redis.h>
#include "os/sys.h"

#include <signal.h>
#include <unistd.h>

static const char *url(void)
{
    return redis_env("CORIO_REDIS_TEST_URL");
}

static corio_redis *conn(void)
{
    corio_redis *c = NULL;
    int rc = corio_redis_connect(&c, url());
    if (rc < 0)
        fprintf(stderr, "connect %s: %d\n", url(), rc);
    CHECK_EQ(rc, 0);
    return c;
}

/* Run one command that must succeed; returns the reply. */
static corio_redis_reply *cmd_ok(corio_redis *c, const char *fmt, const char *a)
{
    corio_redis_reply *r;
    int rc = corio_redis_command(c, &r, fmt, a);
    if (rc < 0)
        fprintf(stderr, "%s: %d %s\n", fmt, rc,
                r ? corio_redis_reply_string(r, NULL) : "");
    CHECK_EQ(rc, 0);
    return r;
}

/* ---- reply types ----------------------------------------------------------
 */

static int types_main(void *arg)
{
    (void)arg;
    corio_redis *c = conn();
    corio_redis_reply *r;
    r = cmd_ok(c, "SET %s hello", "t:str");
    CHECK_EQ(corio_redis_reply_type(r), CORIO_REDIS_STATUS);
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "OK"));
    corio_redis_reply_free(r);
    r = cmd_ok(c, "GET %s", "t:str");
    size_t n;
    CHECK_EQ(corio_redis_reply_type(r), CORIO_REDIS_STRING);
    CHECK(!strcmp(corio_redis_reply_string(r, &n), "hello"));
    CHECK_EQ(n, 5);
    corio_redis_reply_free(r);
    r = cmd_ok(c, "GET %s", "t:missing");
    CHECK_EQ(corio_redis_reply_type(r), CORIO_REDIS_NIL);
    CHECK(corio_redis_reply_string(r, NULL) == NULL);
    corio_redis_reply_free(r);
    r = cmd_ok(c, "DEL %s", "t:n");
    corio_redis_reply_free(r);
    r = cmd_ok(c, "INCRBY %s -42", "t:n");
    CHECK_EQ(corio_redis_reply_type(r), CORIO_REDIS_INTEGER);
    CHECK_EQ(corio_redis_reply_integer(r), -42);
    corio_redis_reply_free(r);
    /* error reply: CORIO_EREDIS with the text on the reply */
    CHECK_EQ(corio_redis_command(c, &r, "LPUSH %s x", "t:str"), CORIO_EREDIS);
    CHECK_EQ(corio_redis_reply_type(r), CORIO_REDIS_ERROR);
    CHECK(!strncmp(corio_redis_reply_string(r, NULL), "WRONGTYPE", 9));
    corio_redis_reply_free(r);
    /* nested arrays, with nil, integer and status inside */
    r = cmd_ok(
        c, "EVAL %s 0",
        "return {1, {2, 'two', {false}}, redis.status_reply('FINE'), 'x'}");
    CHECK_EQ(corio_redis_reply_type(r), CORIO_REDIS_ARRAY);
    CHECK_EQ(corio_redis_reply_count(r), 4);
    CHECK_EQ(corio_redis_reply_integer(corio_redis_reply_element(r, 0)), 1);
    corio_redis_reply *in = corio_redis_reply_element(r, 1);
    CHECK_EQ(corio_redis_reply_count(in), 3);
    CHECK(!strcmp(
        corio_redis_reply_string(corio_redis_reply_element(in, 1), NULL),
        "two"));
    corio_redis_reply *in2 = corio_redis_reply_element(in, 2);
    CHECK_EQ(corio_redis_reply_type(in2), CORIO_REDIS_ARRAY);
    CHECK_EQ(corio_redis_reply_type(corio_redis_reply_element(in2, 0)),
             CORIO_REDIS_NIL);
    CHECK_EQ(corio_redis_reply_type(corio_redis_reply_element(r, 2)),
             CORIO_REDIS_STATUS);
    CHECK(corio_redis_reply_element(r, 4) == NULL);
    corio_redis_reply_free(r);
    /* empty array */
    r = cmd_ok(c, "LRANGE %s 0 -1", "t:nolist");
    CHECK_EQ(corio_redis_reply_type(r), CORIO_REDIS_ARRAY);
    CHECK_EQ(corio_redis_reply_count(r), 0);
    corio_redis_reply_free(r);
    /* argv form */
    const char *argv[] = {"ECHO", "argv works"};
    CHECK_EQ(corio_redis_command_argv(c, 2, argv, NULL, &r), 0);
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "argv works"));
    corio_redis_reply_free(r);
    /* a bad format never reaches the server */
    CHECK_EQ(corio_redis_command(c, &r, NULL), -EINVAL);
    corio_redis_close(c);
    return 0;
}

TEST(redis, every_reply_type)
{
    CHECK_EQ(run_real(types_main, NULL), 0);
}

static int binary_main(void *arg)
{
    (void)arg;
    corio_redis *c = conn();
    char val[300];
    for (size_t i = 0; i < sizeof val; i++)
        val[i] = (char)(i * 7); /* NULs, CR, LF, 0xff... */
    corio_redis_reply *r;
    CHECK_EQ(corio_redis_command(c, &r, "SET %b %b", "bin\0key", (size_t)7, val,
                                 sizeof val),
             0);
    corio_redis_reply_free(r);
    CHECK_EQ(corio_redis_command(c, &r, "GET %b", "bin\0key", (size_t)7), 0);
    size_t n;
    const char *s = corio_redis_reply_string(r, &n);
    CHECK_EQ(n, sizeof val);
    CHECK(!memcmp(s, val, n));
    CHECK_EQ(s[n], 0);
    corio_redis_reply_free(r);
    /* a large value, bigger than every buffer */
    size_t big = 3 << 20;
    char *b = malloc(big);
    for (size_t i = 0; i < big; i++)
        b[i] = (char)(i % 251);
    CHECK_EQ(corio_redis_command(c, &r, "SET big %b", b, big), 0);
    corio_redis_reply_free(r);
    CHECK_EQ(corio_redis_command(c, &r, "GET big"), 0);
    s = corio_redis_reply_string(r, &n);
    CHECK_EQ(n, big);
    CHECK(!memcmp(s, b, big));
    corio_redis_reply_free(r);
    free(b);
    corio_redis_close(c);
    return 0;
}

TEST(redis, binary_safe_values)
{
    CHECK_EQ(run_real(binary_main, NULL), 0);
}

/* ---- URLs, AUTH, SELECT, TLS ------------------------------------------------
 */

static int urls_main(void *arg)
{
    (void)arg;
    char u[512];
    const char *base = url() + strlen("redis://");
    corio_redis *c;
    corio_redis_reply *r;
    /* ACL user, percent-encoded password "s3cret:@/", database 3 */
    snprintf(u, sizeof u, "redis://alice:s3cret%%3A%%40%%2F@%s/3", base);
    CHECK_EQ(corio_redis_connect(&c, u), 0);
    r = cmd_ok(c, "ACL WHOAMI%s", "");
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "alice"));
    corio_redis_reply_free(r);
    r = cmd_ok(c, "CLIENT INFO%s", "");
    CHECK(strstr(corio_redis_reply_string(r, NULL), " db=3 ") != NULL);
    corio_redis_reply_free(r);
    corio_redis_close(c);
    /* wrong password, unknown user: a clear error, nothing left open */
    corio_sleep(CORIO_MS); /* the closed connection's tasks have left */
    int fds = tst_count_fds();
    snprintf(u, sizeof u, "redis://alice:wrong@%s", base);
    corio_error_detail why;
    corio_redis_opts ro = {.detail = &why};
    CHECK_EQ(corio_redis_connect_ex(&c, u, &ro), CORIO_EREDIS_AUTH);
    CHECK(c == NULL);
    CHECK(strstr(why.text, "WRONGPASS") != NULL); /* the server's words */
    snprintf(u, sizeof u, "redis://nobody:x@%s", base);
    CHECK_EQ(corio_redis_connect(&c, u), CORIO_EREDIS_AUTH);
    snprintf(u, sizeof u, "redis://%s/99999", base);
    CHECK_EQ(corio_redis_connect(&c, u), CORIO_EREDIS);
    corio_sleep(CORIO_MS);
    CHECK_EQ(tst_count_fds(), fds);
    /* malformed */
    CHECK_EQ(corio_redis_connect(&c, "http://x"), -EINVAL);
    CHECK_EQ(corio_redis_connect(&c, "redis://h:99999"), -EINVAL);
    CHECK_EQ(corio_redis_connect(&c, "redis://h/x"), -EINVAL);
    CHECK_EQ(corio_redis_connect(&c, "unix://"), -EINVAL);
    /* refused */
    CHECK_EQ(corio_redis_connect(&c, "redis://127.0.0.1:1"), -ECONNREFUSED);
    /* Unix socket with ?db= */
    snprintf(u, sizeof u, "unix://%s?db=2", redis_env("CORIO_REDIS_TEST_UNIX"));
    CHECK_EQ(corio_redis_connect(&c, u), 0);
    r = cmd_ok(c, "CLIENT INFO%s", "");
    CHECK(strstr(corio_redis_reply_string(r, NULL), " db=2 ") != NULL);
    corio_redis_reply_free(r);
    corio_redis_close(c);
    snprintf(u, sizeof u, "unix://alice:s3cret%%3a%%40%%2f@%s",
             redis_env("CORIO_REDIS_TEST_UNIX"));
    CHECK_EQ(corio_redis_connect(&c, u), 0);
    corio_redis_close(c);
    return 0;
}

TEST(redis, urls_auth_acl_select)
{
    CHECK_EQ(run_real(urls_main, NULL), 0);
}

static int tls_main(void *arg)
{
    (void)arg;
    const char *tu = redis_env("CORIO_REDIS_TEST_TLS_URL");
    corio_tls_ctx *good, *other;
    corio_tls_config gc = {.ca_file = redis_env("CORIO_REDIS_TEST_CA")};
    corio_tls_config oc = {.ca_file = redis_env("CORIO_REDIS_TEST_OTHER_CA")};
    CHECK_EQ(corio_tls_ctx_new(&good, CORIO_TLS_CLIENT, &gc), 0);
    CHECK_EQ(corio_tls_ctx_new(&other, CORIO_TLS_CLIENT, &oc), 0);
    corio_redis *c;
    corio_redis_opts o = {.tls = good};
    CHECK_EQ(corio_redis_connect_ex(&c, tu, &o), 0);
    corio_redis_reply *r = cmd_ok(c, "SET tls:k %s", "over TLS");
    corio_redis_reply_free(r);
    r = cmd_ok(c, "GET %s", "tls:k");
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "over TLS"));
    corio_redis_reply_free(r);
    corio_redis_close(c);
    /* the wrong CA, and the system store: refused */
    corio_sleep(CORIO_MS);
    int fds = tst_count_fds();
    o.tls = other;
    corio_error_detail why;
    o.detail = &why;
    CHECK_EQ(corio_redis_connect_ex(&c, tu, &o), CORIO_ECERT);
    CHECK(strstr(why.text, "certificate") != NULL);
    CHECK_EQ(corio_redis_connect(&c, tu), CORIO_ECERT);
    corio_sleep(CORIO_MS);
    CHECK_EQ(tst_count_fds(), fds);
    corio_tls_ctx_free(good);
    corio_tls_ctx_free(other);
    return 0;
}

TEST(redis, tls_verified_and_wrong_ca_refused)
{
    CHECK_EQ(run_real(tls_main, NULL), 0);
}

/* ---- many tasks on one connection ------------------------------------------
 */

#define NPIPE 200

typedef struct pipe_arg {
    corio_redis *c;
    int i;
    int rc;
    size_t peak;
} pipe_arg;

static int pipe_task(void *arg)
{
    pipe_arg *a = arg;
    char key[32], val[32];
    snprintf(key, sizeof key, "p:%d", a->i);
    for (int round = 0; round < 20; round++) {
        corio_redis_reply *r;
        snprintf(val, sizeof val, "v%d.%d", a->i, round);
        int rc = corio_redis_command(a->c, &r, "SET %s %s", key, val);
        corio_redis_reply_free(r);
        if (rc < 0)
            return a->rc = rc;
        size_t f = corio_redis_in_flight(a->c);
        if (f > a->peak)
            a->peak = f;
        rc = corio_redis_command(a->c, &r, "GET %s", key);
        if (rc < 0)
            return a->rc = rc;
        if (strcmp(corio_redis_reply_string(r, NULL), val))
            a->rc = -EPROTO;
        corio_redis_reply_free(r);
        if (a->rc)
            return a->rc;
    }
    return 0;
}

static int pipeline_main(void *arg)
{
    (void)arg;
    corio_redis *c = conn();
    static pipe_arg a[NPIPE];
    corio_task *t[NPIPE];
    for (int i = 0; i < NPIPE; i++) {
        a[i] = (pipe_arg){.c = c, .i = i};
        CHECK_EQ(corio_task_spawn(&t[i], pipe_task, &a[i]), 0);
    }
    /* The commands of all tasks go out together: written before any reply
     * has come back. */
    size_t peak = 0;
    for (int k = 0; k < 5; k++) {
        corio_yield();
        if (corio_redis_in_flight(c) > peak)
            peak = corio_redis_in_flight(c);
    }
    CHECK(peak >= NPIPE / 2);
    CHECK_EQ(corio_gather(t, NPIPE, NULL), 0);
    for (int i = 0; i < NPIPE; i++)
        CHECK_EQ(a[i].rc, 0);
    /* explicit pipeline */
    corio_redis_pipeline *p;
    CHECK_EQ(corio_redis_pipeline_new(&p, 0), 0);
    CHECK_EQ(corio_redis_pipeline_append(p, "SET pl:a 1"), 0);
    CHECK_EQ(corio_redis_pipeline_append(p, "INCR pl:a"), 0);
    CHECK_EQ(corio_redis_pipeline_append(p, "LPUSH pl:a x"), 0); /* WRONGTYPE */
    CHECK_EQ(corio_redis_pipeline_append(p, "GET pl:a"), 0);
    CHECK_EQ(corio_redis_pipeline_count(p), 4);
    corio_redis_reply *r;
    CHECK_EQ(corio_redis_pipeline_exec(p, c, &r), 0);
    CHECK_EQ(corio_redis_reply_count(r), 4);
    CHECK_EQ(corio_redis_reply_integer(corio_redis_reply_element(r, 1)), 2);
    CHECK_EQ(corio_redis_reply_type(corio_redis_reply_element(r, 2)),
             CORIO_REDIS_ERROR);
    CHECK(!strcmp(
        corio_redis_reply_string(corio_redis_reply_element(r, 3), NULL), "2"));
    corio_redis_reply_free(r);
    corio_redis_pipeline_free(p);
    corio_redis_close(c);
    return 0;
}

TEST(redis, many_tasks_pipelined_on_one_connection)
{
    CHECK_EQ(run_real(pipeline_main, NULL), 0);
    tst_leak_check();
}

/* ---- DEBUG SLEEP against a scope --------------------------------------------
 */

static int sleep_main(void *arg)
{
    (void)arg;
    corio_redis *c = conn();
    corio_redis_reply *r;
    CHECK_EQ(corio_redis_command(c, &r, "SET ds:k mine"), 0);
    corio_redis_reply_free(r);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(50 * CORIO_MS), 0);
    CHECK_EQ(corio_redis_command(c, &r, "DEBUG SLEEP 0.3"), -ETIMEDOUT);
    CHECK(r == NULL);
    corio_timeout_end();
    CHECK(corio_now() - t0 < 250 * CORIO_MS);
    CHECK_EQ(corio_redis_in_flight(c), 1); /* its reply is still owed */
    /* the connection is still right: the next caller gets its own reply */
    CHECK_EQ(corio_redis_command(c, &r, "GET ds:k"), 0);
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "mine"));
    corio_redis_reply_free(r);
    CHECK_EQ(corio_redis_in_flight(c), 0);
    CHECK_EQ(corio_redis_error(c), 0);
    corio_redis_close(c);
    return 0;
}

TEST(redis, debug_sleep_times_out_and_connection_stays_right)
{
    CHECK_EQ(run_real(sleep_main, NULL), 0);
}

/* ---- pub/sub
 * ------------------------------------------------------------------ */

static int sub_cancel_main(void *arg)
{
    corio_redis *s = arg;
    corio_redis_message *m;
    return corio_redis_message_wait(s, &m);
}

static int pubsub_main(void *arg)
{
    (void)arg;
    corio_redis *pub = conn(), *s = conn();
    corio_redis_reply *r;
    corio_redis_message *m;
    CHECK_EQ(corio_redis_message_wait(s, &m), -EINVAL); /* not subscribed */
    CHECK_EQ(corio_redis_subscribe(s, "news"), 0);
    CHECK_EQ(corio_redis_psubscribe(s, "sport.*"), 0);
    CHECK_EQ(corio_redis_command(s, &r, "GET x"), -EINVAL); /* pub/sub mode */
    CHECK_EQ(corio_redis_command(pub, &r, "PUBLISH news %b", "a\0b", (size_t)3),
             0);
    CHECK_EQ(corio_redis_reply_integer(r), 1);
    corio_redis_reply_free(r);
    CHECK_EQ(corio_redis_command(pub, &r, "PUBLISH sport.tennis %s", "ace"), 0);
    corio_redis_reply_free(r);
    size_t n;
    CHECK_EQ(corio_redis_message_wait(s, &m), 0);
    CHECK(!strcmp(corio_redis_message_channel(m, NULL), "news"));
    CHECK(corio_redis_message_pattern(m, NULL) == NULL);
    CHECK(!memcmp(corio_redis_message_data(m, &n), "a\0b", 3));
    CHECK_EQ(n, 3);
    corio_redis_message_free(m);
    CHECK_EQ(corio_redis_message_wait(s, &m), 0);
    CHECK(!strcmp(corio_redis_message_channel(m, NULL), "sport.tennis"));
    CHECK(!strcmp(corio_redis_message_pattern(m, NULL), "sport.*"));
    CHECK(!strcmp(corio_redis_message_data(m, NULL), "ace"));
    corio_redis_message_free(m);
    /* a waiter cancelled takes nothing */
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, sub_cancel_main, s), 0);
    corio_sleep(5 * CORIO_MS);
    corio_task_cancel(t);
    int res;
    CHECK_EQ(corio_task_join(t, &res), 0);
    CHECK_EQ(res, -ECANCELED);
    /* a timeout scope around the wait */
    CHECK_EQ(corio_timeout_begin(10 * CORIO_MS), 0);
    CHECK_EQ(corio_redis_message_wait(s, &m), -ETIMEDOUT);
    corio_timeout_end();
    CHECK_EQ(corio_redis_command(pub, &r, "PUBLISH news second"), 0);
    corio_redis_reply_free(r);
    CHECK_EQ(corio_redis_message_wait(s, &m), 0);
    CHECK(!strcmp(corio_redis_message_data(m, NULL), "second"));
    corio_redis_message_free(m);
    /* leave: back to normal commands */
    CHECK_EQ(corio_redis_unsubscribe(s, NULL), 0);
    CHECK_EQ(corio_redis_punsubscribe(s, NULL), 0);
    CHECK_EQ(corio_redis_command(s, &r, "PING"), 0);
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "PONG"));
    corio_redis_reply_free(r);
    corio_redis_close(s);
    corio_redis_close(pub);
    return 0;
}

TEST(redis, pubsub_across_two_connections)
{
    CHECK_EQ(run_real(pubsub_main, NULL), 0);
    tst_leak_check();
}

/* ---- transactions -----------------------------------------------------------
 */

static int tx_main(void *arg)
{
    (void)arg;
    corio_redis_pool *pool;
    CHECK_EQ(corio_redis_pool_new(&pool, url(), NULL), 0);
    corio_redis *other = conn(), *c;
    corio_redis_reply *r;
    CHECK_EQ(corio_redis_command(other, &r, "SET tx:k 10"), 0);
    corio_redis_reply_free(r);
    for (int attempt = 0; attempt < 2; attempt++) {
        CHECK_EQ(corio_redis_pool_acquire(pool, &c), 0);
        CHECK_EQ(corio_redis_command(c, &r, "WATCH tx:k"), 0);
        corio_redis_reply_free(r);
        CHECK_EQ(corio_redis_command(c, &r, "GET tx:k"), 0);
        long v = atol(corio_redis_reply_string(r, NULL));
        corio_redis_reply_free(r);
        if (attempt == 0) { /* someone else changes it meanwhile */
            CHECK_EQ(corio_redis_command(other, &r, "INCR tx:k"), 0);
            corio_redis_reply_free(r);
        }
        corio_redis_pipeline *p;
        CHECK_EQ(corio_redis_pipeline_new(&p, CORIO_REDIS_TRANSACTION), 0);
        CHECK_EQ(corio_redis_pipeline_append(p, "SET tx:k %ld", v * 2), 0);
        CHECK_EQ(corio_redis_pipeline_append(p, "GET tx:k"), 0);
        int rc = corio_redis_pipeline_exec(p, c, &r);
        corio_redis_pipeline_free(p);
        corio_redis_pool_release(pool, c);
        if (attempt == 0) {
            CHECK_EQ(rc, CORIO_EREDIS_ABORTED);
            CHECK(r == NULL);
            continue;
        }
        CHECK_EQ(rc, 0);
        CHECK_EQ(corio_redis_reply_count(r), 2);
        CHECK(!strcmp(
            corio_redis_reply_string(corio_redis_reply_element(r, 1), NULL),
            "22"));
        corio_redis_reply_free(r);
    }
    /* a malformed command in a transaction: EXECABORT */
    corio_redis_pipeline *p;
    CHECK_EQ(corio_redis_pipeline_new(&p, CORIO_REDIS_TRANSACTION), 0);
    CHECK_EQ(corio_redis_pipeline_append(p, "SET tx:k"), 0);
    CHECK_EQ(corio_redis_pipeline_exec(p, other, &r), CORIO_EREDIS);
    CHECK(!strncmp(corio_redis_reply_string(r, NULL), "EXECABORT", 9));
    corio_redis_reply_free(r);
    corio_redis_pipeline_free(p);
    corio_redis_close(other);
    corio_redis_pool_free(pool);
    return 0;
}

TEST(redis, multi_exec_with_watch_conflict)
{
    CHECK_EQ(run_real(tx_main, NULL), 0);
}

/* ---- blocking commands
 * ------------------------------------------------------- */

static int blocking_main(void *arg)
{
    (void)arg;
    corio_redis_pool *pool;
    CHECK_EQ(corio_redis_pool_new(&pool, url(), NULL), 0);
    corio_redis *c;
    corio_redis_reply *r;
    CHECK_EQ(corio_redis_pool_acquire(pool, &c), 0);
    CHECK_EQ(corio_timeout_begin(30 * CORIO_MS), 0);
    CHECK_EQ(corio_redis_command(c, &r, "BLPOP bl:empty 0"), -ETIMEDOUT);
    corio_timeout_end();
    CHECK(corio_redis_error(c) < 0); /* closed: its reply might never come */
    corio_redis_pool_release(pool, c);
    CHECK_EQ(corio_redis_pool_size(pool), 0);
    /* and a BLPOP that is served */
    CHECK_EQ(corio_redis_pool_acquire(pool, &c), 0);
    corio_redis *o = conn();
    CHECK_EQ(corio_redis_command(o, &r, "RPUSH bl:list one"), 0);
    corio_redis_reply_free(r);
    CHECK_EQ(corio_redis_command(c, &r, "BLPOP bl:list 1"), 0);
    CHECK(
        !strcmp(corio_redis_reply_string(corio_redis_reply_element(r, 1), NULL),
                "one"));
    corio_redis_reply_free(r);
    corio_redis_pool_release(pool, c);
    CHECK_EQ(corio_redis_pool_size(pool), 1);
    /* XREAD BLOCK is blocking too; a plain XREAD is not */
    CHECK_EQ(corio_redis_command(o, &r, "XREAD COUNT 1 STREAMS bl:s 0"), 0);
    corio_redis_reply_free(r);
    CHECK_EQ(corio_timeout_begin(20 * CORIO_MS), 0);
    CHECK_EQ(corio_redis_command(o, &r, "XREAD BLOCK 0 STREAMS bl:s $"),
             -ETIMEDOUT);
    corio_timeout_end();
    /* o is shared: the blocking command ran on a connection of its own,
     * which was closed; o itself is intact. */
    CHECK_EQ(corio_redis_error(o), 0);
    CHECK_EQ(corio_redis_command(o, &r, "PING"), 0);
    corio_redis_reply_free(r);
    corio_redis_close(o);
    corio_redis_pool_free(pool);
    return 0;
}

/* A BLPOP on a connection other tasks share never stalls their commands
 * (issue 12): they are answered while it waits. */
typedef struct blocker {
    corio_redis *c;
    int rc;
    int64_t done_at;
} blocker;

static int blpop_task(void *arg)
{
    blocker *b = arg;
    corio_redis_reply *r = NULL;
    CHECK_EQ(corio_timeout_begin(300 * CORIO_MS), 0);
    b->rc = corio_redis_command(b->c, &r, "BLPOP bl:never 0");
    corio_timeout_end();
    corio_redis_reply_free(r);
    b->done_at = corio_now();
    return 0;
}

static int shared_blocking_main(void *arg)
{
    (void)arg;
    corio_redis *c = conn();
    corio_redis_reply *r;
    blocker b = {c, 1, 0};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, blpop_task, &b), 0);
    CHECK_EQ(corio_sleep(20 * CORIO_MS), 0); /* the BLPOP is waiting */
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(corio_redis_command(c, &r, "SET bl:k%d v", i), 0);
        corio_redis_reply_free(r);
    }
    CHECK_EQ(b.done_at, 0); /* all answered while the BLPOP still waits */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(b.rc, -ETIMEDOUT);
    CHECK_EQ(corio_redis_error(c), 0);
    CHECK_EQ(corio_redis_command(c, &r, "GET bl:k9"), 0);
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "v"));
    corio_redis_reply_free(r);
    corio_redis_close(c);
    return 0;
}

TEST(redis, blocking_command_on_a_shared_connection_runs_on_its_own)
{
    CHECK_EQ(run_real(shared_blocking_main, NULL), 0);
}

TEST(redis, blocking_commands_timeout_closes_their_connection)
{
    CHECK_EQ(run_real(blocking_main, NULL), 0);
}

/* ---- pool
 * ---------------------------------------------------------------------- */

typedef struct pool_arg {
    corio_redis_pool *pool;
    int order;
    int *next;
    int rc;
} pool_arg;

static int pool_waiter(void *arg)
{
    pool_arg *a = arg;
    corio_redis *c;
    a->rc = corio_redis_pool_acquire(a->pool, &c);
    if (a->rc == 0) {
        if (*a->next != a->order)
            a->rc = -EPROTO; /* served out of order */
        (*a->next)++;
        corio_sleep(CORIO_MS);
        corio_redis_pool_release(a->pool, c);
    }
    return 0;
}

static int pool_main(void *arg)
{
    (void)arg;
    corio_redis_pool *pool;
    corio_redis_pool_opts po = {.max_connections = 2};
    CHECK_EQ(corio_redis_pool_new(&pool, url(), &po), 0);
    corio_redis *c1, *c2;
    CHECK_EQ(corio_redis_pool_acquire(pool, &c1), 0);
    CHECK_EQ(corio_redis_pool_acquire(pool, &c2), 0);
    /* full: waiters queue in FIFO order, no "too many connections" */
    pool_arg a[6];
    corio_task *t[6];
    int next = 0;
    for (int i = 0; i < 6; i++) {
        a[i] = (pool_arg){.pool = pool, .order = i, .next = &next};
        CHECK_EQ(corio_task_spawn(&t[i], pool_waiter, &a[i]), 0);
    }
    corio_sleep(5 * CORIO_MS);
    CHECK_EQ(next, 0);
    corio_redis_pool_release(pool, c1);
    corio_redis_pool_release(pool, c2);
    CHECK_EQ(corio_gather(t, 6, NULL), 0);
    for (int i = 0; i < 6; i++)
        CHECK_EQ(a[i].rc, 0);
    CHECK_EQ(corio_redis_pool_size(pool), 2);
    /* acquire interrupted while waiting holds nothing */
    CHECK_EQ(corio_redis_pool_acquire(pool, &c1), 0);
    CHECK_EQ(corio_redis_pool_acquire(pool, &c2), 0);
    CHECK_EQ(corio_timeout_begin(5 * CORIO_MS), 0);
    corio_redis *c3;
    CHECK_EQ(corio_redis_pool_acquire(pool, &c3), -ETIMEDOUT);
    CHECK(c3 == NULL);
    corio_timeout_end();
    /* CLIENT KILL of a pooled connection */
    corio_redis_reply *r;
    CHECK_EQ(corio_redis_command(c1, &r, "CLIENT ID"), 0);
    long long id = corio_redis_reply_integer(r);
    corio_redis_reply_free(r);
    corio_redis_pool_release(pool, c1);
    corio_redis_pool_release(pool, c2);
    CHECK_EQ(corio_redis_command(c2 = conn(), &r, "CLIENT KILL ID %lld", id),
             0);
    corio_redis_reply_free(r);
    corio_redis_close(c2);
    corio_sleep(20 * CORIO_MS); /* the reader sees the end */
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(corio_redis_pool_command(pool, &r, "PING"), 0);
        corio_redis_reply_free(r);
    }
    CHECK(corio_redis_pool_size(pool) <= 2);
    corio_redis_pool_free(pool);
    return 0;
}

TEST(redis, pool_fifo_wait_and_client_kill)
{
    CHECK_EQ(run_real(pool_main, NULL), 0);
    tst_leak_check();
}

typedef struct load_arg {
    corio_redis_pool *pool;
    int *stop;
    long ok, failed, ok_after;
    int *restarted;
} load_arg;

static int load_task(void *arg)
{
    load_arg *a = arg;
    while (!*a->stop) {
        corio_redis_reply *r;
        int rc = corio_redis_pool_command(a->pool, &r, "INCR load:n");
        corio_redis_reply_free(r);
        if (rc == 0) {
            a->ok++;
            if (*a->restarted)
                a->ok_after++;
        } else {
            a->failed++;
            corio_sleep(5 * CORIO_MS);
        }
        corio_sleep(CORIO_MS);
    }
    return 0;
}

static int restart_server(void *arg)
{
    (void)arg;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/scripts/redis-test-server.sh restart %s",
             CORIO_SOURCE_DIR, getenv("CORIO_REDIS_TEST_DIR"));
    return system(cmd);
}

static int restart_main(void *arg)
{
    (void)arg;
    corio_redis_pool *pool;
    corio_redis_pool_opts po = {.max_connections = 4,
                                .retry_ns = 10 * CORIO_SECOND};
    CHECK_EQ(corio_redis_pool_new(&pool, url(), &po), 0);
    int stop = 0, restarted = 0;
    load_arg a[8];
    corio_task *t[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (load_arg){.pool = pool, .stop = &stop, .restarted = &restarted};
        CHECK_EQ(corio_task_spawn(&t[i], load_task, &a[i]), 0);
    }
    corio_sleep(100 * CORIO_MS);
    int res;
    CHECK_EQ(corio_to_thread(restart_server, NULL, &res), 0);
    CHECK_EQ(res, 0);
    restarted = 1;
    corio_sleep(300 * CORIO_MS);
    stop = 1;
    CHECK_EQ(corio_gather(t, 8, NULL), 0);
    long ok = 0, after = 0, failed = 0;
    for (int i = 0; i < 8; i++) {
        ok += a[i].ok;
        after += a[i].ok_after;
        failed += a[i].failed;
        CHECK(a[i].ok_after > 0); /* every task recovered */
    }
    if (getenv("CORIO_TEST_VERBOSE"))
        fprintf(stderr, "restart: %ld ok (%ld after), %ld failed\n", ok, after,
                failed);
    corio_redis_pool_free(pool);
    return 0;
}

TEST_T(redis, server_restart_under_load, 60)
{
    CHECK_EQ(run_real(restart_main, NULL), 0);
}

/* ---- cancel sweep, real I/O
 * -------------------------------------------------- */

#define NREAL 40

typedef struct real_arg {
    corio_redis *c;
    int i;
    int rc;
    int wrong;
} real_arg;

static int real_task(void *arg)
{
    real_arg *a = arg;
    char key[32], want[32];
    snprintf(key, sizeof key, "cs:%d", a->i);
    snprintf(want, sizeof want, "value-%d", a->i);
    for (;;) {
        corio_redis_reply *r;
        int rc = corio_redis_command(a->c, &r, "GET %s", key);
        if (rc < 0) {
            a->rc = rc;
            return 0;
        }
        const char *s = corio_redis_reply_string(r, NULL);
        if (!s || strcmp(s, want))
            a->wrong++;
        corio_redis_reply_free(r);
    }
}

static int real_sweep_main(void *arg)
{
    (void)arg;
    corio_redis *c = conn();
    corio_redis_reply *r;
    for (int i = 0; i < NREAL; i++) {
        CHECK_EQ(corio_redis_command(c, &r, "SET cs:%d value-%d", i, i), 0);
        corio_redis_reply_free(r);
    }
    long cancelled = 0;
    for (int round = 0; round < 60; round++) {
        real_arg a[NREAL];
        corio_task *t[NREAL];
        for (int i = 0; i < NREAL; i++) {
            a[i] = (real_arg){.c = c, .i = i};
            CHECK_EQ(corio_task_spawn(&t[i], real_task, &a[i]), 0);
        }
        /* cancel them one by one, a few scheduler turns apart */
        for (int i = 0; i < NREAL; i++) {
            for (int k = 0; k < (round + i) % 5; k++)
                corio_yield();
            corio_task_cancel(t[(i * 7 + round) % NREAL]);
        }
        int res[NREAL];
        int g = corio_gather(t, NREAL, res);
        CHECK(g == 0 || g == -ECANCELED); /* -ECANCELED: one never ran */
        for (int i = 0; i < NREAL; i++) {
            CHECK_EQ(a[i].wrong, 0);
            CHECK(a[i].rc == -ECANCELED ||
                  (a[i].rc == 0 && res[i] == -ECANCELED));
            cancelled += a[i].rc == -ECANCELED;
        }
        CHECK_EQ(corio_redis_error(c), 0);
    }
    CHECK(cancelled > 0);
    CHECK_EQ(corio_redis_command(c, &r, "GET cs:3"), 0);
    CHECK(!strcmp(corio_redis_reply_string(r, NULL), "value-3"));
    corio_redis_reply_free(r);
    CHECK_EQ(corio_redis_in_flight(c), 0);
    corio_redis_close(c);
    return 0;
}

TEST_T(redis, cancel_sweep_real_server, 60)
{
    CHECK_EQ(run_real(real_sweep_main, NULL), 0);
    tst_leak_check();
}

/* ---- fault sweep
 * ------------------------------------------------------------------ */

static int fault_scenario(void *arg)
{
    (void)arg;
    corio_redis *c;
    int rc = corio_redis_connect(&c, url());
    if (rc < 0)
        return rc;
    corio_redis_reply *r = NULL;
    rc = corio_redis_command(c, &r, "SET fault:k %s", "v");
    corio_redis_reply_free(r);
    r = NULL;
    if (rc == 0)
        rc = corio_redis_command(c, &r, "GET fault:k");
    if (rc == 0 && strcmp(corio_redis_reply_string(r, NULL), "v"))
        rc = -EPROTO; /* a mis-routed or corrupted reply: never allowed */
    corio_redis_reply_free(r);
    r = NULL;
    corio_redis_pipeline *p = NULL;
    if (rc == 0)
        rc = corio_redis_pipeline_new(&p, 0);
    if (rc == 0)
        rc = corio_redis_pipeline_append(p, "INCR fault:n");
    if (rc == 0)
        rc = corio_redis_pipeline_append(p, "GET fault:k");
    if (rc == 0)
        rc = corio_redis_pipeline_exec(p, c, &r);
    if (rc == 0 &&
        strcmp(corio_redis_reply_string(corio_redis_reply_element(r, 1), NULL),
               "v"))
        rc = -EPROTO;
    corio_redis_reply_free(r);
    corio_redis_pipeline_free(p);
    corio_redis_close(c);
    return rc;
}

TEST_T(redis, fault_sweep, 120)
{
    corio_options o = {.threads = 2};
    signal(SIGPIPE, SIG_IGN);
    CHECK_EQ(tst_run_ex(&o, fault_scenario, NULL), 0);
    int fds0 = tst_count_fds();
    long n;
    int failures = 0;
    for (n = 1;; n++) {
        corio__fault_arm(n, ENOMEM);
        int rc = tst_run_ex(&o, fault_scenario, NULL);
        int fired = corio__fault_fired();
        corio__fault_disarm();
        if (!fired) {
            CHECK_EQ(rc, 0);
            break;
        }
        CHECK(rc != -EPROTO);
        failures += rc < 0;
        CHECK_EQ(tst_count_fds(), fds0);
        CHECK_EQ(tst_run_ex(&o, fault_scenario, NULL), 0);
    }
    if (getenv("CORIO_TEST_VERBOSE"))
        fprintf(stderr, "fault sweep: %ld calls failed in turn, %d errors\n",
                n - 1, failures);
    CHECK(n > 10);
    CHECK(failures > 0);
    tst_leak_check();
}
