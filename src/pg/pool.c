/* pg/pool.c — a pool of connections (asyncpg.Pool), leased exclusively
 * (acquire/release) or shared (pool_query, pool_batch_send).
 *
 * A semaphore of max_size permits orders the acquirers (FIFO, and
 * cancel-safe: a permit handed to a task in the tick it is cancelled is
 * kept by it, never lost).  A permit is the right to hold one connection:
 *
 *   size = in_use + shared + idle + resetting <= max_size
 *
 * so a permit holder who finds nothing idle or resetting may always open a
 * new connection.  Release never suspends and gives the permit back.
 *
 * A shared connection holds its permit while any shared request is on it
 * (c->shared_n); concurrent shared requests pipeline on it (conn.c does
 * the pipelining, as for tasks sharing any connection), and the last one
 * out gives it back like a release.  Shared requests that find no room
 * wait on the pool's room list, not on the semaphore, and none joins a
 * shared connection while an acquirer queues: the acquirer cannot starve.
 *
 * The reset (pg.h: corio_pg_reset_mode; by default asyncpg's, plus
 * DEALLOCATE ALL when the lease prepared statements of its own, and with
 * CORIO_PG_RESET_USED only what the lease's command tags show it touched)
 * costs no round trip in the common case: a
 * connection released with nothing in flight and outside any transaction
 * goes straight to the idle list marked reset_due, and its next acquirer
 * queues the reset unsent, so it leaves in the same write as that
 * acquirer's first request and the server runs it first.  The reset cannot
 * fail on such a connection for anything the last lease did (no
 * transaction is open, and RESET ALL runs first, restoring search_path and
 * statement_timeout before the other statements); if it fails all the same
 * (a server-side cancel, a lost connection) the connection breaks and
 * every request behind it fails with CORIO_EPGCONN, so no answer computed
 * in the old session state reaches the new user.
 *
 * A connection released otherwise (a transaction left open, requests still
 * in flight after a cancellation) gets its ROLLBACK and reset queued and
 * sent now and parks on the resetting list; an acquirer drives it until
 * the server has answered everything sent on it (if interrupted, it goes
 * back untouched), and a connection still inside a transaction after that
 * is closed.  So a connection is never handed out mid-protocol, and a
 * cancelled acquire holds nothing. */
#include "pg/pg_int.h"

#include <sys/socket.h>

/* A shared request waiting for room (share_begin). */
typedef struct room_waiter {
    corio_event ev;
    struct room_waiter *next;
} room_waiter;

struct corio_pg_pool {
    char *conninfo;
    corio_pg_pool_opts o;
    corio_sem sem;
    corio_pg *idle, *resetting, *shared; /* lists through pool_next */
    int size, nidle, nresetting, nshared, in_use, waiters;
    int inside;        /* tasks suspended in take(): their stacks hold p */
    room_waiter *room; /* shared requests waiting, oldest first */
    int nroom;
    int64_t opened, closed;
    bool freed;
};

/* The reset for c under the pool's mode (pg.h: corio_pg_reset_mode), its
 * statements in this order: RESET ALL first, so search_path and
 * statement_timeout are the defaults when the others run.  Statements the
 * lease prepared by name (or a DISCARD / DEALLOCATE that emptied the
 * server's side of the statement cache) are dropped with DEALLOCATE ALL in
 * every mode, and the cache forgets its own with them (c is idle: none of
 * its Parses is in flight).  Returns 1 with *out set, 0 when nothing needs
 * resetting, or -ENOMEM. */
static int reset_req(corio_pg_pool *p, corio_pg *c, pg_req **out)
{
    bool all = p->o.reset == CORIO_PG_RESET_ALL;
    bool used = p->o.reset == CORIO_PG_RESET_USED;
    unsigned u = c->used;
    const char *sql[5];
    int n = 0;
    if (all || (used && (u & USED_SET)))
        sql[n++] = "RESET ALL";
    if (all)
        sql[n++] = "SELECT pg_advisory_unlock_all()";
    if (all || (used && (u & USED_CURSOR)))
        sql[n++] = "CLOSE ALL";
    if (all || (used && (u & USED_LISTEN)))
        sql[n++] = "UNLISTEN *";
    if (u & USED_PREPARE)
        sql[n++] = "DEALLOCATE ALL";
    *out = NULL;
    if (n == 0)
        return 0;
    pg_req *r = corio__pg_req_new(c, REQ_TEXT);
    if (!r)
        return -ENOMEM;
    memcpy(r->texts, sql, (size_t)n * sizeof *sql);
    r->ntexts = n;
    if (u & USED_PREPARE)
        corio__pg_stmt_free_all(c);
    c->used = 0;
    r->task = NULL;
    r->must_succeed = true;
    *out = r;
    return 1;
}

