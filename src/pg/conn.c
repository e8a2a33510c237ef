/* pg/conn.c — a connection once made (connect.c makes it): close, and the
 * request machinery every other file uses: submit, pump (send, flush,
 * read, dispatch) and the leader wait (pg_int.h draws the flow).
 *
 * Why no background task per connection: a task would need an owner and a
 * join on close (which suspends); with a leader chosen among the waiting
 * tasks the socket is read exactly when somebody waits for an answer, and
 * a connection nobody waits on costs nothing (notifications wait in the
 * kernel's buffer until the next reader). */
#include "pg/pg_int.h"

#include "core/loop.h" /* corio__interrupt_check: submit is a checkpoint */

#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <unistd.h>

/* ---- waiters ------------------------------------------------------------ */

void corio__pg_waiter_add(corio_pg *c, pg_waiter *w)
{
    w->prev = NULL;
    w->next = c->waiters;
    if (c->waiters)
        c->waiters->prev = w;
    c->waiters = w;
}

/* Wake the first waiter that is not done so it becomes the leader. */
void corio__pg_poke(corio_pg *c)
{
    if (c->leader)
        return;
    /* The list is newest first; the oldest waiter is at the tail. */
    pg_waiter *w = c->waiters, *pick = NULL;
    for (; w; w = w->next)
        if (!w->done)
            pick = w;
    if (pick)
        corio_event_set(&pick->ev);
}

void corio__pg_waiter_del(corio_pg *c, pg_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else if (c->waiters == w)
        c->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    if (c->leader == w)
        c->leader = NULL;
    corio__pg_poke(c);
}

/* ---- requests ----------------------------------------------------------- */

pg_req *corio__pg_req_new(corio_pg *c, int kind)
{
    pg_req *r = pg_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    corio_event_init(&r->w.ev);
    r->c = c;
    r->kind = kind;
    r->task = corio_task_current();
    return r;
}

void corio__pg_req_free(pg_req *r)
{
    if (!r)
        return;
    PQclear(r->res);
    PQclear(r->err);
    for (int i = 0; r->bres && i < r->nitems; i++)
        PQclear(r->bres[i]);
    free(r->bcmds); /* bres lives in the same block */
    free(r->pblock);
    corio_event_destroy(&r->w.ev);
    free(r);
}

/* A request is answered (or failed): hand it to its caller, or drop it if
 * the caller has gone. */
static void complete(corio_pg *c, pg_req *r)
{
    (void)c;
    r->w.done = true;
    if (r->abandoned)
        corio__pg_req_free(r);
    else
        corio_event_set(&r->w.ev);
}

static void pend_push(corio_pg *c, pg_req *r)
{
    r->next = NULL;
    if (c->pend_tail)
        c->pend_tail->next = r;
    else
        c->pend_head = r;
    c->pend_tail = r;
}

void corio__pg_infl_push(corio_pg *c, pg_req *r)
{
    r->next = NULL;
    if (c->infl_tail)
        c->infl_tail->next = r;
    else
        c->infl_head = r;
    c->infl_tail = r;
    if (++c->ninflight > c->ninflight_max)
        c->ninflight_max = c->ninflight;
}

static pg_req *infl_pop(corio_pg *c)
{
    pg_req *r = c->infl_head;
    c->infl_head = r->next;
    if (!c->infl_head)
        c->infl_tail = NULL;
    r->next = NULL;
    c->ninflight--;
    return r;
}

/* Unlink r from the pending list (it must be there). */
void corio__pg_pend_unlink(corio_pg *c, pg_req *r);
void corio__pg_pend_unlink(corio_pg *c, pg_req *r)
{
    pg_req **pp = &c->pend_head, *prev = NULL;
    while (*pp && *pp != r) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = r->next;
    if (c->pend_tail == r)
        c->pend_tail = prev;
    r->next = NULL;
}

/* ---- errors ------------------------------------------------------------- */

static const char *field(const PGresult *res, int code)
{
    const char *s = res ? PQresultErrorField(res, code) : NULL;
    return s ? s : "";
}

