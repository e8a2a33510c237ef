/* sync/select.c — corio_select: take exactly one of several queue, channel,
 * event and join cases, or time out at a deadline.
 *
 * One pass of the loop below:
 *
 *   1. try  every case in index order without waiting (the queue's and
 *           channel's try_ operations, the event's flag, the task's state);
 *           the first that does not say "would wait" is taken, and the call
 *           returns.  So a ready case is taken even by a cancelled caller,
 *           and a case ready at the deadline is taken rather than timing
 *           out.
 *   2. arm  a waiter record per case: a corio__waiter linked on the queue's
 *           getters or putters or on the event's waiters (w->sel set), a
 *           channel waiter (sync/chan_wait.h), or the task's joiner.
 *   3. park once, on one wait whose `until` is the deadline.
 *   4. disarm whatever is still linked, and wait for channel kicks still
 *           on their way (their posts point at our records).
 *
 * Two kinds of wake-up end the park:
 *
 *   a grant  a queue or event serves one of our waiters (hands it an item,
 *           takes its item, is set, shut down or destroyed).  The waitq
 *           calls corio__select_granted, which records the case as won and
 *           unlinks every other record in the same step, before waking
 *           the task: no second object can serve the same select, so one
 *           case is taken and the rest are untouched.  A grant in the tick
 *           of an interruption is kept (the task is no longer parked, so
 *           the interruption does not reach it) and returned as success.
 *   a look   a channel kick, a joined task ending, or the deadline's timer:
 *           nothing was taken, so the next pass tries again.
 *
 * An interruption (cancel, enclosing scope) runs select_cancel, which
 * unlinks every record, so nothing can be granted afterwards: on
 * -ECANCELED / -ETIMEDOUT nothing was taken.
 *
 * Channels are entered (counted inside) for the whole call, so a
 * corio_chan_free meanwhile leaves the memory to us and our tries see
 * -EBADF. */
#include "sync/chan_wait.h"
#include "sync/waitq.h"

#include <stdlib.h>

#define INLINE_CASES 8

typedef struct sel sel;

/* One case's waiter records; only the one its op uses is linked. */
typedef struct rec {
    corio__waiter qw;      /* queue or event case */
    corio__chan_waiter cw; /* channel case */
    sel *s;
    size_t index;
    bool chan_armed; /* cw was set up in this pass */
} rec;

struct sel {
    corio__wait w; /* first: the scheduler hands back &w */
    corio_select_case *cases;
    rec *r;
    size_t n;
    corio_task *task;
    size_t won; /* the case a grant served, n: none */
    int won_value;
};

static bool is_chan(int op)
{
    return op == CORIO_SELECT_CHAN_GET || op == CORIO_SELECT_CHAN_PUT;
}

/* Unlink every record but `except` (n: all).  Loop thread. */
static void disarm_all(sel *s, size_t except)
{
    for (size_t i = 0; i < s->n; i++) {
        corio_select_case *c = &s->cases[i];
        rec *r = &s->r[i];
        if (i == except)
            continue;
        switch (c->op) {
        case CORIO_SELECT_QUEUE_GET:
        case CORIO_SELECT_QUEUE_PUT:
        case CORIO_SELECT_EVENT:
            corio__waitq_remove(&r->qw); /* no-op unless linked */
            break;
        case CORIO_SELECT_CHAN_GET:
        case CORIO_SELECT_CHAN_PUT:
            if (r->chan_armed)
                corio__chan_disarm(&r->cw);
            break;
        case CORIO_SELECT_JOIN: {
            corio_task *t = c->obj;
            if (t->joiner == s->task)
                t->joiner = NULL;
            break;
        }
        }
    }
}

void corio__select_granted(corio__waiter *w, int value)
{
    rec *r = w->sel;
    sel *s = r->s;
    /* The other records were unlinked by the first grant, so none can be
     * served twice; a grant finding a winner would be a corio bug. */
    if (s->won == s->n) {
        s->won = r->index;
        s->won_value = value;
        disarm_all(s, r->index);
    }
    corio__wake(s->task, 0);
}

static bool select_cancel(corio__wait *w, corio_task *t, int code)
{
    (void)t, (void)code;
    sel *s = (sel *)w;
    disarm_all(s, s->n);
    return true;
}

static int check_case(const corio_select_case *c, corio_task *self)
{
    if (!c->obj)
        return -EINVAL;
    switch (c->op) {
    case CORIO_SELECT_QUEUE_GET:
    case CORIO_SELECT_QUEUE_PUT:
    case CORIO_SELECT_CHAN_GET:
    case CORIO_SELECT_CHAN_PUT:
        return 0;
    case CORIO_SELECT_EVENT:
        return corio__event_waitq(c->obj) ? 0 : -EINVAL;
    case CORIO_SELECT_JOIN: {
        int rc = corio__join_check(c->obj, self);
        /* A handle handed to a corio_gather or corio_wait_any under way
         * is theirs to release. */
        return rc == 0 && ((corio_task *)c->obj)->gathered ? -EINVAL : rc;
    }
    default:
        return -EINVAL;
    }
}

