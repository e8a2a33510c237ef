/* pg/tx.c — transactions: begin (with isolation, read-only, deferrable),
 * commit, rollback; nested levels as savepoints corio_sp_<depth>; the
 * block form.
 *
 * A transaction belongs to the task that began it (c->tx_owner, taken when
 * BEGIN is sent and given up when COMMIT/ROLLBACK is sent): other tasks'
 * requests stay pending meanwhile, so they never run inside it.  Rollback
 * never waits: the ROLLBACK is queued (FIFO, ahead of anything queued
 * later) with nobody waiting for its answer, which is what lets a cancelled
 * task's cleanup end its transaction — a cancelled task cannot wait. */
#include "pg/pg_int.h"

#include <stdio.h>
#include <strings.h>

static int run_text(corio_pg *c, const char *sql, bool begins, bool ends,
                    PGresult **res)
{
    pg_req *r = corio__pg_req_new(c, REQ_TEXT);
    if (!r)
        return -ENOMEM;
    r->texts[0] = sql;
    r->ntexts = 1;
    r->begins_tx = begins;
    r->ends_tx = ends;
    int rc = corio__pg_submit(c, r);
    if (rc < 0) {
        corio__pg_req_free(r);
        return rc;
    }
    rc = corio__pg_await(c, r);
    if (rc < 0)
        return rc; /* r freed */
    if (res) {
        *res = r->res;
        r->res = NULL;
    }
    corio__pg_req_free(r);
    return 0;
}

int corio_pg_tx_begin(corio_pg *c, const corio_pg_tx_opts *o)
{
    if (!c)
        return -EINVAL;
    corio_task *me = corio_task_current();
    if (!me)
        return -EPERM;
    if (c->excl_owner == me)
        return -EBUSY;
    char sql[96];
    if (c->tx_owner == me && c->tx_depth > 0) {
        snprintf(sql, sizeof sql, "SAVEPOINT corio_sp_%d", c->tx_depth + 1);
        int rc = run_text(c, sql, false, false, NULL);
        if (rc == 0 || rc == -ECANCELED || rc == -ETIMEDOUT) {
            /* Interrupted: the savepoint may exist; counting it open lets
             * the caller's rollback undo it either way. */
            c->tx_depth++;
        }
        return rc;
    }
    const char *iso = o && o->isolation ? o->isolation : NULL;
    if (iso && strcasecmp(iso, "read committed") &&
        strcasecmp(iso, "repeatable read") && strcasecmp(iso, "serializable") &&
        strcasecmp(iso, "read uncommitted"))
        return -EINVAL;
    snprintf(sql, sizeof sql, "BEGIN%s%s%s%s", iso ? " ISOLATION LEVEL " : "",
             iso ? iso : "", o && o->read_only ? " READ ONLY" : "",
             o && o->deferrable ? " DEFERRABLE" : "");
    int rc = run_text(c, sql, true, false, NULL);
    if (rc == 0) {
        c->tx_depth = 1;
        return 0;
    }
    if (c->tx_owner == me) {
        /* BEGIN was sent (interrupted, or refused): close whatever it
         * opened; the ROLLBACK also gives the connection back. */
        c->tx_depth = 0;
        (void)corio__pg_queue_text(c, me, "ROLLBACK", true);
    }
    return rc;
}

static void set_err(corio_pg *c, const char *state, const char *msg)
{
    corio__pg_set_error(c, NULL, msg);
    c->err.sqlstate = state; /* a static string: valid as long as needed */
}

int corio_pg_tx_commit(corio_pg *c)
{
    if (!c)
        return -EINVAL;
    corio_task *me = corio_task_current();
    if (!me)
        return -EPERM;
    if (c->tx_owner != me || c->tx_depth <= 0)
        return -EPERM;
    char sql[64];
    int rc;
    if (c->tx_depth > 1) {
        snprintf(sql, sizeof sql, "RELEASE SAVEPOINT corio_sp_%d", c->tx_depth);
        c->tx_depth--;
        return run_text(c, sql, false, false, NULL);
    }
    c->tx_depth = 0;
    PGresult *res = NULL;
    rc = run_text(c, "COMMIT", false, true, &res);
    if (rc == 0 && res && !strcmp(PQcmdStatus(res), "ROLLBACK")) {
        set_err(c, "25P02",
                "the transaction was rolled back: a statement in it failed");
        rc = CORIO_EPG;
    }
    PQclear(res);
    if (rc < 0 && c->tx_owner == me) /* the COMMIT never went out */
        (void)corio__pg_queue_text(c, me, "ROLLBACK", true);
    return rc;
}

int corio_pg_tx_rollback(corio_pg *c)
{
    if (!c)
        return -EINVAL;
    corio_task *me = corio_task_current();
    if (!me)
        return -EPERM;
    if (c->tx_owner != me || c->tx_depth <= 0)
        return -EPERM;
    if (c->tx_depth > 1) {
        pg_req *r = corio__pg_req_new(c, REQ_TEXT);
        if (!r)
            return -ENOMEM;
        int n = snprintf(r->own, sizeof r->own,
                         "ROLLBACK TO SAVEPOINT corio_sp_%d", c->tx_depth);
        snprintf(r->own + n + 1, sizeof r->own - (size_t)n - 1,
                 "RELEASE SAVEPOINT corio_sp_%d", c->tx_depth);
        r->texts[0] = r->own;
        r->texts[1] = r->own + n + 1;
        r->ntexts = 2;
        c->tx_depth--;
        return corio__pg_submit_detached(c, r);
    }
    c->tx_depth = 0;
    return corio__pg_queue_text(c, me, "ROLLBACK", true);
}

corio_pg_tx corio_pg_tx_start(corio_pg *c, const corio_pg_tx_opts *opts)
{
    corio_pg_tx tx = {c, 0, 0};
    tx.rc = corio_pg_tx_begin(c, opts);
    tx.open = tx.rc == 0;
    return tx;
}

int corio_pg_tx_done(corio_pg_tx *tx)
{
    if (!tx || !tx->open)
        return -EPERM;
    tx->open = 0;
    return corio_pg_tx_commit(tx->c);
}

void corio_pg_tx_cleanup(corio_pg_tx *tx)
{
    if (tx && tx->open) {
        tx->open = 0;
        (void)corio_pg_tx_rollback(tx->c);
    }
}
