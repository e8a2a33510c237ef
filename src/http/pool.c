/* http/pool.c — the session's connections, per origin:
 *   acquire   an idle connection of the origin (most recently used first,
 *             the least likely to have been closed by the server), else a
 *             new one while under max_connections and max_per_host (an idle
 *             connection of another origin is closed to make room), else
 *             wait in the session's FIFO of waiters;
 *   release   hand the connection to the first waiter of its origin, or
 *             keep it idle, or close it and give its slot to the first
 *             waiter the slot can serve;
 *   expiry    one loop timer per session fires at the earliest idle expiry
 *             and closes what has expired.
 * A waiter is served by hand-off (sync/waitq.h): the connection, or the
 * slot already counted for it, is its own when it wakes, so a waiter
 * cancelled at that moment can never lose it. */
#include "http/session.h"

#include "os/sys.h"

#include <stdlib.h>
#include <string.h>

#define SESSION_OF_TIMER(t)                                                    \
    ((corio_http_session *)((char *)(t)-offsetof(corio_http_session,           \
                                                 idle_timer)))

static corio__http_origin *origin_find(corio_http_session *s,
                                       const corio_url *u)
{
    for (corio__http_origin *o = s->origins; o; o = o->next)
        if (o->port == u->port && o->tls == !!u->tls &&
            strlen(o->host) == u->host.n &&
            corio__http_str_eq(u->host, o->host))
            return o;
    return NULL;
}

static int origin_get(corio_http_session *s, const corio_url *u,
                      corio__http_origin **out)
{
    corio__http_origin *o = origin_find(s, u);
    if (!o) {
        o = corio__sys.calloc(1, sizeof *o + u->host.n + 1);
        if (!o)
            return -ENOMEM;
        memcpy(o->host, u->host.p, u->host.n);
        o->port = u->port;
        o->tls = !!u->tls;
        o->next = s->origins;
        s->origins = o;
    }
    *out = o;
    return 0;
}

/* An origin with nothing open and nobody waiting is dropped, so a session
 * that visits many hosts does not grow. */
static void origin_trim(corio_http_session *s, corio__http_origin *o)
{
    if (o->nopen || o->nwait)
        return;
    for (corio__http_origin **p = &s->origins; *p; p = &(*p)->next)
        if (*p == o) {
            *p = o->next;
            free(o);
            return;
        }
}

static void idle_unlink(corio__http_conn *c)
{
    corio__http_origin *o = c->o;
    if (c->prev)
        c->prev->next = c->next;
    else
        o->idle = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        o->idle_tail = c->prev;
    c->prev = c->next = NULL;
}

/* Close c and forget it; its slot is free afterwards (the caller passes it
 * on). */
static void conn_close(corio_http_session *s, corio__http_conn *c)
{
    corio_stream_close(c->s);
    c->o->nopen--;
    s->nopen--;
    free(c);
}

/* Give a free slot to the first waiter it can serve: one whose origin is
 * under max_per_host (the total is under max_connections by now).  The
 * slot is counted for the waiter before it wakes. */
static void slot_pass(corio_http_session *s)
{
    if (s->nopen >= s->o.max_connections)
        return;
    for (corio__waiter *w = s->waiters.head; w; w = w->next) {
        corio__http_origin *o = w->owner;
        if (o->nopen < s->o.max_per_host) {
            o->nopen++;
            s->nopen++;
            w->item = NULL;
            corio__waitq_remove(w);
            corio__wake(w->task, 0);
            return;
        }
    }
}

static void idle_fire(corio__timer *t)
{
    corio_http_session *s = SESSION_OF_TIMER(t);
    int64_t now = corio_now(), next = INT64_MAX;
    for (corio__http_origin *o = s->origins, *on; o; o = on) {
        on = o->next;
        while (o->idle_tail && o->idle_tail->expires <= now) {
            corio__http_conn *c = o->idle_tail;
            idle_unlink(c);
            conn_close(s, c);
            slot_pass(s);
        }
        if (o->idle_tail && o->idle_tail->expires < next)
            next = o->idle_tail->expires;
        origin_trim(s, o);
    }
    if (next != INT64_MAX)
        corio__timer_arm(&s->loop->timers, &s->idle_timer, next);
}

/* Close the oldest idle connection of any origin, to make room under
 * max_connections.  Returns whether there was one. */
static bool evict_one(corio_http_session *s)
{
    corio__http_conn *oldest = NULL;
    for (corio__http_origin *o = s->origins; o; o = o->next)
        if (o->idle_tail &&
            (!oldest || o->idle_tail->expires < oldest->expires))
            oldest = o->idle_tail;
    if (!oldest)
        return false;
    idle_unlink(oldest);
    conn_close(s, oldest);
    return true;
}

/* Open a connection to u's origin; a TLS failure's reason goes to detail
 * (may be NULL). */
