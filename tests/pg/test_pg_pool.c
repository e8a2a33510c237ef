/* test_pg_pool.c — the pool: max size with FIFO waiters, a timed-out or
 * cancelled acquire that never leaks a connection (asyncpg #467/#955), a
 * cancel sweep over acquire + query, the reset on release (settings,
 * LISTEN, an open transaction), init/setup hooks, a pooled connection
 * killed with pg_terminate_backend, and the block form. */
#include "pg_util.h"

#include "pg/pg_int.h"

typedef struct use_ctx {
    corio_pg_pool *p;
    int id, rc;
    int *order, *norder;
} use_ctx;

static int use_task(void *arg)
{
    use_ctx *x = arg;
    corio_pg *c;
    x->rc = corio_pg_pool_acquire(x->p, &c);
    if (x->rc < 0)
        return 0;
    x->order[(*x->norder)++] = x->id;
    char v[16];
    snprintf(v, sizeof v, "%d", x->id);
    const char *p[] = {v};
    corio_pg_result *r;
    x->rc = corio_pg_query(c, "SELECT $1::int8 FROM pg_sleep(0.01)", p, 1, &r);
    if (x->rc == 0) {
        int64_t got;
        CHECK_EQ(corio_pg_get_int64(r, 0, 0, &got), 0);
        CHECK_EQ(got, x->id);
        corio_pg_result_free(r);
    }
    corio_pg_pool_release(x->p, c);
    return 0;
}

static int max_and_fifo(void *arg)
{
    int max = *(int *)arg;
    corio_pg_pool *p;
    corio_pg_pool_opts o = {.min_size = 1, .max_size = max};
    CHECK_EQ(corio_pg_pool_new(&p, pg_dsn(), &o), 0);
    corio_pg_pool_stats st;
    corio_pg_pool_stats_get(p, &st);
    CHECK_EQ(st.size, 1);
    CHECK_EQ(st.idle, 1);
    enum { N = 12 };
    use_ctx x[N];
    corio_task *t[N];
    int order[N], norder = 0;
    for (int i = 0; i < N; i++) {
        x[i] = (use_ctx){p, i, 1, order, &norder};
        CHECK_EQ(corio_task_spawn(&t[i], use_task, &x[i]), 0);
    }
    CHECK_EQ(corio_gather(t, N, NULL), 0);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(x[i].rc, 0);
        if (max == 1)
            CHECK_EQ(order[i], i); /* FIFO */
    }
    corio_pg_pool_stats_get(p, &st);
    CHECK_EQ(st.size, max);
    CHECK_EQ(st.in_use, 0);
    CHECK_EQ(st.opened, max);
    corio_pg_result *r;
    CHECK_EQ(corio_pg_pool_query(p, "SELECT 9", NULL, 0, &r), 0);
    corio_pg_result_free(r);
    corio_pg_pool_free(p);
    return 0;
}

TEST(pg_pool, max_size_and_fifo_waiters)
{
    int max = 1;
    CHECK_EQ(pg_run(max_and_fifo, &max), 0);
    max = 3;
    CHECK_EQ(pg_run(max_and_fifo, &max), 0);
}

static int holder(void *arg)
{
    corio_pg_pool *p = arg;
    CORIO_PG_POOL_CONN(pc, p);
    if (pc.rc < 0)
        return pc.rc;
    return corio_sleep(100 * CORIO_MS);
}