/* Whether c may be handed out once what was sent on it is answered: a
 * connection still in a transaction (a BEGIN sent as plain SQL and left
 * open) would give its next user the last one's transaction. */
static bool settled(corio_pg *c)
{
    return !c->broken && PQtransactionStatus(c->pq) == PQTRANS_IDLE;
}

static void discard(corio_pg_pool *p, corio_pg *c)
{
    c->pool = NULL;
    corio__pg_destroy(c);
    p->size--;
    p->closed++;
}

static corio_pg *list_pop(corio_pg **head)
{
    corio_pg *c = *head;
    if (c) {
        *head = c->pool_next;
        c->pool_next = NULL;
    }
    return c;
}

static void list_push(corio_pg **head, corio_pg *c)
{
    c->pool_next = *head;
    *head = c;
}

/* Whether c has served its time (lifetime, queries), idle or not. */
static bool worn(corio_pg_pool *p, corio_pg *c, int64_t now)
{
    return (p->o.max_lifetime_ns > 0 && now - c->born > p->o.max_lifetime_ns) ||
           (p->o.max_queries > 0 && c->uses >= p->o.max_queries);
}

static bool expired(corio_pg_pool *p, corio_pg *c, int64_t now)
{
    return worn(p, c, now) ||
           (p->o.max_idle_ns > 0 && now - c->idle_since > p->o.max_idle_ns);
}

/* Move resetting connections that are done (or broken) on. */
static void sweep_resetting(corio_pg_pool *p)
{
    corio_pg **pp = &p->resetting;
    while (*pp) {
        corio_pg *c = *pp;
        corio__pg_pump(c); /* non-blocking: reads what has arrived */
        if (c->broken || corio__pg_idle(c)) {
            *pp = c->pool_next;
            c->pool_next = NULL;
            p->nresetting--;
            if (!settled(c)) {
                discard(p, c);
            } else {
                c->idle_since = corio_now();
                list_push(&p->idle, c);
                p->nidle++;
            }
        } else {
            pp = &c->pool_next;
        }
    }
}

/* Drive c until everything sent on it is answered.  0, or the interruption
 * (c untouched, still resetting), or CORIO_EPGCONN. */
static int drive(corio_pg *c)
{
    pg_waiter w;
    memset(&w, 0, sizeof w);
    corio_event_init(&w.ev);
    corio__pg_waiter_add(c, &w);
    int rc = 0;
    while (!c->broken && !corio__pg_idle(c)) {
        w.done = false;
        if ((rc = corio__pg_wait_io(c, &w)) < 0)
            break;
    }
    corio__pg_waiter_del(c, &w);
    corio_event_destroy(&w.ev);
    if (rc == 0 && c->broken)
        rc = CORIO_EPGCONN;
    return rc;
}

/* Health check of an idle connection, without a round trip: read what the
 * server sent meanwhile (a FATAL from pg_terminate_backend, a shutdown),
 * then peek for the end of the stream libpq has not looked at yet. */
static bool alive(corio_pg *c)
{
    corio__pg_pump(c);
    if (c->broken)
        return false;
    char b;
    ssize_t n = corio__sys.recvfrom(c->sock, &b, 1, MSG_PEEK | MSG_DONTWAIT,
                                    NULL, NULL);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        corio__pg_break(c, "closed while idle");
        return false;
    }
    if (n > 0) {
        corio__pg_pump(c);
        if (!c->broken &&
            corio__sys.recvfrom(c->sock, &b, 1, MSG_PEEK | MSG_DONTWAIT, NULL,
                                NULL) == 0)
            corio__pg_break(c, "closed while idle");
    }
    return !c->broken;
}

static int open_one(corio_pg_pool *p, corio_pg **out)
{
    corio_pg *c;
    int rc = corio_pg_connect_ex(&c, p->conninfo, &p->o.conn);
    if (rc < 0)
        return rc;
    p->size++;
    p->opened++;
    if (p->o.init && (rc = p->o.init(p->o.hook_arg, c)) < 0) {
        discard(p, c);
        return rc;
    }
    *out = c;
    return 0;
}

