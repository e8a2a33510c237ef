/* test_pg_batch.c — batches: N queries in one sync group, each result
 * delivered on its own; an error in the middle (the queries before it
 * keep their results, their writes roll back, the rest are skipped); a
 * cancellation sweep over a batch in flight (the connection serves the
 * next query, nothing reaches the wrong caller); batches pipelined beside
 * other tasks' queries on one connection. */
#include "pg_util.h"

#include "pg/pg_int.h"

/* A batch of n queries "SELECT $1::int8 + k" (k = 0..n-1) on c; checks
 * every result.  0, or the send's error. */
static int batch_sum(corio_pg *c, int base, int n)
{
    corio_pg_batch *b;
    CHECK_EQ(corio_pg_batch_new(&b), 0);
    char v[32];
    snprintf(v, sizeof v, "%d", base);
    const char *p[] = {v};
    static char sql[64][48];
    for (int k = 0; k < n; k++) {
        snprintf(sql[k], sizeof sql[k], "SELECT $1::int8 + %d", k % 4);
        CHECK_EQ(corio_pg_batch_add(b, sql[k], p, 1), k);
    }
    CHECK_EQ(corio_pg_batch_len(b), n);
    int rc = corio_pg_batch_send(c, b);
    for (int k = 0; rc == 0 && k < n; k++) {
        corio_pg_result *r;
        CHECK_EQ(corio_pg_batch_result(b, k, &r), 0);
        int64_t got;
        CHECK_EQ(corio_pg_get_int64(r, 0, 0, &got), 0);
        CHECK_EQ(got, base + k % 4);
        corio_pg_result_free(r);
    }
    corio_pg_batch_free(b);
    return rc;
}

static int basic(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    CHECK_EQ(batch_sum(c, 100, 20), 0); /* first use: Parses in the group */
    CHECK_EQ(batch_sum(c, 200, 20), 0); /* from the cache */
    CHECK_EQ(c->ninflight_max, 1);      /* one group each time */
    corio_pg_batch *b;
    CHECK_EQ(corio_pg_batch_new(&b), 0);
    CHECK_EQ(corio_pg_batch_send(c, b), 0);       /* empty: nothing sent */
    CHECK_EQ(corio_pg_batch_send(c, b), -EINVAL); /* sent once */
    CHECK_EQ(corio_pg_batch_add(b, "SELECT 1", NULL, 0), -EINVAL);
    corio_pg_batch_free(b);
    corio_pg_close(c);
    return 0;
}

TEST(pg_batch, results_one_by_one)
{
    CHECK_EQ(pg_run(basic, NULL), 0);
}

static int error_middle(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    pg_ok(c, "DROP TABLE IF EXISTS pg_batch_t");
    pg_ok(c, "CREATE TABLE pg_batch_t (v int)");
    corio_pg_batch *b;
    CHECK_EQ(corio_pg_batch_new(&b), 0);
    const char *one[] = {"1"};
    CHECK_EQ(corio_pg_batch_add(b, "SELECT 10", NULL, 0), 0);
    CHECK_EQ(
        corio_pg_batch_add(b, "INSERT INTO pg_batch_t VALUES ($1)", one, 1), 1);
    CHECK_EQ(corio_pg_batch_add(b, "SELECT 1/($1::int - 1)", one, 1), 2);
    CHECK_EQ(corio_pg_batch_add(b, "SELECT 30", NULL, 0), 3);
    CHECK_EQ(corio_pg_batch_send(c, b), CORIO_EPG);
    CHECK(!strcmp(corio_pg_last_error(c)->sqlstate, "22012"));
    CHECK_EQ(corio_pg_batch_failed(b), 2);
    corio_pg_result *r;
    CHECK_EQ(corio_pg_batch_result(b, 0, &r), 0);
    int64_t v;
    CHECK_EQ(corio_pg_get_int64(r, 0, 0, &v), 0);
    CHECK_EQ(v, 10);
    corio_pg_result_free(r);
    CHECK_EQ(corio_pg_batch_result(b, 0, &r), -ENOENT); /* taken */
    CHECK_EQ(corio_pg_batch_result(b, 1, &r), 0);
    CHECK(!strcmp(corio_pg_result_tag(r), "INSERT 0 1"));
    corio_pg_result_free(r);
    CHECK_EQ(corio_pg_batch_result(b, 2, &r), CORIO_EPG);
    CHECK_EQ(corio_pg_batch_result(b, 3, &r), CORIO_EPG); /* skipped */
    CHECK(r == NULL);
    CHECK_EQ(corio_pg_batch_result(b, 4, &r), -EINVAL);
    corio_pg_batch_free(b);
    /* The group was one implicit transaction: the INSERT rolled back. */
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_batch_t"), 0);
    CHECK_EQ(batch_sum(c, 7, 8), 0);
    pg_ok(c, "DROP TABLE pg_batch_t");
    corio_pg_close(c);
    return 0;
}