static int acquire_timeout(void *arg)
{
    (void)arg;
    corio_pg_pool *p;
    corio_pg_pool_opts o = {.max_size = 1};
    CHECK_EQ(corio_pg_pool_new(&p, pg_dsn(), &o), 0);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, holder, p), 0);
    CHECK_EQ(corio_sleep(10 * CORIO_MS), 0);
    corio_pg *c = (corio_pg *)1;
    CHECK_EQ(corio_timeout_begin(20 * CORIO_MS), 0);
    CHECK_EQ(corio_pg_pool_acquire(p, &c), -ETIMEDOUT);
    corio_timeout_end();
    CHECK(c == NULL);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_pg_pool_stats st;
    corio_pg_pool_stats_get(p, &st);
    CHECK_EQ(st.in_use, 0);
    CHECK_EQ(st.size, 1);
    /* The one connection is free again. */
    CHECK_EQ(corio_timeout_begin(2 * CORIO_SECOND), 0);
    CHECK_EQ(corio_pg_pool_acquire(p, &c), 0);
    corio_timeout_end();
    CHECK_EQ(pg_int(c, "SELECT 1"), 1);
    corio_pg_pool_release(p, c);
    corio_pg_pool_free(p);
    return 0;
}

TEST(pg_pool, timed_out_acquire_leaks_nothing)
{
    CHECK_EQ(pg_run(acquire_timeout, NULL), 0);
}

/* Cancel sweep: tasks acquire, query in a transaction and release while
 * they are cancelled at every delay in turn; afterwards the pool's counts
 * add up and every connection serves a query. */
static int pool_victim(void *arg)
{
    corio_pg_pool *p = arg;
    CORIO_PG_POOL_CONN(pc, p);
    if (pc.rc < 0)
        return pc.rc;
    CORIO_PG_TX(tx, pc.c, NULL);
    if (tx.rc < 0)
        return tx.rc;
    int rc = corio_pg_exec(
        pc.c, "INSERT INTO pg_pool_sweep SELECT 1 FROM pg_sleep(0.001)", NULL,
        0, NULL);
    if (rc < 0)
        return rc;
    rc = corio_pg_exec(pc.c, "INSERT INTO pg_pool_sweep VALUES (1)", NULL, 0,
                       NULL);
    if (rc < 0)
        return rc;
    return corio_pg_tx_done(&tx);
}

static int pool_sweep(void *arg)
{
    (void)arg;
    corio_pg *check = pg_connect();
    pg_ok(check, "DROP TABLE IF EXISTS pg_pool_sweep");
    pg_ok(check, "CREATE TABLE pg_pool_sweep (v int)");
    corio_pg_pool *p;
    corio_pg_pool_opts o = {.max_size = 2};
    CHECK_EQ(corio_pg_pool_new(&p, pg_dsn(), &o), 0);
    int interrupted = 0, done = 0;
    for (int step = 0; step < 400 && done < 12; step++) {
        enum { N = 4 };
        corio_task *t[N];
        int res[N];
        for (int i = 0; i < N; i++)
            CHECK_EQ(corio_task_spawn(&t[i], pool_victim, p), 0);
        corio_sleep(step * 50 * CORIO_US);
        for (int i = 0; i < N; i++)
            corio_task_cancel(t[i]);
        int g = corio_gather(t, N, res); /* the first failure, if any */
        CHECK(g == 0 || g == -ECANCELED);
        for (int i = 0; i < N; i++) {
            CHECK(res[i] == 0 || res[i] == -ECANCELED);
            res[i] == 0 ? done++ : interrupted++;
        }
        corio_pg_pool_stats st;
        corio_pg_pool_stats_get(p, &st);
        CHECK_EQ(st.in_use, 0);
        CHECK(st.size <= 2);
        CHECK_EQ(st.size, st.idle + st.resetting);
        CHECK_EQ(st.waiters, 0);
        CHECK(pg_int(check, "SELECT count(*) FROM pg_pool_sweep") % 2 == 0);
    }
    fprintf(stderr, "    %d interrupted, %d complete\n", interrupted, done);
    CHECK(interrupted > 10);
    /* Every connection serves a query, outside any transaction. */
    corio_pg *c[2];
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(corio_pg_pool_acquire(p, &c[i]), 0);
        CHECK_EQ(
            pg_int(c[i],
                   "SELECT (pg_current_xact_id_if_assigned() IS NULL)::int"),
            1);
        CHECK(corio__pg_idle(c[i]));
    }
    for (int i = 0; i < 2; i++)
        corio_pg_pool_release(p, c[i]);
    corio_pg_pool_free(p);
    pg_ok(check, "DROP TABLE pg_pool_sweep");
    corio_pg_close(check);
    return 0;
}