void corio__pg_set_error(corio_pg *c, const PGresult *res, const char *msg)
{
    const char *f[8] = {
        field(res, PG_DIAG_SQLSTATE),
        field(res, PG_DIAG_SEVERITY),
        res ? field(res, PG_DIAG_MESSAGE_PRIMARY) : (msg ? msg : ""),
        field(res, PG_DIAG_MESSAGE_DETAIL),
        field(res, PG_DIAG_MESSAGE_HINT),
        field(res, PG_DIAG_CONSTRAINT_NAME),
        field(res, PG_DIAG_TABLE_NAME),
        field(res, PG_DIAG_COLUMN_NAME),
    };
    if (res && !*f[2])
        f[2] = PQresultErrorMessage(res);
    if (res && !*f[2] && PQresultStatus(res) == PGRES_PIPELINE_ABORTED)
        f[2] = "statement skipped: its pipeline group was aborted";
    size_t n = 0;
    for (int i = 0; i < 8; i++)
        n += strlen(f[i]) + 1;
    char *s = pg_malloc(n), *p = s;
    const char *empty = "";
    const char **dst[8] = {
        &c->err.sqlstate, &c->err.severity,   &c->err.message, &c->err.detail,
        &c->err.hint,     &c->err.constraint, &c->err.table,   &c->err.column};
    for (int i = 0; i < 8; i++) {
        if (s) {
            size_t l = strlen(f[i]);
            memcpy(p, f[i], l + 1);
            *dst[i] = p;
            p += l + 1;
        } else {
            *dst[i] = empty;
        }
    }
    /* A message ends with a newline in libpq's style; not here. */
    if (s) {
        char *m = (char *)c->err.message;
        size_t l = strlen(m);
        while (l && (m[l - 1] == '\n' || m[l - 1] == ' '))
            m[--l] = 0;
    }
    const char *pos = field(res, PG_DIAG_STATEMENT_POSITION);
    c->err.position = *pos ? atoi(pos) : 0;
    free(c->err_store);
    c->err_store = s;
}

const corio_pg_error *corio_pg_last_error(const corio_pg *c)
{
    static const corio_pg_error none = {"", "", "", "", "", "", "", "", 0};
    return c ? &c->err : &none;
}

/* Settle a finished request for its caller: its status, and the error
 * details on c (the caller reads them before it next suspends). */
int corio__pg_req_finish(corio_pg *c, pg_req *r)
{
    if (r->status == 0 && r->err)
        r->status = CORIO_EPG;
    if (r->status == CORIO_EPG)
        corio__pg_set_error(c, r->err, NULL);
    else if (r->status == CORIO_EPGCONN)
        corio__pg_set_error(c, NULL, PQerrorMessage(c->pq));
    return r->status;
}

/* Note the session state a successful statement touched (its command
 * tag), for the pool's reset.  Cheap: most tags fail on the first byte. */
void corio__pg_note_tag(corio_pg *c, const pg_req *r, const PGresult *res)
{
    if (r->kind == REQ_PREPARE) {
        c->used |= USED_PREPARE;
        return;
    }
    const char *t = PQcmdStatus((PGresult *)res);
    switch (t[0]) {
    case 'S':
        if (!strcmp(t, "SET"))
            c->used |= USED_SET;
        break;
    case 'R':
        if (!strcmp(t, "RESET"))
            c->used |= USED_SET;
        break;
    case 'D':
        if (!strcmp(t, "DECLARE CURSOR"))
            c->used |= USED_CURSOR;
        else if (!strncmp(t, "DISCARD", 7) || !strncmp(t, "DEALLOCATE", 10))
            c->used |= USED_PREPARE;
        break;
    case 'L':
        if (!strcmp(t, "LISTEN"))
            c->used |= USED_LISTEN;
        break;
    case 'P':
        if (!strcmp(t, "PREPARE"))
            c->used |= USED_PREPARE;
        break;
    }
}

/* ---- the connection's I/O ------------------------------------------------ */