/* Try case c without waiting: -EAGAIN, or its outcome (case taken). */
static int try_case(corio_select_case *c)
{
    void *item;
    int rc;
    switch (c->op) {
    case CORIO_SELECT_QUEUE_GET:
        rc = corio_queue_try_get(c->obj, &item);
        if (rc == 0)
            c->item = item;
        break;
    case CORIO_SELECT_QUEUE_PUT:
        rc = corio_queue_try_put(c->obj, c->item);
        break;
    case CORIO_SELECT_CHAN_GET:
        rc = corio_chan_try_get(c->obj, &item);
        if (rc == 0)
            c->item = item;
        break;
    case CORIO_SELECT_CHAN_PUT:
        rc = corio_chan_try_put(c->obj, c->item);
        break;
    case CORIO_SELECT_EVENT:
        if (!corio__event_waitq(c->obj))
            rc = -EBADF; /* destroyed since the call began */
        else
            rc = corio_event_is_set(c->obj) ? 0 : -EAGAIN;
        break;
    default: { /* CORIO_SELECT_JOIN */
        corio_task *t = c->obj;
        if (t->state != CORIO__DONE)
            return -EAGAIN;
        c->result = t->result;
        corio__task_release(t);
        return 0;
    }
    }
    if (rc != -EAGAIN)
        c->result = rc;
    return rc;
}

/* Link case i's record.  Returns 1 if a channel turned out ready (not
 * linked: look again), else 0. */
static int arm(sel *s, size_t i)
{
    corio_select_case *c = &s->cases[i];
    rec *r = &s->r[i];
    r->qw.sel = r;
    switch (c->op) {
    case CORIO_SELECT_QUEUE_GET:
        corio__waitq_link(corio__queue_waitq(c->obj, false), &r->qw);
        return 0;
    case CORIO_SELECT_QUEUE_PUT:
        r->qw.item = c->item;
        corio__waitq_link(corio__queue_waitq(c->obj, true), &r->qw);
        return 0;
    case CORIO_SELECT_EVENT:
        corio__waitq_link(corio__event_waitq(c->obj), &r->qw);
        return 0;
    case CORIO_SELECT_CHAN_GET:
    case CORIO_SELECT_CHAN_PUT:
        if (corio__chan_arm(c->obj, c->op == CORIO_SELECT_CHAN_PUT, &r->cw))
            return 1;
        r->chan_armed = true;
        return 0;
    default: /* CORIO_SELECT_JOIN */
        ((corio_task *)c->obj)->joiner = s->task;
        return 0;
    }
}

/* After disarm_all: wait (uninterruptibly) for channel kicks sent before
 * the records were unlinked, whose posts still point at them. */
static void drain_kicks(sel *s)
{
    corio__wait dw = {NULL, "select (channel kick)", INT64_MAX};
    s->task->noint++;
    for (;;) {
        bool pending = false;
        for (size_t i = 0; i < s->n; i++) {
            rec *r = &s->r[i];
            /* kicked was written under the channel's lock, which disarm
             * took after it: no race. */
            if (r->chan_armed && r->cw.kicked && !r->cw.delivered)
                pending = true;
        }
        if (!pending)
            break;
        corio__park(&dw);
    }
    s->task->noint--;
}

int corio_select(corio_select_case *cases, size_t n, int64_t deadline,
                 size_t *index)
{
    corio_task *self = corio__self();
    rec inline_r[INLINE_CASES];
    size_t i;
    int rc = 0;
    bool any_chan = false;
    if (!self)
        return -EPERM;
    if ((n && !cases) || !index)
        return -EINVAL;
    for (i = 0; i < n; i++) {
        rc = check_case(&cases[i], self);
        if (rc < 0) {
            *index = i;
            return rc;
        }
        any_chan |= is_chan(cases[i].op);
    }
    sel s = {
        {select_cancel, "select", deadline}, cases, inline_r, n, self, n, 0};
    if (n > INLINE_CASES) {
        s.r = corio__sys.malloc(n * sizeof *s.r);
        if (!s.r) {
            *index = n;
            return -ENOMEM;
        }
    }
    for (i = 0; i < n; i++)
        if (is_chan(cases[i].op))
            corio__chan_enter(cases[i].obj);
    for (;;) {
        for (i = 0; i < n; i++) {
            rc = try_case(&cases[i]);
            if (rc != -EAGAIN)
                goto out;
        }
        if (deadline <= corio__loop_now(self->loop)) {
            rc = -ETIMEDOUT;
            goto out; /* i == n */
        }
        s.won = n;
        for (i = 0; i < n; i++) {
            s.r[i].qw.q = NULL;
            s.r[i].s = &s;
            s.r[i].index = i;
            s.r[i].chan_armed = false;
        }
        bool ready = false;
        for (i = 0; i < n && !ready; i++)
            ready = arm(&s, i) == 1;
        if (any_chan)
            atomic_fetch_add(&self->loop->remotes_open, 1);
        rc = ready ? 0 : corio__park(&s.w);
        disarm_all(&s, s.won); /* woken to look again, or never parked */
        drain_kicks(&s);
        if (any_chan)
            atomic_fetch_sub(&self->loop->remotes_open, 1);
        if (s.won < n) {
            i = s.won;
            corio_select_case *c = &cases[i];
            if (s.won_value == 0 && c->op == CORIO_SELECT_QUEUE_GET)
                c->item = s.r[i].qw.item;
            c->result = rc = s.won_value;
            goto out;
        }
        if (rc < 0) {
            i = n;
            goto out;
        }
    }
out:
    for (size_t j = 0; j < n; j++)
        if (is_chan(cases[j].op))
            corio__chan_leave(cases[j].obj);
    if (s.r != inline_r)
        free(s.r);
    *index = i;
    return rc;
}
