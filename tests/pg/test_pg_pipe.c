/* test_pg_pipe.c — automatic pipelining: many tasks on one connection, each
 * getting its own result; an error in one task's query aborts only that
 * query; execmany as one sync group; the seeds' process_batch shape. */
#include "pg_util.h"

#include "pg/pg_int.h"

typedef struct pipe_ctx {
    corio_pg *c;
    int id, fails, peak;
} pipe_ctx;

static int pipe_task(void *arg)
{
    pipe_ctx *x = arg;
    char v[16], sql[64];
    for (int i = 0; i < 20; i++) {
        snprintf(v, sizeof v, "%d", x->id * 1000 + i);
        const char *p[] = {v};
        if ((x->id + i) % 7 == 0) {
            /* An error: only this query fails. */
            int rc =
                corio_pg_exec(x->c, "SELECT 1/($1::int - $1::int)", p, 1, NULL);
            CHECK_EQ(rc, CORIO_EPG);
            CHECK(!strcmp(corio_pg_last_error(x->c)->sqlstate, "22012"));
            x->fails++;
            continue;
        }
        corio_pg_result *r;
        snprintf(sql, sizeof sql, "SELECT $1::int + %d", x->id % 3);
        CHECK_EQ(corio_pg_query(x->c, sql, p, 1, &r), 0);
        int32_t got;
        CHECK_EQ(corio_pg_get_int32(r, 0, 0, &got), 0);
        CHECK_EQ(got, x->id * 1000 + i + x->id % 3);
        corio_pg_result_free(r);
    }
    return 0;
}

static int many_tasks(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    enum { N = 50 };
    pipe_ctx x[N];
    corio_task *t[N];
    int res[N];
    for (int i = 0; i < N; i++) {
        x[i] = (pipe_ctx){c, i, 0, 0};
        CHECK_EQ(corio_task_spawn(&t[i], pipe_task, &x[i]), 0);
    }
    /* The first queries of the fifty tasks go out together, each its own
     * group: at least half were in flight at once (a high-water mark, so
     * it does not depend on when the answers were read). */
    CHECK_EQ(corio_gather(t, N, res), 0);
    CHECK(c->ninflight_max >= N / 2);
    for (int i = 0; i < N; i++)
        CHECK_EQ(res[i], 0);
    CHECK(corio__pg_idle(c));
    CHECK_EQ(pg_int(c, "SELECT 5"), 5);
    corio_pg_close(c);
    return 0;
}

TEST(pg_pipe, fifty_tasks_share_one_connection)
{
    CHECK_EQ(pg_run(many_tasks, NULL), 0);
}

static int execmany(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    pg_ok(c, "DROP TABLE IF EXISTS pg_many");
    pg_ok(c, "CREATE TABLE pg_many (id int PRIMARY KEY, name text)");
    enum { N = 1000 };
    static char ids[N][12], names[N][16];
    static const char *row[N][2];
    static const char *const *rows[N];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "%d", i);
        snprintf(names[i], sizeof names[i], "name-%d", i);
        row[i][0] = ids[i];
        row[i][1] = names[i];
        rows[i] = row[i];
    }
    int64_t n = 0;
    CHECK_EQ(corio_pg_execmany(c, "INSERT INTO pg_many VALUES ($1, $2)", rows,
                               N, 2, &n),
             0);
    CHECK_EQ(n, N);
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_many"), N);
    /* One duplicate among new rows: the whole group is rolled back. */
    static const char *bad[3][2] = {{"5000", "a"}, {"5", "dup"}, {"5001", "b"}};
    const char *const *badrows[3] = {bad[0], bad[1], bad[2]};
    CHECK_EQ(corio_pg_execmany(c, "INSERT INTO pg_many VALUES ($1, $2)",
                               badrows, 3, 2, &n),
             CORIO_EPG);
    CHECK(!strcmp(corio_pg_last_error(c)->sqlstate, "23505"));
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_many"), N);
    CHECK_EQ(corio_pg_execmany(c, "INSERT INTO pg_many VALUES ($1, $2)",
                               badrows, 0, 2, &n),
             0);
    pg_ok(c, "DROP TABLE pg_many");
    corio_pg_close(c);
    return 0;
}

TEST(pg_pipe, execmany_is_one_group)
{
    CHECK_EQ(pg_run(execmany, NULL), 0);
}

/* A pipelined error does not leak into the queries behind it, even with
 * the same statement text prepared in flight. */
typedef struct same_ctx {
    corio_pg *c;
    const char *sql;
    int want;
} same_ctx;

static int same_task(void *arg)
{
    same_ctx *x = arg;
    corio_pg_result *r = NULL;
    int rc = corio_pg_query(x->c, x->sql, NULL, 0, &r);
    corio_pg_result_free(r);
    return rc == x->want ? 0 : -1;
}

static int errors_isolated(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    same_ctx a = {c, "SELECT * FROM no_such_table", CORIO_EPG};
    same_ctx b = {c, "SELECT 1", 0};
    corio_task *t[6];
    int res[6];
    for (int i = 0; i < 6; i++)
        CHECK_EQ(corio_task_spawn(&t[i], same_task, i % 2 ? &b : &a), 0);
    CHECK_EQ(corio_gather(t, 6, res), 0);
    for (int i = 0; i < 6; i++)
        CHECK_EQ(res[i], 0);
    corio_pg_close(c);
    return 0;
}

TEST(pg_pipe, an_error_aborts_only_its_own_group)
{
    CHECK_EQ(pg_run(errors_isolated, NULL), 0);
}
