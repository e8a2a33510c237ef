/* sync/waitq.h — the FIFO of parked tasks every primitive is built on.
 *
 * A waiter lives on the waiting task's stack.  Serving a waiter (grant)
 * unlinks it and wakes its task with 0, in one step, so a served waiter
 * can no longer be interrupted: it returns success and owns what it was
 * given.  An interrupted waiter is unlinked by the scheduler (through the
 * wait's cancel hook) before anything is granted to it.
 *
 * A corio_select() task has one waiter on each queue it selects over
 * (w->sel set).  Granting one of them goes through corio__select_granted,
 * which unlinks the select's other waiters in the same step, so a second
 * grant can never reach the same select (sync/select.c). */
#ifndef CORIO_SYNC_WAITQ_H
#define CORIO_SYNC_WAITQ_H

#include "core/loop.h"

typedef struct corio__waiter corio__waiter;

typedef struct corio__waitq {
    corio__waiter *head, *tail;
} corio__waitq;

struct corio__waiter {
    corio__wait w; /* first: the scheduler hands back &w */
    corio__waiter *prev, *next;
    corio__waitq *q; /* NULL once served or unlinked */
    corio_task *task;
    void *item;  /* queue hand-off */
    int64_t n;   /* tokens wanted (limiter) */
    void *owner; /* the primitive, for hooks that need it */
    void *sel;   /* a corio_select case (sync/select.c), else NULL */
};

/* sync/select.c: w, a select case's waiter, was just unlinked and served
 * with value. */
void corio__select_granted(corio__waiter *w, int value);
/* The wait queues a select case links into: a queue's getters (put:
 * putters), an event's waiters (NULL: not an initialised event). */
corio__waitq *corio__queue_waitq(corio_queue *q, bool put);
corio__waitq *corio__event_waitq(corio_event *e);

static inline bool corio__waitq_empty(const corio__waitq *q)
{
    return q->head == NULL;
}

CORIO__EXPORT void corio__waitq_remove(corio__waiter *w);
/* Append w, a waiter of the calling task, to q without parking. */
void corio__waitq_link(corio__waitq *q, corio__waiter *w);
/* Park the calling task on q.  cancel (NULL: just unlink) runs when the
 * wait is interrupted.  Returns the value the granter woke it with, or the
 * interrupt code. */
CORIO__EXPORT int
corio__waitq_park(corio__waitq *q, corio__waiter *w, const char *what,
                  bool (*cancel)(corio__wait *, corio_task *, int));
/* Unlink the first waiter and wake it with value.  Returns it, or NULL. */
CORIO__EXPORT corio__waiter *corio__waitq_grant(corio__waitq *q, int value);
/* Wake every waiter with value; returns how many. */
CORIO__EXPORT int corio__waitq_grant_all(corio__waitq *q, int value);

#endif
