/* test_pg_cancel.c — cancellation and deadlines: pg_sleep(10) in a 100 ms
 * scope returns -ETIMEDOUT at once and the backend is idle again right
 * after; an abandoned pipelined query never reaches the task behind it; and
 * sweeps that interrupt connect, query, transaction and COPY at every point
 * in turn (by delay and by yield count) and check conservation: no leaked
 * descriptor or connection, no result given to the wrong caller, nothing
 * of an interrupted transaction left, and the next query works. */
#include "pg_util.h"

#include "pg/pg_int.h"

#include <math.h>

static int sleep_timeout(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    corio_pg *watch = pg_connect();
    int pid = corio_pg_backend_pid(c);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(100 * CORIO_MS), 0);
    int rc = corio_pg_exec(c, "SELECT pg_sleep(10)", NULL, 0, NULL);
    corio_timeout_end();
    int64_t took = corio_now() - t0;
    CHECK_EQ(rc, -ETIMEDOUT);
    fprintf(stderr,
            "    pg_sleep(10) in a 100 ms scope returned after %.1f ms\n",
            took / 1e6);
    CHECK(took < (tst_slow_env() ? 2000 : 400) * CORIO_MS);
    /* The backend is idle right after (the cancel was drained). */
    char sql[128], state[32];
    snprintf(sql, sizeof sql,
             "SELECT state FROM pg_stat_activity WHERE pid = %d", pid);
    CHECK(corio_pg_fetchval(watch, sql, NULL, 0, state, sizeof state) > 0);
    CHECK(!strcmp(state, "idle"));
    CHECK(corio__pg_idle(c));
    CHECK_EQ(pg_int(c, "SELECT 77"), 77);
    /* Cancelled by a task instead of a deadline: the same. */
    corio_pg_close(watch);
    corio_pg_close(c);
    return 0;
}

TEST(pg_cancel, pg_sleep_in_a_100ms_scope)
{
    CHECK_EQ(pg_run(sleep_timeout, NULL), 0);
}

typedef struct q_ctx {
    corio_pg *c;
    const char *sql;
    int rc;
    int64_t val;
} q_ctx;

static int q_task(void *arg)
{
    q_ctx *x = arg;
    corio_pg_result *r = NULL;
    x->rc = corio_pg_query(x->c, x->sql, NULL, 0, &r);
    if (x->rc == 0 && corio_pg_get_int64(r, 0, 0, &x->val) < 0)
        x->val = -1;
    corio_pg_result_free(r);
    return 0;
}

static int abandoned_in_pipeline(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    q_ctx a = {c, "SELECT 1 FROM pg_sleep(0.2)", 1, 0};
    q_ctx b = {c, "SELECT 2::int8", 1, 0};
    corio_task *ta, *tb;
    CHECK_EQ(corio_task_spawn(&ta, q_task, &a), 0);
    CHECK_EQ(corio_task_spawn(&tb, q_task, &b), 0);
    CHECK_EQ(corio_sleep(20 * CORIO_MS), 0);
    CHECK_EQ(c->ninflight, 2);
    corio_task_cancel(ta); /* b is behind it: no CancelRequest, a discarded */
    CHECK_EQ(corio_task_join(ta, NULL), 0);
    CHECK_EQ(a.rc, -ECANCELED);
    CHECK_EQ(corio_task_join(tb, NULL), 0);
    CHECK_EQ(b.rc, 0);
    CHECK_EQ(b.val, 2);
    CHECK(corio__pg_idle(c));
    CHECK_EQ(pg_int(c, "SELECT 3"), 3);
    corio_pg_close(c);
    return 0;
}

TEST(pg_cancel, abandoned_pipelined_query_is_not_misdelivered)
{
    CHECK_EQ(pg_run(abandoned_in_pipeline, NULL), 0);
}

/* A live query between an abandoned one and a cancelled one: the cancel of
 * the last must wait until the live one is answered, for the abandoned one
 * at the head has likely finished on the server and a CancelRequest then
 * would interrupt the live query instead. */
