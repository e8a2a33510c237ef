/* test_redis_cancel.c — the cancel sweep (issue 12's point): many tasks
 * pipelining GET key_i on one connection, interrupted at every suspension
 * point in turn — by an explicit cancel after k scheduler turns, and by
 * timeout scopes expiring at every instant of a virtual-clock schedule —
 * and each task must end with its own value or an interruption, never
 * another key's value; the connection must stay in step (fresh commands
 * get their own replies) and drain (no reply left owed); nothing leaks
 * (LeakSanitizer in the sanitizer build).  A fake server on a memory pair
 * with tiny buffers makes writes partial and the schedule deterministic. */
#include "fake_server.h"

#define NTASK 24

typedef struct client {
    corio_redis *c;
    int i;
    char key[400];
    int64_t timeout_ns; /* 0: none */
    int rc;
    char got[512];
} client;

typedef struct sweep {
    long k;
    int mode; /* 0 cancel after k turns, 1 timeouts at k */
    client cl[NTASK];
    corio_task *t[NTASK];
    fake_server f;
    long ok, interrupted, wrong, unsent_cancel;
} sweep;

static int64_t trickle(long seq)
{
    return (seq % 4) * 10 * CORIO_US;
}

static int client_main(void *arg)
{
    client *cl = arg;
    corio_redis_reply *r = NULL;
    if (cl->timeout_ns && corio_timeout_begin(cl->timeout_ns) < 0)
        return -ENOMEM;
    cl->rc = corio_redis_command(cl->c, &r, "GET %s", cl->key);
    if (cl->timeout_ns)
        corio_timeout_end();
    if (cl->rc == 0) {
        size_t n;
        const char *s = corio_redis_reply_string(r, &n);
        snprintf(cl->got, sizeof cl->got, "%.*s", (int)n, s ? s : "(null)");
    }
    corio_redis_reply_free(r);
    return 0;
}

static int check_in_step(corio_redis *c, int n)
{
    for (int i = 0; i < n; i++) {
        char key[32], want[40];
        snprintf(key, sizeof key, "after-%d", i);
        snprintf(want, sizeof want, "val:%s", key);
        corio_redis_reply *r;
        int rc = corio_redis_command(c, &r, "GET %s", key);
        if (rc < 0)
            return rc;
        const char *s = corio_redis_reply_string(r, NULL);
        int same = s && !strcmp(s, want);
        corio_redis_reply_free(r);
        if (!same)
            return -EPROTO;
    }
    return 0;
}

static int sweep_main(void *arg)
{
    sweep *w = arg;
    corio_stream *a, *b;
    /* Tiny buffers: a command spans several writes, the pair holds less
     * than one long command, so the writer suspends mid-command. */
    corio_stream_opts so = {.read_buffer = 4096, .write_buffer = 64};
    CHECK_EQ(corio_stream_pair_ex(&a, &b, 128, &so), 0);
    w->f = (fake_server){.s = b, .delay_ns = trickle};
    corio_task *srv;
    CHECK_EQ(corio_task_spawn(&srv, fake_server_main, &w->f), 0);
    corio_redis *c;
    CHECK_EQ(corio_redis_from_stream(&c, a), 0);
    for (int i = 0; i < NTASK; i++) {
        client *cl = &w->cl[i];
        cl->c = c;
        cl->i = i;
        int pad = (i * 37) % 300;
        snprintf(cl->key, sizeof cl->key, "key_%d_%0*d", i, pad, 0);
        cl->rc = 1;
        if (w->mode == 1)
            cl->timeout_ns = ((i * 7 + w->k) % 29) * 5 * CORIO_US;
        CHECK_EQ(corio_task_spawn(&w->t[i], client_main, cl), 0);
    }
    if (w->mode == 0) {
        for (long j = 0; j < w->k; j++)
            corio_yield();
        for (int i = 0; i < NTASK; i++)
            if ((i + w->k) % 3 == 0)
                corio_task_cancel(w->t[i]);
    }
    for (int i = 0; i < NTASK; i++) {
        int res;
        CHECK_EQ(corio_task_join(w->t[i], &res), 0);
        client *cl = &w->cl[i];
        if (cl->rc == 1 && res == -ECANCELED)
            cl->rc = res; /* cancelled before it ever ran */
        char want[512];
        snprintf(want, sizeof want, "val:%s", cl->key);
        if (cl->rc == 0) {
            if (strcmp(cl->got, want)) {
                fprintf(stderr,
                        "k=%ld mode=%d task %d got \"%.40s\" for %.20s\n", w->k,
                        w->mode, i, cl->got, cl->key);
                w->wrong++;
            }
            w->ok++;
        } else if (cl->rc == -ECANCELED || cl->rc == -ETIMEDOUT) {
            w->interrupted++;
        } else {
            fprintf(stderr, "k=%ld task %d: %d\n", w->k, i, cl->rc);
            w->wrong++;
        }
    }
    /* In step: fresh commands get their own replies. */
    CHECK_EQ(check_in_step(c, 5), 0);
    /* Drained: every reply owed has been read (the discarded ones too). */
    CHECK_EQ(corio_redis_in_flight(c), 0);
    /* Every command the server saw was answered; those it never saw were
     * interrupted before the writer took them. */
    long seen_clients = w->f.received - 5;
    if (seen_clients < NTASK)
        w->unsent_cancel += NTASK - seen_clients;
    CHECK(seen_clients >= w->ok);
    corio_redis_close(c);
    CHECK_EQ(corio_task_join(srv, NULL), 0);
    return 0;
}

