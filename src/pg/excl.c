/* pg/excl.c — exclusive use of a connection for what pipeline mode cannot
 * carry: COPY FROM/TO (libpq refuses COPY in a pipeline) and row streaming
 * (single-row mode).
 *
 * The caller queues a barrier request (REQ_EXCL); it is granted once every
 * request sent before it has been answered, and from then on nothing else
 * is sent and no other task reads the socket.  The owner leaves pipeline
 * mode, does its work driving the socket itself, and on every way out
 * (done, error, callback stop, -ECANCELED/-ETIMEDOUT) drains the connection
 * back to idle under a shield bounded by cancel_timeout — a COPY FROM is
 * ended with PQputCopyEnd(errormsg) (the server discards it), anything else
 * gets a CancelRequest — before pipeline mode is entered again and the
 * queue moves on.  If the drain cannot finish the connection is closed. */
#include "pg/pg_int.h"

#include <openssl/ssl.h>

/* COPY FROM: a yield (a checkpoint) every this many 64 KiB chunks. */
#define COPY_YIELD_EVERY 16

int corio__pg_excl_begin(corio_pg *c)
{
    corio_task *me = corio_task_current();
    if (!me)
        return -EPERM;
    if (c->excl_owner == me)
        return -EBUSY;
    pg_req *r = corio__pg_req_new(c, REQ_EXCL);
    if (!r)
        return -ENOMEM;
    int rc = corio__pg_submit(c, r);
    if (rc < 0) {
        corio__pg_req_free(r);
        return rc;
    }
    rc = corio__pg_await(c, r);
    if (rc < 0)
        return rc; /* r freed */
    corio__pg_req_free(r);
    /* Granted: nothing of ours is in flight, leave the pipeline. */
    if (!PQexitPipelineMode(c->pq)) {
        corio__pg_excl_end(c);
        corio__pg_break(c, "exit pipeline");
        return CORIO_EPGCONN;
    }
    c->in_pipeline = false;
    return 0;
}

void corio__pg_excl_end(corio_pg *c)
{
    if (!c->broken && !c->in_pipeline) {
        if (PQenterPipelineMode(c->pq))
            c->in_pipeline = true;
        else
            corio__pg_break(c, "enter pipeline");
    }
    c->excl_granted = false;
    c->excl_owner = NULL;
    corio__pg_pump(c);
    corio__pg_poke(c);
}

/* Wait for the socket (write too when want_out).  0 or the interruption. */
static int excl_wait(corio_pg *c, bool want_out)
{
    if (c->ssl && SSL_pending((SSL *)c->ssl) > 0)
        return 0;
    corio__pg_interest(c, want_out);
    return corio_fd_wait(c->epfd, CORIO_READABLE);
}

/* Read the connection back to idle: every result until the final NULL,
 * ending a COPY IN, discarding COPY OUT rows.  `cancel`: send a
 * CancelRequest first.  Shielded, bounded by cancel_timeout.  Returns the
 * first error result seen (caller clears) via *err, may be NULL. */
static void drain(corio_pg *c, bool cancel, bool in_copy_out, PGresult **err)
{
    PGconn *pq = c->pq;
    if (corio__pg_guard_begin(c) < 0) {
        corio__pg_break(c, "out of memory for the drain");
        return;
    }
    if (cancel)
        (void)corio__pg_send_cancel(c);
    bool ok = false;
    for (;;) {
        if (PQflush(pq) < 0 || !PQconsumeInput(pq))
            break;
        bool need_wait = false;
        for (;;) {
            if (in_copy_out) {
                char *b = NULL;
                int n = PQgetCopyData(pq, &b, 1);
                if (b)
                    PQfreemem(b);
                if (n > 0)
                    continue;
                if (n == 0) {
                    need_wait = true;
                    break;
                }
                in_copy_out = false; /* -1: done; -2: error, the result says */
            }
            if (PQisBusy(pq)) {
                need_wait = true;
                break;
            }
            PGresult *res = PQgetResult(pq);
            if (!res) {
                ok = true;
                break;
            }
            ExecStatusType st = PQresultStatus(res);
            if (st == PGRES_COPY_IN)
                PQputCopyEnd(pq, "cancelled by the client");
            else if (st == PGRES_COPY_OUT)
                in_copy_out = true;
            if (st == PGRES_FATAL_ERROR && err && !*err)
                *err = res;
            else
                PQclear(res);
        }
        if (ok || !need_wait)
            break;
        if (excl_wait(c, PQflush(pq) == 1) < 0)
            break;
    }
    corio__pg_guard_end();
    if (!ok)
        corio__pg_break(c, "drain");
}