static int live_between(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    q_ctx a = {c, "SELECT 1::int8", 1, 0};
    q_ctx g = {c, "SELECT 2::int8 FROM pg_sleep(0.2)", 1, 0};
    q_ctx v = {c, "SELECT 3::int8", 1, 0};
    corio_task *ta, *tg, *tv;
    CHECK_EQ(corio_task_spawn(&ta, q_task, &a), 0);
    CHECK_EQ(corio_task_spawn(&tg, q_task, &g), 0);
    CHECK_EQ(corio_task_spawn(&tv, q_task, &v), 0);
    /* The three run up to their sends (a, answered meanwhile, may leave
     * the scenario unexercised, never wrong). */
    for (int i = 0; i < 3 && c->ninflight_max < 3; i++)
        CHECK_EQ(corio_yield(), 0);
    corio_task_cancel(ta); /* g is live behind it: abandoned */
    CHECK_EQ(corio_task_join(ta, NULL), 0);
    corio_task_cancel(tv); /* nothing live behind it: the cancel path */
    CHECK_EQ(corio_task_join(tv, NULL), 0);
    CHECK_EQ(corio_task_join(tg, NULL), 0);
    CHECK(a.rc == -ECANCELED || (a.rc == 0 && a.val == 1)); /* or answered */
    CHECK_EQ(v.rc, -ECANCELED);
    CHECK_EQ(g.rc, 0);
    CHECK_EQ(g.val, 2);
    CHECK(corio__pg_idle(c));
    CHECK_EQ(pg_int(c, "SELECT 4"), 4);
    corio_pg_close(c);
    return 0;
}

TEST(pg_cancel, cancel_waits_for_a_live_query_ahead)
{
    CHECK_EQ(pg_run(live_between, NULL), 0);
}

/* A task cancelled while it runs (it has not waited since) sends nothing:
 * its next query returns -ECANCELED before anything goes out, so the
 * server never runs it, however fast the server would have answered. */
static int cancelled_then_insert(void *arg)
{
    corio_pg *c = arg;
    corio_task_cancel(corio_task_current());
    CHECK_EQ(corio_pg_exec(c, "INSERT INTO ck VALUES (1)", NULL, 0, NULL),
             -ECANCELED);
    return 0;
}

static int cancelled_sends_nothing(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    CHECK_EQ(corio_pg_exec(c, "CREATE TEMP TABLE ck (x int)", NULL, 0, NULL),
             0);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, cancelled_then_insert, c), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK(corio__pg_idle(c));
    CHECK_EQ(pg_int(c, "SELECT count(*)::int FROM ck"), 0);
    corio_pg_close(c);
    return 0;
}

TEST(pg_cancel, a_cancelled_task_sends_nothing)
{
    CHECK_EQ(pg_run(cancelled_sends_nothing, NULL), 0);
}

/* ---- the sweep ------------------------------------------------------------
 */

static ssize_t copy_rows(void *arg, char *buf, size_t cap)
{
    int *left = arg;
    if (*left <= 0)
        return 0;
    size_t n = 0;
    while (*left > 0 && n + 32 < cap) {
        n += (size_t)snprintf(buf + n, cap - n, "%d\n", *left);
        (*left)--;
    }
    return (ssize_t)n;
}

/* Everything a victim does, each step a suspension point; every value it
 * reads is checked, so a result delivered to the wrong call is caught. */
static int victim(void *arg)
{
    corio_pg **slot = arg;
    corio_pg *c;
    int rc = corio_pg_connect(&c, pg_dsn());
    if (rc < 0)
        return rc;
    *slot = c;
    corio_pg_result *r;
    for (int i = 0; i < 3; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", 500 + i);
        const char *p[] = {v};
        if ((rc = corio_pg_query(c, "SELECT $1::int8 * 2", p, 1, &r)) < 0)
            return rc;
        int64_t got = 0;
        CHECK_EQ(corio_pg_get_int64(r, 0, 0, &got), 0);
        CHECK_EQ(got, 2 * (500 + i));
        corio_pg_result_free(r);
    }
    {
        CORIO_PG_TX(tx, c, NULL);
        if (tx.rc < 0)
            return tx.rc;
        if ((rc = corio_pg_exec(c, "INSERT INTO pg_sweep VALUES (1)", NULL, 0,
                                NULL)) < 0)
            return rc;
        if ((rc = corio_pg_exec(c, "SELECT pg_sleep(0.002)", NULL, 0, NULL)) <
            0)
            return rc;
        if ((rc = corio_pg_exec(c, "INSERT INTO pg_sweep VALUES (1)", NULL, 0,
                                NULL)) < 0)
            return rc;
        if ((rc = corio_pg_tx_done(&tx)) < 0)
            return rc;
    }
    int left = 200;
    if ((rc = corio_pg_copy_in(c, "COPY pg_sweep_copy FROM STDIN", copy_rows,
                               &left, NULL)) < 0)
        return rc;
    return 0;
}