TEST_T(pg_pool, cancel_sweep_conserves_connections, 300)
{
    CHECK_EQ(pg_run(pool_sweep, NULL), 0);
}

static int inits, setups;

static int on_init(void *arg, corio_pg *c)
{
    (void)arg;
    inits++;
    return corio_pg_exec(c, "SET application_name = 'corio-pool'", NULL, 0,
                         NULL);
}

static int on_setup(void *arg, corio_pg *c)
{
    (void)arg;
    (void)c;
    setups++;
    return 0;
}

static int reset_on_release(void *arg)
{
    (void)arg;
    corio_pg_pool *p;
    corio_pg_pool_opts o = {.max_size = 1, .init = on_init, .setup = on_setup};
    CHECK_EQ(corio_pg_pool_new(&p, pg_dsn(), &o), 0);
    corio_pg *c;
    CHECK_EQ(corio_pg_pool_acquire(p, &c), 0);
    corio_pg *first = c;
    pg_ok(c, "SET statement_timeout = 12345");
    pg_ok(c, "LISTEN corio_chan");
    CHECK_EQ(corio_pg_tx_begin(c, NULL), 0); /* left open */
    pg_ok(c, "CREATE TEMP TABLE gone (v int)");
    corio_pg_pool_release(p, c);
    corio_pg_pool_stats st;
    corio_pg_pool_stats_get(p, &st);
    CHECK_EQ(st.resetting, 1); /* the server has not answered the reset yet */
    CHECK_EQ(corio_pg_pool_acquire(p, &c), 0);
    CHECK(c == first);
    CHECK(corio__pg_idle(c));
    char v[64];
    CHECK(corio_pg_fetchval(c, "SHOW statement_timeout", NULL, 0, v, sizeof v) >
          0);
    CHECK(!strcmp(v, "0"));
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_listening_channels()"), 0);
    CHECK_EQ(
        pg_int(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'gone'"),
        0);
    CHECK_EQ(inits, 1);
    CHECK_EQ(setups, 2);
    corio_pg_pool_release(p, c);
    corio_pg_pool_free(p);
    return 0;
}

TEST(pg_pool, reset_and_rollback_on_release)
{
    CHECK_EQ(pg_run(reset_on_release, NULL), 0);
}

/* What one lease leaves in its session never reaches the next: settings,
 * LISTEN (and a notification already sent to it), statements prepared by
 * SQL and by corio_pg_prepare, a cursor WITH HOLD, a BEGIN sent as plain
 * SQL.  A clean release costs no round trip (the connection is idle at
 * once, the reset goes out with the next lease's first query), and the
 * statement cache keeps working after DEALLOCATE ALL. */
static int no_leak(void *arg)
{
    int mode = *(int *)arg;
    corio_pg_pool *p;
    corio_pg_pool_opts o = {.max_size = 1, .reset = mode};
    CHECK_EQ(corio_pg_pool_new(&p, pg_dsn(), &o), 0);
    const char *one[] = {"7"};
    corio_pg *c, *first;
    CHECK_EQ(corio_pg_pool_acquire(p, &c), 0);
    first = c;
    CHECK_EQ(pg_int(c, "SELECT 0"), 0);
    corio_pg_pool_release(p, c);
    /* A lease of plain reads: the full reset goes out with the next
     * request; resetting only what was used sends nothing. */
    CHECK_EQ(corio_pg_pool_acquire(p, &c), 0);
    CHECK(c == first);
    CHECK_EQ(c->pend_head != NULL, mode == CORIO_PG_RESET_ALL);
    CHECK_EQ(pg_int(c, "SELECT 0"), 0);
    int64_t v = 0;
    corio_pg_result *r;
    CHECK_EQ(corio_pg_query(c, "SELECT $1::int8", one, 1, &r), 0);
    corio_pg_result_free(r);
    pg_ok(c, "SET statement_timeout = 12345");
    pg_ok(c, "SET search_path = nowhere");
    pg_ok(c, "LISTEN corio_leak");
    pg_ok(c, "NOTIFY corio_leak, 'old'");
    pg_ok(c, "PREPARE mine AS SELECT 42");
    CHECK_EQ(corio_pg_prepare(c, "mine2", "SELECT 43"), 0);
    pg_ok(c, "DECLARE cur CURSOR WITH HOLD FOR SELECT 1");
    corio_pg_pool_release(p, c);
    corio_pg_pool_stats st;
    corio_pg_pool_stats_get(p, &st);
    CHECK_EQ(st.idle, 1); /* no round trip before the next lease */
    CHECK_EQ(st.resetting, 0);

    CHECK_EQ(corio_pg_pool_acquire(p, &c), 0);
    CHECK(c == first);
    char s[64];
    CHECK(corio_pg_fetchval(c, "SHOW statement_timeout", NULL, 0, s, sizeof s) >
          0);
    CHECK(!strcmp(s, "0"));
    CHECK(corio_pg_fetchval(c, "SHOW search_path", NULL, 0, s, sizeof s) > 0);
    CHECK(strcmp(s, "nowhere"));
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_listening_channels()"), 0);
    CHECK(c->nq_head == NULL); /* the notification went with the channel */
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_prepared_statements "
                       "WHERE name IN ('mine', 'mine2')"),
             0);
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_cursors WHERE name = 'cur'"),
             0);
    CHECK_EQ(corio_pg_query(c, "SELECT $1::int8", one, 1, &r), 0);
    CHECK_EQ(corio_pg_get_int64(r, 0, 0, &v), 0);
    CHECK_EQ(v, 7);
    corio_pg_result_free(r);
    pg_ok(c, "BEGIN");
    pg_ok(c, "SET LOCAL statement_timeout = 999");
    corio_pg_pool_release(p, c);

    CHECK_EQ(corio_pg_pool_acquire(p, &c), 0);
    CHECK_EQ(pg_int(c, "SELECT (pg_current_xact_id_if_assigned() IS NULL "
                       "AND current_setting('statement_timeout') = '0')::int"),
             1);
    CHECK(PQtransactionStatus(c->pq) == PQTRANS_IDLE);
    corio_pg_pool_release(p, c);
    corio_pg_pool_stats_get(p, &st);
    CHECK_EQ(st.size, 1);
    CHECK_EQ(st.opened, 1);
    corio_pg_pool_free(p);
    return 0;
}