void corio__pg_interest(corio_pg *c, bool want_out)
{
    if (c->broken || want_out == c->want_out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0),
                             .data.fd = c->sock};
    if (corio__sys.epoll_ctl(c->epfd, EPOLL_CTL_MOD, c->sock, &ev) == 0)
        c->want_out = want_out;
}

/* Fail everything queued on c: the connection is unusable from now on. */
void corio__pg_break(corio_pg *c, const char *why)
{
    if (c->broken)
        return;
    c->broken = true;
    (void)why;
    pg_req *r;
    while ((r = c->infl_head)) {
        infl_pop(c);
        r->status = CORIO_EPGCONN;
        complete(c, r);
    }
    while ((r = c->pend_head)) {
        c->pend_head = r->next;
        r->status = CORIO_EPGCONN;
        complete(c, r);
    }
    c->pend_tail = NULL;
    for (pg_waiter *w = c->waiters; w; w = w->next)
        corio_event_set(&w->ev);
    c->tx_owner = NULL;
    c->tx_depth = 0;
}

/* Send what pending requests may go now. */
static void send_pending(corio_pg *c)
{
again:
    if (c->hold || c->broken || c->excl_granted)
        return;
    for (pg_req *r = c->pend_head, *next; r; r = next) {
        next = r->next;
        if (c->tx_owner && r->task != c->tx_owner)
            continue; /* another task's transaction is open */
        if (r->kind == REQ_EXCL) {
            /* A barrier: granted once everything sent before it is answered. */
            if (c->ninflight)
                return;
            corio__pg_pend_unlink(c, r);
            c->excl_granted = true;
            c->excl_owner = r->task;
            r->status = 0;
            complete(c, r);
            return;
        }
        corio__pg_pend_unlink(c, r);
        int rc = corio__pg_send(c, r);
        if (rc < 0) {
            /* A group cut short has no sync: the protocol position is lost. */
            pend_push(c, r); /* fails with everything else */
            corio__pg_break(c, "send");
            return;
        }
        r->sent = true;
        corio__pg_infl_push(c, r);
        if (r->begins_tx)
            c->tx_owner = r->task;
        if (r->ends_tx) {
            c->tx_owner = NULL;
            goto again; /* held requests may go now */
        }
    }
}

/* Results of the head request until libpq needs more input. */
static void dispatch(corio_pg *c)
{
    while (c->infl_head && !PQisBusy(c->pq)) {
        pg_req *r = c->infl_head;
        PGresult *res = PQgetResult(c->pq);
        if (!res) {
            r->cmd++;
            continue;
        }
        bool prep_cmd = r->prep && r->cmd == 0;
        if (r->kind == REQ_BATCH &&
            PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
            corio__pg_batch_take(c, r, res);
            continue;
        }
        switch (PQresultStatus(res)) {
        case PGRES_PIPELINE_SYNC:
            PQclear(res);
            if (r->cmd < r->ncmds) {
                /* The group ended before all its commands did: libpq and
                 * the server disagree about where the protocol is, and
                 * every answer from here on would reach the wrong caller. */
                corio__pg_break(c, "sync before the group's results");
                return;
            }
            if (r->must_succeed && r->err) {
                /* The pool's reset failed: what the last lease left in the
                 * session may still be there, so nobody may use c. */
                corio__pg_break(c, "reset failed");
                return;
            }
            if (r->must_succeed) {
                /* Notifications read so far were for the last lease's
                 * channels, which the reset has just closed. */
                PGnotify *n;
                while ((n = PQnotifies(c->pq)))
                    PQfreemem(n);
                corio__pg_notices_free(c);
            }
            infl_pop(c);
            complete(c, r);
            continue;
        case PGRES_FATAL_ERROR:
            if (prep_cmd) {
                corio__pg_stmt_result(c, r->prep, false);
                r->prep = NULL;
            }
            if (!r->err)
                r->err = res;
            else
                PQclear(res);
            break;
        case PGRES_PIPELINE_ABORTED:
            if (prep_cmd) {
                corio__pg_stmt_result(c, r->prep, false);
                r->prep = NULL;
            }
            /* Normally an earlier command of the same group failed and
             * r->err holds why.  If not, the command was still skipped:
             * report that rather than an empty success. */
            if (!r->err)
                r->err = res;
            else
                PQclear(res);
            break;
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
            if (prep_cmd) {
                corio__pg_stmt_result(c, r->prep, true);
                r->prep = NULL;
                PQclear(res);
                break;
            }
            corio__pg_note_tag(c, r, res);
            {
                const char *n = PQcmdTuples(res);
                if (n && *n)
                    r->affected += strtoll(n, NULL, 10);
            }
            PQclear(r->res);
            r->res = res;
            break;
        default:
            /* COPY inside the pipeline (corio_pg_query("COPY ...")) or a
             * state this code does not know: the protocol position is lost. */
            PQclear(res);
            corio__pg_break(c, "unexpected result");
            return;
        }
    }
}

