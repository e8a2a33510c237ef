/* pg/batch.c — batches (pgx's SendBatch): several independent queries
 * sent as one sync group, so the server runs them as one implicit
 * transaction with one round trip and one Sync, and each query's result
 * comes back on its own.
 *
 * The batch object only collects the queries (borrowed) and, after the
 * send, holds the results.  While in flight everything lives on the
 * request (pg_int.h: items, bcmds, bres), so a batch whose caller was
 * cancelled is answered into the request's memory and freed with it. */
#include "pg/pg_int.h"

struct corio_pg_batch {
    pg_bitem *items;
    int n, cap;
    PGresult **res; /* after the send: one per query, NULL if it failed */
    int failed;     /* the first query that failed, or -1 */
    bool sent;
};

int corio_pg_batch_new(corio_pg_batch **out)
{
    if (!out)
        return -EINVAL;
    *out = pg_calloc(1, sizeof **out);
    if (!*out)
        return -ENOMEM;
    (*out)->failed = -1;
    return 0;
}

void corio_pg_batch_free(corio_pg_batch *b)
{
    if (!b)
        return;
    for (int i = 0; b->res && i < b->n; i++)
        PQclear(b->res[i]);
    free(b->res);
    free(b->items);
    free(b);
}

int corio_pg_batch_add(corio_pg_batch *b, const char *sql,
                       const char *const *params, int nparams)
{
    if (!b || !sql || nparams < 0 || (nparams > 0 && !params) || b->sent)
        return -EINVAL;
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 16;
        pg_bitem *it = pg_realloc(b->items, (size_t)cap * sizeof *it);
        if (!it)
            return -ENOMEM;
        b->items = it;
        b->cap = cap;
    }
    b->items[b->n++] = (pg_bitem){sql, params, nparams};
    return b->n - 1;
}

int corio_pg_batch_len(const corio_pg_batch *b)
{
    return b ? b->n : 0;
}

/* A result (or the end of one command's results) of batch request r: the
 * command being answered is r->cmd. */
void corio__pg_batch_take(corio_pg *c, pg_req *r, PGresult *res)
{
    const pg_bcmd *b = &r->bcmds[r->cmd];
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK ||
              st == PGRES_EMPTY_QUERY;
    if (b->parse) {
        corio__pg_stmt_result(c, b->stmt, ok);
        if (ok) {
            PQclear(res);
            return;
        }
    } else if (ok) {
        corio__pg_note_tag(c, r, res);
        PQclear(r->bres[b->item]);
        r->bres[b->item] = res;
        return;
    }
    /* The first error explains the rest (skipped: PGRES_PIPELINE_ABORTED). */
    if (!r->err)
        r->err = res;
    else
        PQclear(res);
}

int corio_pg_batch_send(corio_pg *c, corio_pg_batch *b)
{
    if (!c || !b || b->sent)
        return -EINVAL;
    if (!corio_task_current())
        return -EPERM;
    b->sent = true;
    if (b->n == 0)
        return 0;
    pg_req *r = corio__pg_req_new(c, REQ_BATCH);
    size_t n = (size_t)b->n;
    void *blk = pg_calloc(1, 2 * n * sizeof(pg_bcmd) + n * sizeof(PGresult *));
    if (!r || !blk) {
        corio__pg_req_free(r);
        free(blk);
        return -ENOMEM;
    }
    r->items = b->items;
    r->nitems = b->n;
    r->bcmds = blk;
    r->bres = (PGresult **)(r->bcmds + 2 * n);
    int rc = corio__pg_submit(c, r);
    if (rc < 0) {
        corio__pg_req_free(r);
        return rc;
    }
    bool answered;
    rc = corio__pg_await_answer(c, r, &answered);
    if (!answered)
        return rc;
    if (rc != CORIO_EPGCONN) {
        /* The results move to the batch (the block they sit in is r's). */
        b->res = pg_calloc(n, sizeof *b->res);
        if (b->res) {
            memcpy(b->res, r->bres, n * sizeof *b->res);
            memset(r->bres, 0, n * sizeof *r->bres);
            for (int i = 0; i < b->n && b->failed < 0; i++)
                if (!b->res[i])
                    b->failed = i;
        } else {
            rc = -ENOMEM;
        }
    }
    corio__pg_req_free(r);
    return rc;
}

int corio_pg_batch_failed(const corio_pg_batch *b)
{
    return b ? b->failed : -1;
}

int corio_pg_batch_result(corio_pg_batch *b, int i, corio_pg_result **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!b || i < 0 || i >= b->n || !b->res)
        return -EINVAL;
    if (!b->res[i])
        return i >= b->failed && b->failed >= 0 ? CORIO_EPG : -ENOENT;
    corio_pg_result *w = corio__pg_result_wrap(b->res[i]);
    if (!w)
        return -ENOMEM;
    b->res[i] = NULL;
    *out = w;
    return 0;
}