/* Wait for the next result of a non-pipelined query (NULL: none left). */
static int next_result(corio_pg *c, PGresult **out)
{
    *out = NULL;
    for (;;) {
        /* Parse what is buffered before reading more: reading ahead of a
         * slow consumer would grow libpq's buffer without bound (and libpq
         * moves the whole unread part on every read). */
        if (!PQisBusy(c->pq)) {
            *out = PQgetResult(c->pq);
            return 0;
        }
        int f = PQflush(c->pq);
        if (f < 0 || !PQconsumeInput(c->pq))
            return CORIO_EPGCONN;
        if (!PQisBusy(c->pq)) {
            *out = PQgetResult(c->pq);
            return 0;
        }
        int rc = excl_wait(c, f == 1);
        if (rc < 0)
            return rc;
    }
}

static int finish(corio_pg *c, int rc, PGresult *err)
{
    if (rc == CORIO_EPGCONN)
        corio__pg_break(c, "lost");
    if (err) {
        corio__pg_set_error(c, err, NULL);
        PQclear(err);
        if (rc == 0)
            rc = CORIO_EPG;
    } else if (rc == CORIO_EPGCONN) {
        corio__pg_set_error(c, NULL, PQerrorMessage(c->pq));
    }
    corio__pg_excl_end(c);
    return rc;
}

/* Both COPY directions open the same way: take the connection for
 * ourselves, send the statement and read its first result.  On failure the
 * connection is already finished (given back) and the error returned.
 *
 * The statement goes as a simple Query, not Parse/Bind/Execute/Sync: with
 * the extended protocol libpq sends a Sync with the statement and another
 * after CopyDone/CopyFail.  The server skips the first while it copies,
 * but a COPY FROM that fails before reading it (a CancelRequest landing
 * as the COPY starts, a statement trigger) ends at that Sync, and the
 * second then brings a ReadyForQuery nobody asked for — which libpq takes
 * as the end of the next query sent, and every answer after it goes to
 * the wrong caller.  A simple Query has no Sync: one ReadyForQuery. */
static int copy_begin(corio_pg *c, const char *sql, PGresult **res)
{
    int rc = corio__pg_excl_begin(c);
    if (rc < 0)
        return rc;
    if (!PQsendQuery(c->pq, sql))
        return finish(c, CORIO_EPGCONN, NULL);
    rc = next_result(c, res);
    if (rc < 0) {
        if (rc != CORIO_EPGCONN)
            drain(c, true, false, NULL);
        return finish(c, rc, NULL);
    }
    return 0;
}