void corio__pg_pump(corio_pg *c)
{
    if (c->broken || c->excl_granted)
        return;
    send_pending(c);
    if (c->broken)
        return;
    if (c->leader) {
        /* A leader waits on the socket: only it reads.  A read here could
         * complete the leader's own request while it sleeps in the socket
         * wait, which nothing else would end (the answer consumed, the
         * socket quiet). */
        int f = PQflush(c->pq);
        if (f < 0)
            corio__pg_break(c, "flush");
        else
            corio__pg_interest(c, f == 1);
        return;
    }
    int f = PQflush(c->pq);
    if (f < 0 || !PQconsumeInput(c->pq)) {
        corio__pg_break(c, "I/O");
        return;
    }
    dispatch(c);
    corio__pg_collect_notifies(c);
    if (!c->broken && PQstatus(c->pq) == CONNECTION_BAD)
        corio__pg_break(c, "lost");
    if (!c->broken)
        corio__pg_interest(c, PQflush(c->pq) == 1);
}

bool corio__pg_idle(const corio_pg *c)
{
    return !c->infl_head && !c->pend_head && !c->excl_owner && !c->tx_owner;
}

int corio__pg_submit(corio_pg *c, pg_req *r)
{
    if (c->broken)
        return CORIO_EPGCONN;
    /* A checkpoint: a task already cancelled (or past its deadline) sends
     * nothing.  Its answer could otherwise come before the task ever
     * waits (a fast server, a slow or preempted client), and a cancelled
     * task could run query after query without seeing its cancellation.
     * A transaction's end is still sent: it is how a cleanup path leaves
     * the transaction. */
    corio_task *self = corio__self();
    int64_t none = INT64_MAX;
    int rc = self && !r->ends_tx ? corio__interrupt_check(self, &none) : 0;
    if (rc < 0)
        return rc;
    pend_push(c, r);
    corio__pg_waiter_add(c, &r->w);
    r->waiting = true;
    if (c->excl_granted)
        return 0;
    send_pending(c);
    if (c->broken)
        return 0; /* r failed with the rest: await reports it */
    int f = PQflush(c->pq);
    if (f < 0)
        corio__pg_break(c, "flush");
    else
        corio__pg_interest(c, f == 1);
    return 0;
}

/* Queue r without a waiter: nobody reads its answer (DEALLOCATE, a
 * ROLLBACK from a cleanup, a pool's reset); FIFO order still puts it
 * before everything queued later. */
int corio__pg_submit_detached(corio_pg *c, pg_req *r)
{
    if (c->broken) {
        corio__pg_req_free(r);
        return CORIO_EPGCONN;
    }
    r->abandoned = true;
    pend_push(c, r);
    if (c->excl_granted)
        return 0;
    send_pending(c);
    if (c->broken)
        return CORIO_EPGCONN;
    int f = PQflush(c->pq);
    if (f < 0)
        corio__pg_break(c, "flush");
    else
        corio__pg_interest(c, f == 1);
    return 0;
}

/* Queue r without a waiter and without sending it: it goes out with the
 * next request anybody submits on c (one write, one server wake-up), or
 * with the next pump. */
