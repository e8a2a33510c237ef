/* test_pg_share.c — the pool's shared connections (corio_pg_pool_query,
 * corio_pg_pool_batch_send): concurrent queries pipeline on a few
 * connections and each gets its own answer, a cancel sweep conserves
 * answers and connections, a shared connection killed mid-pipeline fails
 * only its own requests, and an exclusive acquirer is not starved by a
 * stream of shared queries. */
#include "pg_util.h"

#include "pg/pg_int.h"

/* One pool_query of SELECT $1::int (after a short sleep on the server):
 * 0 with the value checked, or the error. */
static int ask(corio_pg_pool *p, int v, const char *sleep)
{
    char sv[16], sql[96];
    snprintf(sv, sizeof sv, "%d", v);
    snprintf(sql, sizeof sql, "SELECT $1::int FROM pg_sleep(%s)", sleep);
    const char *params[] = {sv};
    corio_pg_result *r;
    int rc = corio_pg_pool_query(p, sql, params, 1, &r);
    if (rc < 0)
        return rc;
    int64_t got = -1;
    CHECK_EQ(corio_pg_get_int64(r, 0, 0, &got), 0);
    CHECK_EQ(got, v);
    corio_pg_result_free(r);
    return 0;
}

/* The pool at rest: nothing in use, shared or waiting, and every
 * connection (acquired all at once) serves a query outside a
 * transaction.  Returns the most requests one had in flight at once. */
static int at_rest(corio_pg_pool *p, int max)
{
    corio_pg_pool_stats st;
    corio_pg_pool_stats_get(p, &st);
    CHECK_EQ(st.in_use, 0);
    CHECK_EQ(st.shared, 0);
    CHECK_EQ(st.waiters, 0);
    CHECK(st.size <= max);
    CHECK_EQ(st.size, st.idle + st.resetting);
    corio_pg *c[8];
    int most = 0;
    for (int i = 0; i < max; i++) {
        CHECK_EQ(corio_pg_pool_acquire(p, &c[i]), 0);
        CHECK_EQ(
            pg_int(c[i],
                   "SELECT (pg_current_xact_id_if_assigned() IS NULL)::int"),
            1);
        CHECK(corio__pg_idle(c[i]));
        if (c[i]->ninflight_max > most)
            most = c[i]->ninflight_max;
    }
    for (int i = 0; i < max; i++)
        corio_pg_pool_release(p, c[i]);
    return most;
}

typedef struct asker {
    corio_pg_pool *p;
    int v, rounds, rc;
    const char *sleep;
} asker;

static int ask_task(void *arg)
{
    asker *a = arg;
    for (int i = 0; i < a->rounds && a->rc == 0; i++)
        a->rc = ask(a->p, a->v + i * 1000, a->sleep);
    return 0;
}

static int pipelined(void *arg)
{
    (void)arg;
    corio_pg_pool *p;
    corio_pg_pool_opts o = {.min_size = 2, .max_size = 2};
    CHECK_EQ(corio_pg_pool_new(&p, pg_dsn(), &o), 0);
    enum { N = 40 };
    asker a[N];
    corio_task *t[N];
    for (int i = 0; i < N; i++) {
        a[i] = (asker){p, i + 1, 3, 0, "0.002"};
        CHECK_EQ(corio_task_spawn(&t[i], ask_task, &a[i]), 0);
    }
    CHECK_EQ(corio_gather(t, N, NULL), 0);
    for (int i = 0; i < N; i++)
        CHECK_EQ(a[i].rc, 0);
    corio_pg_pool_stats st;
    corio_pg_pool_stats_get(p, &st);
    CHECK_EQ(st.opened, 2);
    /* 40 tasks on 2 connections: they pipelined. */
    CHECK(at_rest(p, 2) > 1);
    corio_pg_pool_free(p);
    return 0;
}

TEST(pg_share, concurrent_queries_pipeline_on_shared_connections)
{
    CHECK_EQ(pg_run(pipelined, NULL), 0);
}

/* A batch on a shared connection, beside single queries. */
static int batch_task(void *arg)
{
    corio_pg_pool *p = arg;
    corio_pg_batch *b;
    CHECK_EQ(corio_pg_batch_new(&b), 0);
    static const char *const v[] = {"7", "8", "9"};
    for (int i = 0; i < 3; i++)
        CHECK_EQ(corio_pg_batch_add(b, "SELECT $1::int", &v[i], 1), i);
    CHECK_EQ(corio_pg_pool_batch_send(p, b), 0);
    for (int i = 0; i < 3; i++) {
        corio_pg_result *r;
        int64_t got;
        CHECK_EQ(corio_pg_batch_result(b, i, &r), 0);
        CHECK_EQ(corio_pg_get_int64(r, 0, 0, &got), 0);
        CHECK_EQ(got, 7 + i);
        corio_pg_result_free(r);
    }
    corio_pg_batch_free(b);
    return 0;
}