TEST(pg_pool, previous_lease_never_leaks)
{
    int mode = CORIO_PG_RESET_ALL;
    CHECK_EQ(pg_run(no_leak, &mode), 0);
}

TEST(pg_pool, reset_used_only_still_never_leaks)
{
    int mode = CORIO_PG_RESET_USED;
    CHECK_EQ(pg_run(no_leak, &mode), 0);
}

/* Wait until no backend of database corio but admin's matches `where`: a
 * terminated backend exits (and closes its socket) some time after
 * pg_terminate_backend returns, later still on a loaded machine. */
static void gone(corio_pg *admin, const char *where)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE datname = 'corio' "
             "AND pid <> pg_backend_pid() AND %s",
             where);
    for (int i = 0; i < 1000 && pg_int(admin, sql) != 0; i++)
        CHECK_EQ(corio_sleep(5 * CORIO_MS), 0);
    CHECK_EQ(pg_int(admin, sql), 0);
}

static int terminated(void *arg)
{
    (void)arg;
    corio_pg_pool *p;
    corio_pg_pool_opts o = {.max_size = 2, .min_size = 2};
    CHECK_EQ(corio_pg_pool_new(&p, pg_dsn(), &o), 0);
    corio_pg *admin = pg_connect();
    /* Kill every pooled backend while idle. */
    pg_ok(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 "WHERE datname = 'corio' AND pid <> pg_backend_pid() AND "
                 "backend_type = 'client backend'");
    gone(admin, "backend_type = 'client backend'");
    for (int i = 0; i < 4; i++) {
        corio_pg_result *r;
        int rc = corio_pg_pool_query(p, "SELECT 1", NULL, 0, &r);
        CHECK_EQ(rc, 0);
        corio_pg_result_free(r);
    }
    corio_pg_pool_stats st;
    corio_pg_pool_stats_get(p, &st);
    CHECK(st.opened >= 3);
    CHECK(st.size <= 2);
    /* Killed while in use: the query fails with CORIO_EPGCONN, the pool
     * drops it on release. */
    corio_pg *c;
    CHECK_EQ(corio_pg_pool_acquire(p, &c), 0);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)",
             corio_pg_backend_pid(c));
    pg_ok(admin, sql);
    snprintf(sql, sizeof sql, "pid = %d", corio_pg_backend_pid(c));
    gone(admin, sql);
    CHECK_EQ(corio_pg_exec(c, "SELECT 1", NULL, 0, NULL), CORIO_EPGCONN);
    CHECK(!corio_pg_ok(c));
    corio_pg_pool_release(p, c);
    corio_pg_result *r;
    CHECK_EQ(corio_pg_pool_query(p, "SELECT 1", NULL, 0, &r), 0);
    corio_pg_result_free(r);
    corio_pg_close(admin);
    corio_pg_pool_free(p);
    return 0;
}