int corio_pg_copy_in(corio_pg *c, const char *sql, corio_pg_copy_in_fn fn,
                     void *arg, int64_t *rows)
{
    if (rows)
        *rows = 0;
    if (!c || !sql || !fn)
        return -EINVAL;
    PGresult *res = NULL, *err = NULL;
    int rc = copy_begin(c, sql, &res);
    if (rc < 0)
        return rc;
    PGconn *pq = c->pq;
    if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
        /* Not a COPY FROM STDIN (or refused): read it to the end. */
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_EMPTY_QUERY;
        if (st == PGRES_FATAL_ERROR)
            err = res;
        else
            PQclear(res);
        drain(c, st == PGRES_COPY_OUT, st == PGRES_COPY_OUT, err ? NULL : &err);
        if (!err) {
            corio__pg_set_error(c, NULL, "not a COPY FROM STDIN statement");
            corio__pg_excl_end(c);
            return -EINVAL;
        }
        return finish(c, 0, err);
    }
    PQclear(res);
    char *buf = pg_malloc(65536);
    if (!buf) {
        PQputCopyEnd(pq, "out of memory");
        drain(c, false, false, NULL);
        return finish(c, -ENOMEM, NULL);
    }
    int user_rc = 0;
    size_t chunks = 0;
    for (;;) {
        ssize_t n = fn(arg, buf, 65536);
        if (n < 0) {
            user_rc = (int)n;
            PQputCopyEnd(pq, "aborted by the client");
            break;
        }
        if (n == 0) {
            PQputCopyEnd(pq, NULL);
            break;
        }
        int put;
        while ((put = PQputCopyData(pq, buf, (int)n)) == 0) {
            if ((rc = excl_wait(c, true)) < 0)
                break;
            if (!PQconsumeInput(pq)) {
                rc = CORIO_EPGCONN;
                break;
            }
        }
        if (put < 0)
            rc = CORIO_EPGCONN;
        /* Back-pressure: fn is called again once the socket took it. */
        int f;
        while (rc == 0 && (f = PQflush(pq)) == 1) {
            if ((rc = excl_wait(c, true)) < 0)
                break;
            if (!PQconsumeInput(pq))
                rc = CORIO_EPGCONN;
        }
        if (rc == 0 && f < 0)
            rc = CORIO_EPGCONN;
        /* A server that takes everything at once never makes the loop
         * above wait: a checkpoint every COPY_YIELD_EVERY chunks delivers
         * a cancellation or deadline, and lets other tasks run. */
        if (rc == 0 && ++chunks % COPY_YIELD_EVERY == 0)
            rc = corio_yield();
        if (rc < 0) {
            free(buf);
            if (rc != CORIO_EPGCONN) {
                PQputCopyEnd(pq, "cancelled by the client");
                drain(c, false, false, NULL);
            }
            return finish(c, rc, NULL);
        }
    }
    free(buf);
    /* The COPY's own result, then the end. */
    int64_t count = 0;
    for (;;) {
        rc = next_result(c, &res);
        if (rc < 0) {
            if (rc != CORIO_EPGCONN)
                drain(c, true, false, NULL);
            PQclear(err);
            return finish(c, rc, NULL);
        }
        if (!res)
            break;
        if (PQresultStatus(res) == PGRES_FATAL_ERROR && !err) {
            err = res;
            continue;
        }
        const char *t = PQcmdTuples(res);
        if (t && *t)
            count = strtoll(t, NULL, 10);
        PQclear(res);
    }
    if (rows)
        *rows = count;
    if (user_rc < 0) {
        PQclear(err);
        corio__pg_excl_end(c);
        return user_rc;
    }
    return finish(c, 0, err);
}