static int batches(void *arg)
{
    (void)arg;
    corio_pg_pool *p;
    corio_pg_pool_opts o = {.min_size = 1, .max_size = 1};
    CHECK_EQ(corio_pg_pool_new(&p, pg_dsn(), &o), 0);
    enum { N = 10 };
    asker a[N];
    corio_task *t[2 * N];
    for (int i = 0; i < N; i++) {
        a[i] = (asker){p, i + 1, 2, 0, "0"};
        CHECK_EQ(corio_task_spawn(&t[2 * i], ask_task, &a[i]), 0);
        CHECK_EQ(corio_task_spawn(&t[2 * i + 1], batch_task, p), 0);
    }
    CHECK_EQ(corio_gather(t, 2 * N, NULL), 0);
    for (int i = 0; i < N; i++)
        CHECK_EQ(a[i].rc, 0);
    CHECK(at_rest(p, 1) > 1);
    CHECK_EQ(corio_pg_pool_batch_send(p, NULL), -EINVAL);
    corio_pg_pool_free(p);
    return 0;
}

TEST(pg_share, batches_pipeline_beside_queries)
{
    CHECK_EQ(pg_run(batches, NULL), 0);
}

/* Cancel sweep: victims are cancelled at every delay in turn while 12
 * other tasks pipeline on the same two shared connections (a cap of 4, so
 * some wait for room); every other task gets exactly its own values, and
 * afterwards the pool is at rest and every connection works. */
static int victim(void *arg)
{
    return ask(arg, -1, "0.001");
}

static int share_sweep(void *arg)
{
    (void)arg;
    corio_pg_pool *p;
    corio_pg_pool_opts o = {.max_size = 2, .max_pipeline = 4};
    CHECK_EQ(corio_pg_pool_new(&p, pg_dsn(), &o), 0);
    int interrupted = 0, done = 0;
    for (int step = 0; step < 400 && (done < 12 || step < 40); step++) {
        enum { G = 12, V = 3 };
        asker a[G];
        corio_task *t[G], *v[V];
        for (int i = 0; i < G; i++) {
            a[i] = (asker){p, step * 100000 + i + 1, 2, 0, "0.0005"};
            CHECK_EQ(corio_task_spawn(&t[i], ask_task, &a[i]), 0);
        }
        for (int i = 0; i < V; i++)
            CHECK_EQ(corio_task_spawn(&v[i], victim, p), 0);
        CHECK_EQ(corio_sleep(step * 100 * CORIO_US), 0);
        for (int i = 0; i < V; i++)
            corio_task_cancel(v[i]);
        int res[V];
        int g = corio_gather(v, V, res);
        CHECK(g == 0 || g == -ECANCELED);
        for (int i = 0; i < V; i++) {
            CHECK(res[i] == 0 || res[i] == -ECANCELED);
            res[i] == 0 ? done++ : interrupted++;
        }
        CHECK_EQ(corio_gather(t, G, NULL), 0);
        for (int i = 0; i < G; i++)
            CHECK_EQ(a[i].rc, 0);
        corio_pg_pool_stats st;
        corio_pg_pool_stats_get(p, &st);
        CHECK_EQ(st.in_use, 0);
        CHECK_EQ(st.shared, 0);
        CHECK_EQ(st.waiters, 0);
        CHECK(st.size <= 2);
        CHECK_EQ(st.size, st.idle + st.resetting);
    }
    fprintf(stderr, "    %d interrupted, %d complete\n", interrupted, done);
    CHECK(interrupted > 10);
    (void)at_rest(p, 2);
    corio_pg_result *r;
    CHECK_EQ(corio_pg_pool_query(p, "SELECT 1", NULL, 0, &r), 0);
    corio_pg_result_free(r);
    corio_pg_pool_free(p);
    return 0;
}

TEST_T(pg_share, cancel_sweep_conserves_answers_and_connections, 300)
{
    CHECK_EQ(pg_run(share_sweep, NULL), 0);
}

/* A shared connection killed with pg_terminate_backend while requests are
 * pipelined on it: those fail with CORIO_EPGCONN, the ones on the other
 * connection get their own answers, and the pool replaces it. */