TEST(pg_pool, terminated_backends_are_replaced)
{
    CHECK_EQ(pg_run(terminated, NULL), 0);
}

/* A server restart while the pool is busy: queries under way fail with
 * CORIO_EPGCONN (or a connect is refused while the server is down), and
 * once it is back every acquire gets a fresh, working connection. */
typedef struct busy_ctx {
    corio_pg_pool *p;
    int stop, ok, lost;
} busy_ctx;

static int busy_task(void *arg)
{
    busy_ctx *x = arg;
    while (!x->stop) {
        corio_pg_result *r;
        int rc = corio_pg_pool_query(x->p, "SELECT 1 FROM pg_sleep(0.005)",
                                     NULL, 0, &r);
        if (rc == 0) {
            x->ok++;
            corio_pg_result_free(r);
        } else {
            CHECK(rc == CORIO_EPGCONN);
            x->lost++;
            corio_sleep(20 * CORIO_MS);
        }
    }
    return 0;
}

static int restart_server(void *arg)
{
    (void)arg;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh %s restart %s >/dev/null 2>&1",
             getenv("CORIO_PG_TEST_SCRIPT"), getenv("CORIO_PG_TEST_DIR"));
    return system(cmd) == 0 ? 0 : -EIO;
}

static int restart(void *arg)
{
    (void)arg;
    if (!getenv("CORIO_PG_TEST_SCRIPT") || !getenv("CORIO_PG_TEST_DIR")) {
        fprintf(
            stderr,
            "    skipped: CORIO_PG_TEST_SCRIPT/CORIO_PG_TEST_DIR not set\n");
        return 0;
    }
    corio_pg_pool *p;
    corio_pg_pool_opts o = {.max_size = 3};
    CHECK_EQ(corio_pg_pool_new(&p, pg_dsn(), &o), 0);
    busy_ctx x = {p, 0, 0, 0};
    corio_task *t[4];
    for (int i = 0; i < 4; i++)
        CHECK_EQ(corio_task_spawn(&t[i], busy_task, &x), 0);
    CHECK_EQ(corio_sleep(100 * CORIO_MS), 0);
    int res = -1;
    CHECK_EQ(corio_to_thread(restart_server, NULL, &res), 0);
    CHECK_EQ(res, 0);
    int ok_before = x.ok;
    CHECK_EQ(corio_sleep(300 * CORIO_MS), 0);
    x.stop = 1;
    CHECK_EQ(corio_gather(t, 4, NULL), 0);
    fprintf(stderr,
            "    %d queries ok, %d lost to the restart, %d ok after it\n", x.ok,
            x.lost, x.ok - ok_before);
    CHECK(x.lost >= 1);
    CHECK(x.ok - ok_before > 10);
    corio_pg_pool_stats st;
    corio_pg_pool_stats_get(p, &st);
    CHECK_EQ(st.in_use, 0);
    CHECK(st.size <= 3);
    corio_pg_pool_free(p);
    return 0;
}