int corio_pg_copy_out(corio_pg *c, const char *sql, corio_pg_copy_out_fn fn,
                      void *arg, int64_t *rows)
{
    if (rows)
        *rows = 0;
    if (!c || !sql || !fn)
        return -EINVAL;
    PGresult *res = NULL, *err = NULL;
    int rc = copy_begin(c, sql, &res);
    if (rc < 0)
        return rc;
    PGconn *pq = c->pq;
    if (!res || PQresultStatus(res) != PGRES_COPY_OUT) {
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_EMPTY_QUERY;
        if (st == PGRES_FATAL_ERROR)
            err = res;
        else
            PQclear(res);
        if (st == PGRES_COPY_IN)
            PQputCopyEnd(pq, "not a COPY TO STDOUT");
        drain(c, false, false, err ? NULL : &err);
        if (!err) {
            corio__pg_set_error(c, NULL, "not a COPY TO STDOUT statement");
            corio__pg_excl_end(c);
            return -EINVAL;
        }
        return finish(c, 0, err);
    }
    PQclear(res);
    int64_t count = 0;
    int user_rc = 0;
    for (;;) {
        char *b = NULL;
        int n = PQgetCopyData(pq, &b, 1);
        if (n > 0) {
            int u = fn(arg, b, (size_t)n);
            PQfreemem(b);
            count++;
            if (u >= 0 && count % 1024 == 0 && (rc = corio_yield()) < 0) {
                drain(c, true, true, NULL);
                if (rows)
                    *rows = count;
                return finish(c, rc, NULL);
            }
            if (u < 0) {
                user_rc = u;
                drain(c, true, true, NULL);
                break;
            }
            continue;
        }
        if (n == 0) { /* nothing complete yet */
            int f = PQflush(pq);
            if ((rc = excl_wait(c, f == 1)) < 0 || !PQconsumeInput(pq)) {
                if (rc == 0)
                    rc = CORIO_EPGCONN;
                if (rc != CORIO_EPGCONN)
                    drain(c, true, true, NULL);
                return finish(c, rc, NULL);
            }
            continue;
        }
        break; /* -1: done (-2: error; the result says) */
    }
    if (rows)
        *rows = count;
    if (user_rc < 0) {
        corio__pg_excl_end(c);
        return user_rc;
    }
    for (;;) {
        rc = next_result(c, &res);
        if (rc < 0) {
            if (rc != CORIO_EPGCONN)
                drain(c, true, false, NULL);
            PQclear(err);
            return finish(c, rc, NULL);
        }
        if (!res)
            break;
        if (PQresultStatus(res) == PGRES_FATAL_ERROR && !err)
            err = res;
        else
            PQclear(res);
    }
    return finish(c, 0, err);
}

int corio_pg_query_stream(corio_pg *c, const char *sql,
                          const char *const *params, int nparams,
                          corio_pg_row_fn fn, void *arg, int64_t *rows)
{
    if (rows)
        *rows = 0;
    if (!c || !sql || !fn || nparams < 0 || (nparams && !params))
        return -EINVAL;
    int rc = corio__pg_excl_begin(c);
    if (rc < 0)
        return rc;
    PGconn *pq = c->pq;
    if (!PQsendQueryParams(pq, sql, nparams, NULL, params, NULL, NULL, 1) ||
        !PQsetSingleRowMode(pq))
        return finish(c, CORIO_EPGCONN, NULL);
    PGresult *res, *err = NULL;
    int64_t count = 0;
    int user_rc = 0;
    for (;;) {
        rc = next_result(c, &res);
        if (rc < 0) {
            if (rc != CORIO_EPGCONN)
                drain(c, true, false, NULL);
            PQclear(err);
            return finish(c, rc, NULL);
        }
        if (!res)
            break;
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE && !user_rc) {
            corio_pg_result row = {res};
            int u = fn(arg, &row);
            PQclear(res);
            count++;
            /* Rows may keep coming without a wait: let other tasks run
             * (and a cancellation or deadline land) now and then. */
            if (u >= 0 && count % 1024 == 0 && (rc = corio_yield()) < 0) {
                drain(c, true, false, NULL);
                if (rows)
                    *rows = count;
                return finish(c, rc, NULL);
            }
            if (u < 0) {
                user_rc = u;
                drain(c, true, false, NULL);
                break;
            }
            continue;
        }
        if (st == PGRES_FATAL_ERROR && !err)
            err = res;
        else
            PQclear(res);
    }
    if (rows)
        *rows = count;
    if (user_rc < 0) {
        PQclear(err);
        corio__pg_excl_end(c);
        return user_rc;
    }
    return finish(c, 0, err);
}