void corio__pg_queue_detached(corio_pg *c, pg_req *r)
{
    r->abandoned = true;
    pend_push(c, r);
}

/* A detached one-statement request run as task `as` (transaction owner). */
int corio__pg_queue_text(corio_pg *c, corio_task *as, const char *sql,
                         bool ends_tx)
{
    pg_req *r = corio__pg_req_new(c, REQ_TEXT);
    if (!r)
        return -ENOMEM;
    snprintf(r->own, sizeof r->own, "%s", sql);
    r->texts[0] = r->own;
    r->ntexts = 1;
    r->task = as;
    r->ends_tx = ends_tx;
    return corio__pg_submit_detached(c, r);
}

/* One step of waiting for w: lead (wait for the socket, then pump) if
 * nobody leads, else sleep until done or poked.  0 or the interruption. */
int corio__pg_wait_io(corio_pg *c, pg_waiter *w)
{
    corio_task *self = corio_task_current();
    bool may_lead = !c->broken && (!c->excl_granted || c->excl_owner == self);
    if (may_lead && !c->leader && !c->excl_granted) {
        c->leader = w;
        int rc = 0;
        /* TLS may hold decrypted bytes the socket no longer signals. */
        if (!(c->ssl && SSL_pending((SSL *)c->ssl) > 0))
            rc = corio_fd_wait(c->epfd, CORIO_READABLE);
        if (c->leader == w)
            c->leader = NULL;
        if (rc < 0)
            return rc;
        corio__pg_pump(c);
        return 0;
    }
    int rc = corio_event_wait(&w->ev);
    corio_event_clear(&w->ev);
    if (rc < 0 && !w->done)
        return rc;
    return 0;
}

/* Wait until r is answered.  Returns r's status with r still the
 * caller's when it was answered (0, CORIO_EPG, CORIO_EPGCONN), or the
 * interruption (-ECANCELED, -ETIMEDOUT, ...) with r taken back and freed.
 * *answered tells which. */
int corio__pg_await_answer(corio_pg *c, pg_req *r, bool *answered)
{
    *answered = false;
    while (!r->w.done) {
        int rc = corio__pg_wait_io(c, &r->w);
        if (rc < 0)
            return corio__pg_take_back(c, r, rc);
    }
    r->waiting = false;
    corio__pg_waiter_del(c, &r->w);
    *answered = true;
    return corio__pg_req_finish(c, r);
}

/* Wait until r is answered.  Returns 0 with r still the caller's, or an
 * error with r freed (answered with an error, or taken back after the
 * wait failed: -ECANCELED, -ETIMEDOUT, -ENOMEM, ...). */
int corio__pg_await(corio_pg *c, pg_req *r)
{
    bool answered;
    int rc = corio__pg_await_answer(c, r, &answered);
    if (rc < 0 && answered)
        corio__pg_req_free(r);
    return rc;
}

void corio_pg_close(corio_pg *c)
{
    if (!c)
        return;
    if (c->pool) { /* a pooled connection goes back to its pool */
        corio_pg_pool_release(c->pool, c);
        return;
    }
    corio__pg_destroy(c);
}

void corio__pg_destroy(corio_pg *c)
{
    corio__pg_break(c, "closed");
    /* corio watched epfd: closing it behind corio's back would leave a
     * stale registration for the next descriptor with the same number. */
    if (c->epfd >= 0 && corio_fd_close(c->epfd) < 0)
        close(c->epfd);
    PQfinish(c->pq);
    corio__pg_stmt_free_all(c);
    corio__pg_notices_free(c);
    free(c->err_store);
    free(c);
}

void corio_pg_cleanup(corio_pg **c)
{
    if (c && *c) {
        corio_pg_close(*c);
        *c = NULL;
    }
}

int corio_pg_ok(const corio_pg *c)
{
    return c && !c->broken && PQstatus(c->pq) == CONNECTION_OK;
}

int corio_pg_backend_pid(const corio_pg *c)
{
    return c ? PQbackendPID(c->pq) : 0;
}

void *corio_pg_libpq(corio_pg *c)
{
    return c ? c->pq : NULL;
}