TEST_T(pg_pool, survives_a_server_restart, 120)
{
    CHECK_EQ(pg_run(restart, NULL), 0);
}

/* corio_pg_pool_free while acquirers are suspended inside the pool: one
 * waiting for a permit, one making its connection.  Both return -ESHUTDOWN, the
 * pool stays alive until the last of them (and the connection still out) has
 * left it, and nothing is used after it is freed (ASan runs this). */
typedef struct freed_ctx {
    corio_pg_pool *p;
    int rc;
} freed_ctx;

static int acquire_once(void *arg)
{
    freed_ctx *x = arg;
    corio_pg *c;
    x->rc = corio_pg_pool_acquire(x->p, &c);
    if (x->rc == 0)
        corio_pg_pool_release(x->p, c);
    return 0;
}

/* Holds a new connection in the pool's init hook once `gated` is set, so
 * an acquirer stays inside the pool, making its connection, for as long as
 * the test needs: a fast server could otherwise let it finish connecting
 * (and release) before the second acquirer looks for a permit. */
static int gated;
static corio_event gate;

static int gated_init(void *arg, corio_pg *c)
{
    (void)arg, (void)c;
    return gated ? corio_event_wait(&gate) : 0;
}

static int free_while_inside(void *arg)
{
    (void)arg;
    corio_pg_pool *p;
    corio_pg_pool_opts o = {.min_size = 1, .max_size = 2, .init = gated_init};
    CHECK_EQ(corio_pg_pool_new(&p, pg_dsn(), &o), 0);
    corio_pg *held;
    CHECK_EQ(corio_pg_pool_acquire(p, &held), 0);
    CHECK_EQ(corio_event_init(&gate), 0);
    gated = 1;
    freed_ctx conn = {p, 1}, wait = {p, 1};
    corio_task *t[2];
    /* The first finds no idle connection and opens one (it stays in the
     * init hook); the second finds no permit and waits. */
    CHECK_EQ(corio_task_spawn(&t[0], acquire_once, &conn), 0);
    CHECK_EQ(corio_task_spawn(&t[1], acquire_once, &wait), 0);
    corio_pg_pool_stats st;
    for (int i = 0; i < 1000; i++) { /* until both are inside */
        CHECK_EQ(corio_sleep(CORIO_MS), 0);
        corio_pg_pool_stats_get(p, &st);
        if (st.waiters == 1)
            break;
    }
    CHECK_EQ(st.waiters, 1);
    CHECK_EQ(conn.rc, 1); /* still making its connection */
    corio_pg_pool_free(p);
    corio_event_set(&gate); /* the init returns; the pool is shut */
    CHECK_EQ(corio_gather(t, 2, NULL), 0);
    CHECK_EQ(conn.rc, -ESHUTDOWN);
    CHECK_EQ(wait.rc, -ESHUTDOWN);
    corio_pg_pool_release(p, held); /* the last user out frees the pool */
    return 0;
}

TEST(pg_pool, free_while_acquirers_are_inside)
{
    CHECK_EQ(pg_run(free_while_inside, NULL), 0);
}