static void run_sweep(int mode, long kmax)
{
    long ok = 0, intr = 0, unsent = 0, k;
    for (k = 0; k <= kmax; k++) {
        sweep *w = calloc(1, sizeof *w);
        w->k = k;
        w->mode = mode;
        CHECK_EQ(tst_run(sweep_main, w), 0);
        CHECK_EQ(w->wrong, 0);
        CHECK_EQ(w->ok + w->interrupted, NTASK);
        ok += w->ok;
        intr += w->interrupted;
        unsent += w->unsent_cancel;
        free(w);
    }
    if (getenv("CORIO_TEST_VERBOSE"))
        fprintf(stderr,
                "mode %d: %ld ok, %ld interrupted (%ld before written)\n", mode,
                ok, intr, unsent);
    /* The sweep did reach both sides of the write: interruptions before
     * the command was taken (never sent) and after (reply discarded). */
    CHECK(ok > 0);
    CHECK(intr > 0);
    CHECK(unsent > 0);
    CHECK(intr > unsent);
    tst_leak_check(); /* abandoned requests and replies freed */
}

TEST_T(redis_cancel, sweep_explicit_cancel_at_every_turn, 120)
{
    run_sweep(0, 400);
}

TEST_T(redis_cancel, sweep_timeouts_at_every_instant, 120)
{
    run_sweep(1, 60);
}

/* A command cancelled while queued behind a long write is never sent. */
static int queued_main(void *arg)
{
    (void)arg;
    corio_stream *a, *b;
    corio_stream_opts so = {.write_buffer = 64};
    CHECK_EQ(corio_stream_pair_ex(&a, &b, 64, &so), 0);
    fake_server f = {.s = b};
    corio_task *srv;
    CHECK_EQ(corio_task_spawn(&srv, fake_server_main, &f), 0);
    corio_redis *c;
    CHECK_EQ(corio_redis_from_stream(&c, a), 0);
    /* Let nothing run: the command is still queued when cancelled. */
    CHECK_EQ(corio_timeout_begin(0), 0);
    corio_redis_reply *r;
    CHECK_EQ(corio_redis_command(c, &r, "GET never"), -ETIMEDOUT);
    CHECK(r == NULL);
    corio_timeout_end();
    CHECK_EQ(check_in_step(c, 3), 0);
    CHECK_EQ(f.received, 3);
    corio_redis_close(c);
    CHECK_EQ(corio_task_join(srv, NULL), 0);
    return 0;
}

TEST(redis_cancel, interrupted_before_written_is_never_sent)
{
    CHECK_EQ(tst_run(queued_main, NULL), 0);
    tst_leak_check();
}