static int dial(corio_http_session *s, corio_stream **out, const corio_url *u,
                corio_error_detail *detail)
{
    int rc;
    if (s->o.connect_timeout_ns > 0) {
        rc = corio_timeout_begin(s->o.connect_timeout_ns);
        if (rc < 0)
            return rc;
    }
    if (s->o.dial) {
        rc = s->o.dial(out, u, s->o.dial_arg);
    } else {
        corio_stream_opts so = {0};
        so.read_buffer =
            s->o.limits.max_head > (64u << 10) ? s->o.limits.max_head : 0;
        rc = corio__http_dial_url(out, u, &so, s->o.tls, detail);
    }
    /* A deadline that passed just as the dial finished does not undo it:
     * the connection is made, so keep it. */
    if (s->o.connect_timeout_ns > 0)
        (void)corio_timeout_end();
    if (rc < 0)
        *out = NULL;
    return rc;
}

int corio__http_pool_acquire(corio_http_session *s, const corio_url *u,
                             corio__http_conn **out, corio_error_detail *detail)
{
    corio__http_origin *o;
    int rc = origin_get(s, u, &o);
    *out = NULL;
    if (rc < 0)
        return rc;
    int64_t now = corio_now();
    while (o->idle) {
        corio__http_conn *c = o->idle;
        idle_unlink(c);
        if (c->expires > now) {
            *out = c;
            return 0;
        }
        conn_close(s, c); /* expired; its timer has not run yet */
        slot_pass(s);
    }
    /* Waiters of this origin come first; a waiter of another origin only
     * waits while max_connections is reached with no idle connection to
     * evict (release() gives slots to such waiters before idling). */
    if (!o->nwait && o->nopen < s->o.max_per_host &&
        (s->nopen < s->o.max_connections || evict_one(s))) {
        o->nopen++;
        s->nopen++;
    } else {
        corio__waiter w;
        w.owner = o;
        w.item = NULL;
        o->nwait++;
        rc = corio__waitq_park(&s->waiters, &w, "http pool", NULL);
        o->nwait--;
        if (rc < 0) {
            origin_trim(s, o);
            return rc;
        }
        if (w.item) { /* an idle connection handed over */
            *out = w.item;
            return 0;
        }
        /* else a slot was counted for us */
    }
    corio__http_conn *c = corio__sys.calloc(1, sizeof *c);
    if (!c) {
        rc = -ENOMEM;
    } else {
        c->o = o;
        rc = dial(s, &c->s, u, detail);
        if (rc == 0) {
            *out = c;
            return 0;
        }
        free(c);
    }
    o->nopen--;
    s->nopen--;
    slot_pass(s);
    origin_trim(s, o);
    return rc;
}

int corio__http_pool_redial(corio_http_session *s, corio__http_conn *c,
                            const corio_url *u, corio_error_detail *detail)
{
    corio_stream_close(c->s);
    c->used = 0;
    int rc = dial(s, &c->s, u, detail);
    if (rc < 0) {
        corio__http_origin *o = c->o;
        c->o->nopen--;
        s->nopen--;
        free(c);
        slot_pass(s);
        origin_trim(s, o);
    }
    return rc;
}

void corio__http_pool_release(corio_http_session *s, corio__http_conn *c,
                              bool reusable)
{
    corio__http_origin *o = c->o;
    if (reusable && !s->freed && s->o.idle_timeout_ns >= 0) {
        /* The first waiter of this origin takes it as it is. */
        for (corio__waiter *w = s->waiters.head; w; w = w->next)
            if (w->owner == o) {
                w->item = c;
                corio__waitq_remove(w);
                corio__wake(w->task, 0);
                return;
            }
        /* A waiter of another origin held back by max_connections needs
         * the slot more than this origin needs an idle connection. */
        bool needed = false;
        if (s->nopen >= s->o.max_connections)
            for (corio__waiter *w = s->waiters.head; w && !needed; w = w->next)
                needed =
                    ((corio__http_origin *)w->owner)->nopen < s->o.max_per_host;
        if (!needed) {
            c->expires = corio_now() + s->o.idle_timeout_ns;
            c->prev = NULL;
            c->next = o->idle;
            if (o->idle)
                o->idle->prev = c;
            else
                o->idle_tail = c;
            o->idle = c;
            if (s->idle_timer.idx == CORIO__NOT_ARMED) {
                s->loop = corio__cur;
                s->idle_timer.fire = idle_fire;
                if (corio__timer_arm(&s->loop->timers, &s->idle_timer,
                                     c->expires) < 0) {
                    /* No memory for the timer: do not keep a connection
                     * nothing would expire. */
                    idle_unlink(c);
                    conn_close(s, c);
                    slot_pass(s);
                    origin_trim(s, o);
                }
            }
            return;
        }
    }
    conn_close(s, c);
    slot_pass(s);
    origin_trim(s, o);
}

void corio__http_pool_close_idle(corio_http_session *s)
{
    for (corio__http_origin *o = s->origins, *on; o; o = on) {
        on = o->next;
        while (o->idle) {
            corio__http_conn *c = o->idle;
            idle_unlink(c);
            conn_close(s, c);
        }
        origin_trim(s, o);
    }
    if (s->idle_timer.idx != CORIO__NOT_ARMED && s->loop == corio__cur)
        corio__timer_disarm(&s->loop->timers, &s->idle_timer);
}

void corio__http_pool_free(corio_http_session *s)
{
    corio__http_pool_close_idle(s);
    while (s->origins) {
        corio__http_origin *o = s->origins;
        s->origins = o->next;
        free(o);
    }
}
