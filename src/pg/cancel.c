/* pg/cancel.c — taking back a request whose caller was interrupted
 * (-ECANCELED / -ETIMEDOUT), so that nothing is lost, nothing reaches
 * another caller, and the connection is never left mid-protocol.
 *
 *   not sent yet            unlink it; the server never sees it.
 *   sent, another task's    mark it abandoned: the leader reads its answer
 *   request behind it       and frees it.  No CancelRequest: the server
 *                           might apply it to the query behind.
 *   sent, nothing live      send a CancelRequest (PQcancel on a pool thread:
 *   behind it               libpq 15 has no non-blocking cancel), holding
 *                           every new request back, and drain until its sync
 *                           arrives, under a shield bounded by
 *                           cancel_timeout; past that the connection is
 *                           closed (a server that ignores cancels).
 *
 * Holding new requests while the cancel is in flight is what makes the
 * cancel precise: the backend has nothing else to interrupt.  A cancel that
 * arrives after the query finished cannot hit the next one either:
 * PQcancel returns once the postmaster has signalled the backend, so the
 * signal is there before anything sent later, and a backend that finds it
 * while reading its next message drops it (postgres.c: "query cancel is
 * supposed to be a no-op when there is no query in progress"). */
#include "pg/pg_int.h"

static int do_cancel(void *arg)
{
    char err[256];
    return PQcancel((PGcancel *)arg, err, sizeof err) ? 0 : -EIO;
}

int corio__pg_send_cancel(corio_pg *c)
{
    PGcancel *pc = PQgetCancel(c->pq);
    if (!pc)
        return -ENOMEM;
    int res = 0;
    int rc = corio_to_thread(do_cancel, pc, &res);
    PQfreeCancel(pc);
    return rc < 0 ? rc : res;
}

/* Open the shield + cancel_timeout scope a drain runs in.  0, or -ENOMEM
 * (nothing opened: the caller gives up on the connection instead). */
int corio__pg_guard_begin(corio_pg *c)
{
    int rc = corio_shield_begin();
    if (rc < 0)
        return rc;
    rc = corio_timeout_begin(c->cancel_timeout);
    if (rc < 0)
        CORIO_IGNORE(corio_shield_end());
    return rc;
}

void corio__pg_guard_end(void)
{
    CORIO_IGNORE(corio_timeout_end()); /* -ETIMEDOUT: the drain saw it */
    CORIO_IGNORE(corio_shield_end());
}

/* Whether every request ahead of r is abandoned: only then may a cancel
 * go out, for the one in front could have finished on the server and the
 * signal would interrupt the live query behind it. */
static bool none_live_ahead(const corio_pg *c, const pg_req *r)
{
    for (const pg_req *q = c->infl_head; q && q != r; q = q->next)
        if (!q->abandoned)
            return false;
    return true;
}

int corio__pg_take_back(corio_pg *c, pg_req *r, int why)
{
    r->waiting = false;
    if (r->w.done) { /* answered after all, in the same tick */
        if (r->kind == REQ_EXCL && r->status == 0 && c->excl_owner == r->task)
            corio__pg_excl_end(c); /* granted, but nobody will use it */
        corio__pg_waiter_del(c, &r->w);
        corio__pg_req_free(r);
        return why;
    }
    if (!r->sent) {
        corio__pg_pend_unlink(c, r);
        corio__pg_waiter_del(c, &r->w);
        corio__pg_req_free(r);
        return why;
    }
    bool live_after = false;
    for (pg_req *q = r->next; q; q = q->next)
        if (!q->abandoned)
            live_after = true;
    if (live_after || c->broken) {
        r->abandoned = true;
        corio__pg_waiter_del(c, &r->w);
        return why;
    }
    if (corio__pg_guard_begin(c) < 0) {
        r->abandoned = true;
        corio__pg_waiter_del(c, &r->w);
        corio__pg_break(c, "out of memory for the cancel");
        return why;
    }
    c->hold++;
    while (!r->w.done && !c->broken) {
        pg_req *h = c->infl_head;
        if (h && !h->cancel_sent && none_live_ahead(c, r)) {
            h->cancel_sent = true;
            (void)corio__pg_send_cancel(c);
            corio__pg_pump(c);
            continue;
        }
        if (corio__pg_wait_io(c, &r->w) < 0)
            break;
    }
    c->hold--;
    corio__pg_guard_end();
    if (!r->w.done) /* the server did not answer in time: give up on c */
        corio__pg_break(c, "cancel timed out");
    corio__pg_waiter_del(c, &r->w);
    corio__pg_req_free(r);
    corio__pg_pump(c); /* what was held back goes now */
    return why;
}