TEST(pg_batch, error_in_the_middle_aborts_the_rest)
{
    CHECK_EQ(pg_run(error_middle, NULL), 0);
}

typedef struct side_ctx {
    corio_pg *c;
    int id, stop, done;
} side_ctx;

/* Queries beside the batches on the same connection: each must get its
 * own answer. */
static int side_task(void *arg)
{
    side_ctx *x = arg;
    for (int i = 0; !x->stop; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", x->id * 100000 + i);
        const char *p[] = {v};
        corio_pg_result *r;
        CHECK_EQ(corio_pg_query(x->c, "SELECT $1::int8", p, 1, &r), 0);
        int64_t got;
        CHECK_EQ(corio_pg_get_int64(r, 0, 0, &got), 0);
        CHECK_EQ(got, x->id * 100000 + i);
        corio_pg_result_free(r);
        x->done++;
    }
    return 0;
}

static int batch_task(void *arg)
{
    side_ctx *x = arg;
    for (int i = 0; i < 30; i++)
        CHECK_EQ(batch_sum(x->c, x->id * 1000 + i, 20), 0);
    return 0;
}

static int beside(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    enum { NS = 4, NB = 4 };
    side_ctx s[NS], bx[NB];
    corio_task *ts[NS], *tb[NB];
    for (int i = 0; i < NS; i++) {
        s[i] = (side_ctx){c, i, 0, 0};
        CHECK_EQ(corio_task_spawn(&ts[i], side_task, &s[i]), 0);
    }
    for (int i = 0; i < NB; i++) {
        bx[i] = (side_ctx){c, 10 + i, 0, 0};
        CHECK_EQ(corio_task_spawn(&tb[i], batch_task, &bx[i]), 0);
    }
    CHECK_EQ(corio_gather(tb, NB, NULL), 0);
    for (int i = 0; i < NS; i++)
        s[i].stop = 1;
    CHECK_EQ(corio_gather(ts, NS, NULL), 0);
    for (int i = 0; i < NS; i++)
        CHECK(s[i].done > 0);
    CHECK(c->ninflight_max >= 2); /* batches and queries pipelined */
    CHECK(corio__pg_idle(c));
    corio_pg_close(c);
    return 0;
}

TEST(pg_batch, pipelined_beside_other_tasks)
{
    CHECK_EQ(pg_run(beside, NULL), 0);
}

/* A batch whose queries each sleep a little, cancelled at a sweep of
 * delays, with a side task querying the same connection throughout. */
static int victim(void *arg)
{
    corio_pg *c = arg;
    corio_pg_batch *b;
    CHECK_EQ(corio_pg_batch_new(&b), 0);
    for (int k = 0; k < 5; k++)
        CHECK(corio_pg_batch_add(b, "SELECT pg_sleep(0.0005)", NULL, 0) >= 0);
    int rc = corio_pg_batch_send(c, b);
    if (rc == 0) {
        corio_pg_result *r;
        CHECK_EQ(corio_pg_batch_result(b, 4, &r), 0);
        corio_pg_result_free(r);
    } else {
        corio_pg_result *r;
        CHECK_EQ(corio_pg_batch_result(b, 0, &r), -EINVAL);
    }
    corio_pg_batch_free(b);
    return rc;
}

static int sweep(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    int interrupted = 0, done = 0;
    for (int step = 0; step < 200 && (done < 5 || interrupted < 20); step++) {
        side_ctx s = {c, step, 0, 0};
        corio_task *side = NULL, *v;
        if (step % 2)
            CHECK_EQ(corio_task_spawn(&side, side_task, &s), 0);
        CHECK_EQ(corio_task_spawn(&v, victim, c), 0);
        CHECK_EQ(corio_sleep(step * 40 * CORIO_US), 0);
        corio_task_cancel(v);
        int res = 1;
        CHECK_EQ(corio_task_join(v, &res), 0);
        CHECK(res == 0 || res == -ECANCELED);
        res == 0 ? done++ : interrupted++;
        s.stop = 1;
        if (side)
            CHECK_EQ(corio_task_join(side, NULL), 0);
        CHECK(corio_pg_ok(c));
        CHECK_EQ(pg_int(c, "SELECT 41 + 1"), 42);
        CHECK(corio__pg_idle(c));
        CHECK_EQ(c->ninflight, 0);
    }
    fprintf(stderr, "    %d interrupted, %d complete\n", interrupted, done);
    CHECK(interrupted > 0);
    /* The backend is idle again: nothing of a batch still runs. */
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_stat_activity WHERE "
                       "query LIKE 'SELECT pg_sleep(0.0005)%' AND "
                       "state = 'active'"),
             0);
    corio_pg_close(c);
    return 0;
}

TEST_T(pg_batch, cancel_sweep, 300)
{
    CHECK_EQ(pg_run(sweep, NULL), 0);
}