static int killed(void *arg)
{
    (void)arg;
    corio_pg_pool *p;
    corio_pg_pool_opts o = {.min_size = 2, .max_size = 2};
    CHECK_EQ(corio_pg_pool_new(&p, pg_dsn(), &o), 0);
    corio_pg *admin = pg_connect();
    enum { N = 10 };
    asker a[N];
    corio_task *t[N];
    for (int i = 0; i < N; i++) {
        a[i] = (asker){p, i + 1, 1, 0, "0.3"};
        CHECK_EQ(corio_task_spawn(&t[i], ask_task, &a[i]), 0);
    }
    /* Wait (no timing assumed) until a backend runs the sleeping query. */
    const char *running =
        "SELECT coalesce(min(pid), 0) FROM pg_stat_activity WHERE "
        "datname = 'corio' AND pid <> pg_backend_pid() AND state = 'active' "
        "AND query LIKE '%pg_sleep(0.3)%'";
    int64_t pid = 0;
    for (int i = 0; i < 2000 && !(pid = pg_int(admin, running)); i++)
        CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK(pid != 0);
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)",
             (long long)pid);
    pg_ok(admin, sql);
    CHECK_EQ(corio_gather(t, N, NULL), 0);
    int ok = 0, lost = 0;
    for (int i = 0; i < N; i++) {
        CHECK(a[i].rc == 0 || a[i].rc == CORIO_EPGCONN);
        a[i].rc == 0 ? ok++ : lost++;
    }
    fprintf(stderr, "    %d answered, %d lost with the killed backend\n", ok,
            lost);
    CHECK(ok >= N / 2 - 1);
    CHECK(lost >= N / 2 - 1);
    (void)at_rest(p, 2);
    for (int i = 0; i < N; i++)
        CHECK_EQ(ask(p, i, "0"), 0);
    corio_pg_pool_stats st;
    corio_pg_pool_stats_get(p, &st);
    CHECK_EQ(st.opened, 3);
    CHECK_EQ(st.closed, 1);
    corio_pg_close(admin);
    corio_pg_pool_free(p);
    return 0;
}

TEST(pg_share, killed_shared_connection_fails_only_its_requests)
{
    CHECK_EQ(pg_run(killed, NULL), 0);
}

/* An exclusive acquire while shared queries stream without pause on every
 * connection: it gets a connection of its own (the streamers stop only
 * after it has). */
typedef struct streamer {
    corio_pg_pool *p;
    int v, n, rc;
    bool *stop;
} streamer;

static int stream_task(void *arg)
{
    streamer *s = arg;
    while (!*s->stop && s->rc == 0) {
        s->rc = ask(s->p, s->v + s->n, "0.001");
        s->n++;
    }
    return 0;
}

static int not_starved(void *arg)
{
    (void)arg;
    corio_pg_pool *p;
    corio_pg_pool_opts o = {.max_size = 2};
    CHECK_EQ(corio_pg_pool_new(&p, pg_dsn(), &o), 0);
    enum { N = 8 };
    bool stop = false;
    streamer s[N];
    corio_task *t[N];
    for (int i = 0; i < N; i++) {
        s[i] = (streamer){p, i * 100000, 0, 0, &stop};
        CHECK_EQ(corio_task_spawn(&t[i], stream_task, &s[i]), 0);
    }
    for (int i = 0; i < N; i++) /* every streamer has had an answer */
        while (s[i].n == 0)
            CHECK_EQ(corio_sleep(CORIO_MS), 0);
    corio_pg *c;
    CHECK_EQ(corio_timeout_begin(30 * CORIO_SECOND), 0);
    CHECK_EQ(corio_pg_pool_acquire(p, &c), 0);
    corio_timeout_end();
    CHECK_EQ(c->shared_n, 0);
    corio_pg_pool_stats st;
    corio_pg_pool_stats_get(p, &st);
    CHECK_EQ(st.in_use, 1);
    CHECK_EQ(st.shared + st.in_use + st.idle + st.resetting, st.size);
    CHECK_EQ(pg_int(c, "SELECT 5"), 5);
    stop = true;
    corio_pg_pool_release(p, c);
    CHECK_EQ(corio_gather(t, N, NULL), 0);
    for (int i = 0; i < N; i++)
        CHECK_EQ(s[i].rc, 0);
    (void)at_rest(p, 2);
    corio_pg_pool_free(p);
    return 0;
}

TEST(pg_share, exclusive_acquire_not_starved_by_shared_queries)
{
    CHECK_EQ(pg_run(not_starved, NULL), 0);
}