int corio_pg_pool_new(corio_pg_pool **out, const char *conninfo,
                      const corio_pg_pool_opts *o)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!conninfo)
        return -EINVAL;
    corio_pg_pool *p = pg_calloc(1, sizeof *p);
    if (!p || !(p->conninfo = pg_strdup(conninfo))) {
        free(p);
        return -ENOMEM;
    }
    if (o)
        p->o = *o;
    if (p->o.max_size <= 0)
        p->o.max_size = 10;
    if (p->o.min_size > p->o.max_size)
        p->o.min_size = p->o.max_size;
    if (!p->o.max_idle_ns)
        p->o.max_idle_ns = 300 * CORIO_SECOND;
    if (!p->o.max_lifetime_ns)
        p->o.max_lifetime_ns = 3600 * CORIO_SECOND;
    if (!p->o.max_queries)
        p->o.max_queries = 50000;
    if (p->o.max_pipeline <= 0)
        p->o.max_pipeline = 64;
    corio_sem_init(&p->sem, p->o.max_size);
    for (int i = 0; i < p->o.min_size; i++) {
        corio_pg *c;
        int rc = open_one(p, &c);
        if (rc < 0) {
            corio_pg_pool_free(p);
            return rc;
        }
        c->pool = p;
        list_push(&p->idle, c);
        p->nidle++;
    }
    *out = p;
    return 0;
}

/* Something changed that may give a waiting shared request room (a permit
 * came back, a shared request ended, no acquirer queues any more): wake
 * them all, oldest first, to look again.  Only shared requests beyond the
 * cap or behind a queued acquirer ever wait here. */
static void room_wake(corio_pg_pool *p)
{
    for (room_waiter *w = p->room; w; w = w->next)
        corio_event_set(&w->ev);
    p->room = NULL;
}

static void pool_dealloc(corio_pg_pool *p)
{
    corio_sem_destroy(&p->sem);
    free(p->conninfo);
    free(p);
}

static void dealloc_if_unused(corio_pg_pool *p)
{
    if (p->freed && p->in_use == 0 && p->nshared == 0 && p->nroom == 0 &&
        p->waiters == 0 && p->inside == 0)
        pool_dealloc(p);
}

void corio_pg_pool_free(corio_pg_pool *p)
{
    if (!p)
        return;
    corio_pg *c;
    while ((c = list_pop(&p->idle))) {
        p->nidle--;
        discard(p, c);
    }
    while ((c = list_pop(&p->resetting))) {
        p->nresetting--;
        discard(p, c);
    }
    p->freed = true;
    /* Acquirers waiting for a permit wake with one and find the pool
     * freed (permits given back by connections still out never come:
     * those are closed on release). */
    for (int i = 0; i < p->waiters; i++)
        corio_sem_release(&p->sem);
    room_wake(p);
    dealloc_if_unused(p);
}

/* Wait (FIFO) for a permit, as an acquirer: while one queues, no shared
 * request pipelines onto a shared connection (share_begin), so they drain
 * and come back. */
static int permit_wait(corio_pg_pool *p)
{
    p->waiters++;
    int rc = corio_sem_acquire(&p->sem);
    if (--p->waiters == 0)
        room_wake(p);
    return rc;
}

/* With a permit held: an idle connection (its reset queued), else a
 * resetting one driven until answered, else a new one.  On failure the
 * permit is given back. */
static int take(corio_pg_pool *p, corio_pg **out)
{
    corio_pg *c = NULL;
    int64_t now = corio_now();
    int rc;
    for (;;) {
        sweep_resetting(p);
        c = list_pop(&p->idle);
        if (c) {
            p->nidle--;
            if (c->broken || expired(p, c, now) || !alive(c)) {
                discard(p, c);
                c = NULL;
                continue;
            }
            if (c->reset_due) {
                pg_req *r;
                if (reset_req(p, c, &r) < 0) {
                    discard(p, c);
                    corio_sem_release(&p->sem);
                    return -ENOMEM;
                }
                if (r)
                    corio__pg_queue_detached(c, r);
                c->reset_due = false;
            }
            break;
        }
        c = list_pop(&p->resetting);
        if (c) {
            p->nresetting--;
            rc = drive(c);
            if (rc == 0 && settled(c))
                break;
            if (rc == 0 || rc == CORIO_EPGCONN) {
                discard(p, c);
                c = NULL;
                continue;
            }
            list_push(&p->resetting, c); /* interrupted: still resetting */
            p->nresetting++;
            corio_sem_release(&p->sem);
            return rc;
        }
        c = NULL;
        rc = open_one(p, &c);
        if (rc < 0) {
            corio_sem_release(&p->sem);
            return rc;
        }
        break;
    }
    c->pool = p;
    c->uses++;
    *out = c;
    return 0;
}

