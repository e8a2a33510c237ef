/* test_pg_tx.c — transactions: commit, rollback, savepoints, the block
 * form, a failed transaction's commit, other tasks held out of a
 * transaction, and a transaction rolled back when its task is cancelled. */
#include "pg_util.h"

#include "pg/pg_int.h"

static int basics(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    pg_ok(c, "DROP TABLE IF EXISTS pg_tx");
    pg_ok(c, "CREATE TABLE pg_tx (v int)");
    CHECK_EQ(corio_pg_tx_commit(c), -EPERM);
    CHECK_EQ(corio_pg_tx_rollback(c), -EPERM);
    CHECK_EQ(corio_pg_tx_begin(c, NULL), 0);
    pg_ok(c, "INSERT INTO pg_tx VALUES (1)");
    CHECK_EQ(corio_pg_tx_commit(c), 0);
    CHECK_EQ(corio_pg_tx_begin(c, NULL), 0);
    pg_ok(c, "INSERT INTO pg_tx VALUES (2)");
    CHECK_EQ(corio_pg_tx_rollback(c), 0);
    CHECK_EQ(pg_int(c, "SELECT sum(v) FROM pg_tx"), 1);
    /* Nested: savepoints. */
    corio_pg_tx_opts o = {.isolation = "serializable"};
    CHECK_EQ(corio_pg_tx_begin(c, &o), 0);
    char iso[32];
    CHECK(corio_pg_fetchval(c, "SHOW transaction_isolation", NULL, 0, iso,
                            sizeof iso) > 0);
    CHECK(!strcmp(iso, "serializable"));
    pg_ok(c, "INSERT INTO pg_tx VALUES (10)");
    CHECK_EQ(corio_pg_tx_begin(c, NULL), 0);
    pg_ok(c, "INSERT INTO pg_tx VALUES (100)");
    CHECK_EQ(corio_pg_tx_rollback(c), 0);
    CHECK_EQ(corio_pg_tx_begin(c, NULL), 0);
    pg_ok(c, "INSERT INTO pg_tx VALUES (1000)");
    CHECK_EQ(corio_pg_tx_commit(c), 0);
    CHECK_EQ(corio_pg_tx_commit(c), 0);
    CHECK_EQ(pg_int(c, "SELECT sum(v) FROM pg_tx"), 1011);
    /* A failed statement: commit reports the rollback. */
    CHECK_EQ(corio_pg_tx_begin(c, NULL), 0);
    pg_ok(c, "INSERT INTO pg_tx VALUES (5)");
    CHECK_EQ(corio_pg_exec(c, "SELECT 1/0", NULL, 0, NULL), CORIO_EPG);
    CHECK_EQ(corio_pg_exec(c, "SELECT 1", NULL, 0, NULL), CORIO_EPG);
    CHECK(!strcmp(corio_pg_last_error(c)->sqlstate, "25P02"));
    CHECK_EQ(corio_pg_tx_commit(c), CORIO_EPG);
    CHECK(!strcmp(corio_pg_last_error(c)->sqlstate, "25P02"));
    CHECK_EQ(pg_int(c, "SELECT sum(v) FROM pg_tx"), 1011);
    /* Bad options. */
    corio_pg_tx_opts bad = {.isolation = "chaos"};
    CHECK_EQ(corio_pg_tx_begin(c, &bad), -EINVAL);
    corio_pg_tx_opts ro = {.read_only = 1};
    CHECK_EQ(corio_pg_tx_begin(c, &ro), 0);
    CHECK_EQ(corio_pg_exec(c, "INSERT INTO pg_tx VALUES (7)", NULL, 0, NULL),
             CORIO_EPG);
    CHECK(!strcmp(corio_pg_last_error(c)->sqlstate, "25006"));
    CHECK_EQ(corio_pg_tx_rollback(c), 0);
    pg_ok(c, "DROP TABLE pg_tx");
    corio_pg_close(c);
    return 0;
}

TEST(pg_tx, commit_rollback_savepoints)
{
    CHECK_EQ(pg_run(basics, NULL), 0);
}

