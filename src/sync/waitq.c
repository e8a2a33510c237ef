/* sync/waitq.c — FIFO wait queues (see waitq.h). */
#include "sync/waitq.h"

void corio__waitq_remove(corio__waiter *w)
{
    corio__waitq *q = w->q;
    if (!q)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->q = NULL;
}

static bool unlink_on_cancel(corio__wait *w, corio_task *t, int code)
{
    (void)t, (void)code;
    corio__waitq_remove((corio__waiter *)w);
    return true;
}

void corio__waitq_link(corio__waitq *q, corio__waiter *w)
{
    w->task = corio__cur->current;
    w->q = q;
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
}

int corio__waitq_park(corio__waitq *q, corio__waiter *w, const char *what,
                      bool (*cancel)(corio__wait *, corio_task *, int))
{
    w->w.cancel = cancel ? cancel : unlink_on_cancel;
    w->w.what = what;
    w->w.until = INT64_MAX;
    w->sel = NULL;
    corio__waitq_link(q, w);
    int rc = corio__park(&w->w);
    if (rc < 0)
        corio__waitq_remove(w); /* interrupted before parking */
    return rc;
}

corio__waiter *corio__waitq_grant(corio__waitq *q, int value)
{
    corio__waiter *w = q->head;
    if (!w)
        return NULL;
    corio__waitq_remove(w);
    if (CORIO__UNLIKELY(w->sel != NULL))
        corio__select_granted(w, value); /* wakes the select's task */
    else
        corio__wake(w->task, value);
    return w;
}

int corio__waitq_grant_all(corio__waitq *q, int value)
{
    int n = 0;
    while (corio__waitq_grant(q, value))
        n++;
    return n;
}