/* c comes back from its user (the in_use or shared count already taken
 * off): to the idle list, to the resetting list, or closed; the permit is
 * given back.  Never suspends. */
static void give_back(corio_pg_pool *p, corio_pg *c)
{
    if (p->freed) {
        discard(p, c);
        dealloc_if_unused(p);
        return;
    }
    int64_t now = corio_now();
    /* Statements prepared by name while requests are still in flight: the
     * cache cannot be dropped under them, and the server's copies must go,
     * so the connection goes (rare: a cancelled lease that prepared). */
    bool busy_prepared =
        (c->used & USED_PREPARE) && (c->infl_head || c->pend_head);
    /* Worn, not expired: max_idle_ns counts time on the idle list (take
     * checks it), not a long lease or a long stretch of shared use. */
    if (c->broken || c->excl_owner || busy_prepared || worn(p, c, now)) {
        discard(p, c);
        corio_sem_release(&p->sem);
        room_wake(p);
        return;
    }
    corio__pg_notices_free(c);
    c->idle_since = now;
    if (corio__pg_idle(c) && settled(c)) {
        c->reset_due = true;
        list_push(&p->idle, c);
        p->nidle++;
        corio_sem_release(&p->sem);
        room_wake(p);
        return;
    }
    /* A transaction left open (its task was cancelled, or forgot, or sent
     * BEGIN as plain SQL): roll it back ahead of everything queued later. */
    if (c->tx_owner || corio__pg_idle(c)) {
        c->tx_depth = 0;
        (void)corio__pg_queue_text(c, c->tx_owner, "ROLLBACK", !!c->tx_owner);
    }
    pg_req *r = NULL;
    if (!c->broken && reset_req(p, c, &r) < 0)
        corio__pg_break(c, "no memory for the reset");
    if (r)
        (void)corio__pg_submit_detached(c, r);
    if (c->broken) {
        discard(p, c);
    } else {
        list_push(&p->resetting, c);
        p->nresetting++;
    }
    corio_sem_release(&p->sem);
    room_wake(p);
}

/* take() for a pool that may be freed while it suspends (connecting, or
 * driving a connection's reset): the pool outlives the call, and a
 * connection taken from a pool freed meanwhile is closed (-ESHUTDOWN).  If
 * p->freed afterwards, the caller calls dealloc_if_unused once done with
 * p. */
static int take_guarded(corio_pg_pool *p, corio_pg **out)
{
    p->inside++;
    int rc = take(p, out);
    p->inside--;
    if (!p->freed)
        return rc;
    if (rc == 0) {
        discard(p, *out);
        *out = NULL;
    }
    return rc < 0 ? rc : -ESHUTDOWN;
}

int corio_pg_pool_acquire(corio_pg_pool *p, corio_pg **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!p)
        return -EINVAL;
    if (p->freed)
        return -ESHUTDOWN;
    corio_pg *c;
    int rc = permit_wait(p);
    if (p->freed) { /* woken by corio_pg_pool_free */
        dealloc_if_unused(p);
        return rc < 0 ? rc : -ESHUTDOWN;
    }
    if (rc < 0)
        return rc;
    if ((rc = take_guarded(p, &c)) < 0) {
        if (p->freed)
            dealloc_if_unused(p);
        return rc;
    }
    p->in_use++;
    if (p->o.setup && (rc = p->o.setup(p->o.hook_arg, c)) < 0) {
        corio_pg_pool_release(p, c);
        return rc;
    }
    *out = c;
    return 0;
}

void corio_pg_pool_release(corio_pg_pool *p, corio_pg *c)
{
    if (!c || !p || c->pool != p || c->shared_n > 0)
        return;
    p->in_use--;
    give_back(p, c);
}

/* The shared connection with the fewest requests in flight that may take
 * one more: not lost, not worn out (so that it drains and retires), under
 * the cap.  NULL if none. */
static corio_pg *least_loaded(corio_pg_pool *p)
{
    int64_t now = corio_now();
    corio_pg *best = NULL;
    for (corio_pg *c = p->shared; c; c = c->pool_next)
        if (!c->broken && c->shared_n < p->o.max_pipeline && !worn(p, c, now) &&
            (!best || c->shared_n < best->shared_n))
            best = c;
    return best;
}