static int block_body(corio_pg *c, int fail)
{
    CORIO_PG_TX(tx, c, NULL);
    if (tx.rc < 0)
        return tx.rc;
    pg_ok(c, "INSERT INTO pg_txb VALUES (1)");
    if (fail)
        return -1; /* leaves the scope: rolled back */
    return corio_pg_tx_done(&tx);
}

static int block_form(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    pg_ok(c, "DROP TABLE IF EXISTS pg_txb");
    pg_ok(c, "CREATE TABLE pg_txb (v int)");
    CHECK_EQ(block_body(c, 0), 0);
    CHECK_EQ(block_body(c, 1), -1);
    CHECK_EQ(block_body(c, 0), 0);
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_txb"), 2);
    pg_ok(c, "DROP TABLE pg_txb");
    corio_pg_close(c);
    return 0;
}

TEST(pg_tx, block_form_rolls_back_on_exit)
{
    CHECK_EQ(pg_run(block_form, NULL), 0);
}

typedef struct other_ctx {
    corio_pg *c;
    int64_t seen;
    int64_t at;
} other_ctx;

static int other_task(void *arg)
{
    other_ctx *x = arg;
    x->seen = pg_int(x->c, "SELECT count(*) FROM pg_txo");
    x->at = corio_now();
    return 0;
}

static int others_wait(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    pg_ok(c, "DROP TABLE IF EXISTS pg_txo");
    pg_ok(c, "CREATE TABLE pg_txo (v int)");
    CHECK_EQ(corio_pg_tx_begin(c, NULL), 0);
    pg_ok(c, "INSERT INTO pg_txo VALUES (1)");
    other_ctx x = {c, -1, 0};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, other_task, &x), 0);
    CHECK_EQ(corio_sleep(50 * CORIO_MS), 0);
    CHECK_EQ(x.seen, -1); /* held back while the transaction is open */
    pg_ok(c, "INSERT INTO pg_txo VALUES (2)");
    int64_t before = corio_now();
    CHECK_EQ(corio_pg_tx_commit(c), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(x.seen, 2); /* ran after the commit, outside the transaction */
    CHECK(x.at >= before);
    pg_ok(c, "DROP TABLE pg_txo");
    corio_pg_close(c);
    return 0;
}

TEST(pg_tx, other_tasks_wait_for_the_transaction)
{
    CHECK_EQ(pg_run(others_wait, NULL), 0);
}

static int tx_victim(void *arg)
{
    corio_pg *c = arg;
    CORIO_PG_TX(tx, c, NULL);
    if (tx.rc < 0)
        return tx.rc;
    int rc = corio_pg_exec(c, "INSERT INTO pg_txc VALUES (1)", NULL, 0, NULL);
    if (rc < 0)
        return rc;
    rc = corio_pg_exec(c, "SELECT pg_sleep(10)", NULL, 0, NULL);
    if (rc < 0)
        return rc;
    return corio_pg_tx_done(&tx);
}

static int cancelled_tx(void *arg)
{
    (void)arg;
    corio_pg *c = pg_connect();
    pg_ok(c, "DROP TABLE IF EXISTS pg_txc");
    pg_ok(c, "CREATE TABLE pg_txc (v int)");
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, tx_victim, c), 0);
    CHECK_EQ(corio_sleep(100 * CORIO_MS), 0);
    int64_t t0 = corio_now();
    corio_task_cancel(t);
    int res;
    CHECK_EQ(corio_task_join(t, &res), 0);
    CHECK_EQ(res, -ECANCELED);
    CHECK(corio_now() - t0 < 2 * CORIO_SECOND);
    /* The insert was rolled back, and c is out of the transaction. */
    CHECK_EQ(pg_int(c, "SELECT count(*) FROM pg_txc"), 0);
    CHECK_EQ(
        pg_int(c, "SELECT (pg_current_xact_id_if_assigned() IS NULL)::int"), 1);
    CHECK(c->tx_owner == NULL);
    corio_pg *c2 = pg_connect();
    CHECK_EQ(pg_int(c2, "SELECT count(*) FROM pg_txc"), 0);
    corio_pg_close(c2);
    pg_ok(c, "DROP TABLE pg_txc");
    corio_pg_close(c);
    return 0;
}

TEST(pg_tx, cancelled_task_transaction_is_rolled_back)
{
    CHECK_EQ(pg_run(cancelled_tx, NULL), 0);
}