/* After an interrupted victim: its connection (if made) answers the next
 * query correctly and is idle; the transaction left all or nothing. */
/* Nothing of a live caller is left on c: only requests nobody waits for
 * (an abandoned query, a cleanup's ROLLBACK), which the next query drains. */
static bool settled(const corio_pg *c)
{
    if (c->pend_head || c->excl_owner || c->tx_owner || c->waiters)
        return false;
    for (pg_req *r = c->infl_head; r; r = r->next)
        if (!r->abandoned)
            return false;
    return true;
}

static void conserved(corio_pg *c, corio_pg *check, int fds_before)
{
    if (c) {
        CHECK(settled(c) || c->broken);
        if (!c->broken) {
            CHECK_EQ(pg_int(c, "SELECT 4242"), 4242);
            CHECK_EQ(
                pg_int(
                    c,
                    "SELECT (pg_current_xact_id_if_assigned() IS NULL)::int"),
                1);
        }
        corio_pg_close(c);
    }
    int64_t n = pg_int(check, "SELECT count(*) FROM pg_sweep");
    CHECK(n % 2 == 0); /* both inserts or neither */
    n = pg_int(check, "SELECT count(*) FROM pg_sweep_copy");
    CHECK(n % 200 == 0); /* the whole COPY or none of it */
    CHECK_EQ(tst_count_fds(), fds_before);
}

static int sweep(void *arg)
{
    int by_yields = *(int *)arg;
    corio_pg *check = pg_connect();
    pg_ok(check, "DROP TABLE IF EXISTS pg_sweep");
    pg_ok(check, "CREATE TABLE pg_sweep (v int)");
    pg_ok(check, "DROP TABLE IF EXISTS pg_sweep_copy");
    pg_ok(check, "CREATE TABLE pg_sweep_copy (v int)");
    int fds = tst_count_fds();
    int completed = 0, interrupted = 0;
    /* Step by step until the victim finishes before the cancel lands (and
     * a few steps more). */
    for (int step = 0; step < 2000 && completed < 3; step++) {
        corio_pg *c = NULL;
        corio_task *t;
        CHECK_EQ(corio_task_spawn(&t, victim, &c), 0);
        if (by_yields) {
            /* 0, 1, 2, ... 200 yields, then 3 % more per step. */
            double n = step < 200 ? step : 200 * pow(1.03, step - 200);
            for (long i = 0; i < (long)n; i++)
                corio_yield();
        } else {
            corio_sleep(step * 100 * CORIO_US);
        }
        corio_task_cancel(t);
        int res;
        CHECK_EQ(corio_task_join(t, &res), 0);
        if (res == 0)
            completed++;
        else if (res == -ECANCELED)
            interrupted++;
        else
            fprintf(stderr, "    step %d: %s\n", step, corio_strerror(res));
        CHECK(res == 0 || res == -ECANCELED);
        conserved(c, check, fds);
    }
    fprintf(stderr, "    %d interrupted runs, %d complete\n", interrupted,
            completed);
    CHECK(interrupted > 10);
    CHECK(completed >= 1);
    pg_ok(check, "DROP TABLE pg_sweep");
    pg_ok(check, "DROP TABLE pg_sweep_copy");
    corio_pg_close(check);
    return 0;
}

TEST_T(pg_cancel, sweep_by_delay, 300)
{
    int y = 0;
    CHECK_EQ(pg_run(sweep, &y), 0);
}

TEST_T(pg_cancel, sweep_by_yields, 300)
{
    int y = 1;
    CHECK_EQ(pg_run(sweep, &y), 0);
}

static int connect_timeout(void *arg)
{
    (void)arg;
    int fds = tst_count_fds();
    corio_pg *c;
    /* Calls that can finish without waiting still succeed in an expired
     * scope, and on loopback every step of a connect may find its socket
     * ready at once: either outcome is right, and neither leaks. */
    int timed_out = 0;
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(corio_timeout_begin(0), 0);
        int rc = corio_pg_connect(&c, pg_dsn());
        CORIO_IGNORE(corio_timeout_end());
        CHECK(rc == 0 || rc == -ETIMEDOUT);
        CHECK(rc == 0 ? c != NULL : c == NULL);
        timed_out += rc == -ETIMEDOUT;
        corio_pg_close(c);
        CHECK_EQ(tst_count_fds(), fds);
    }
    CHECK(timed_out > 0);
    return 0;
}

TEST(pg_cancel, connect_in_an_expired_scope)
{
    CHECK_EQ(pg_run(connect_timeout, NULL), 0);
}