/* Wait until room_wake.  0, or the interruption. */
static int room_wait(corio_pg_pool *p)
{
    room_waiter w = {.next = NULL};
    corio_event_init(&w.ev);
    room_waiter **pp = &p->room;
    while (*pp)
        pp = &(*pp)->next;
    *pp = &w;
    p->nroom++;
    int rc = corio_event_wait(&w.ev);
    p->nroom--;
    if (!corio_event_is_set(&w.ev)) { /* interrupted: still listed */
        for (pp = &p->room; *pp != &w; pp = &(*pp)->next)
            ;
        *pp = w.next;
    }
    corio_event_destroy(&w.ev);
    return rc;
}

/* A connection for one shared request, counted in c->shared_n until
 * share_end.  A free permit takes an idle connection or opens one; else
 * the request pipelines on the least loaded shared connection; else (every
 * one at the cap, none yet, or an acquirer queued, who must not starve
 * behind a stream of shared requests) it waits for room and looks again.
 * While it opens a connection, it is in nobody's count but the permit's,
 * so the requests after it wait for room rather than open more. */
static int share_begin(corio_pg_pool *p, corio_pg **out)
{
    if (!p)
        return -EINVAL;
    corio_pg *c = NULL;
    int rc;
    for (;;) {
        if (p->freed) {
            dealloc_if_unused(p); /* the last waiter out frees it */
            return -ESHUTDOWN;
        }
        if (p->waiters == 0 && corio_sem_try_acquire(&p->sem) == 0)
            break;
        if (p->waiters == 0 && (c = least_loaded(p))) {
            c->shared_n++;
            c->uses++;
            *out = c;
            return 0;
        }
        if ((rc = room_wait(p)) < 0)
            return rc;
    }
    if ((rc = take_guarded(p, &c)) < 0) {
        if (p->freed) {
            dealloc_if_unused(p);
            return rc;
        }
        room_wake(p); /* the permit came back */
        return rc;
    }
    c->shared_n = 1; /* setup's own queries must not see the pool take it */
    p->inside++;     /* setup may suspend; p must outlive it */
    rc = p->o.setup ? p->o.setup(p->o.hook_arg, c) : 0;
    p->inside--;
    if (rc < 0 || p->freed) {
        c->shared_n = 0;
        give_back(p, c); /* closes c if p was freed, and frees p if unused */
        return rc < 0 ? rc : -ESHUTDOWN;
    }
    list_push(&p->shared, c);
    p->nshared++;
    room_wake(p);
    *out = c;
    return 0;
}

/* The end of one shared request: the last one gives the connection back. */
static void share_end(corio_pg_pool *p, corio_pg *c)
{
    if (--c->shared_n > 0) {
        room_wake(p);
        return;
    }
    corio_pg **pp = &p->shared;
    while (*pp != c)
        pp = &(*pp)->pool_next;
    *pp = c->pool_next;
    c->pool_next = NULL;
    p->nshared--;
    give_back(p, c);
}

int corio_pg_pool_query(corio_pg_pool *p, const char *sql,
                        const char *const *params, int nparams,
                        corio_pg_result **out)
{
    if (out)
        *out = NULL;
    corio_pg *c;
    int rc = share_begin(p, &c);
    if (rc < 0)
        return rc;
    rc = corio_pg_query(c, sql, params, nparams, out);
    share_end(p, c);
    return rc;
}

int corio_pg_pool_batch_send(corio_pg_pool *p, corio_pg_batch *b)
{
    if (!b)
        return -EINVAL;
    corio_pg *c;
    int rc = share_begin(p, &c);
    if (rc < 0)
        return rc;
    rc = corio_pg_batch_send(c, b);
    share_end(p, c);
    return rc;
}

void corio_pg_pool_stats_get(const corio_pg_pool *p, corio_pg_pool_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!p)
        return;
    st->size = p->size;
    st->idle = p->nidle;
    st->in_use = p->in_use;
    st->resetting = p->nresetting;
    st->shared = p->nshared;
    st->waiters = p->waiters + p->nroom;
    st->opened = p->opened;
    st->closed = p->closed;
}

corio_pg_pool_conn corio_pg_pool_conn_start(corio_pg_pool *p)
{
    corio_pg_pool_conn pc = {p, NULL, 0};
    pc.rc = corio_pg_pool_acquire(p, &pc.c);
    return pc;
}

void corio_pg_pool_conn_cleanup(corio_pg_pool_conn *pc)
{
    if (pc && pc->c) {
        corio_pg_pool_release(pc->p, pc->c);
        pc->c = NULL;
    }
}
