/* core/turn.c — the hooks run once per loop turn before it polls
 * (core/turn.h): an intrusive doubly linked list on the loop, appended at
 * the tail, so a hook can be unqueued in O(1) when its owner goes away. */
#include "core/turn.h"

void corio__turn_defer(corio__loop *L, corio__turn_hook *h)
{
    if (h->pprev)
        return;
    h->next = NULL;
    h->loop = L;
    h->pprev = L->turn_tail;
    *L->turn_tail = h;
    L->turn_tail = &h->next;
}

void corio__turn_cancel(corio__turn_hook *h)
{
    if (!h->pprev)
        return;
    *h->pprev = h->next;
    if (h->next)
        h->next->pprev = h->pprev;
    else
        h->loop->turn_tail = h->pprev;
    h->pprev = NULL;
}

void corio__turn_run(corio__loop *L)
{
    corio__turn_hook *h;
    while ((h = L->turn_head) != NULL) {
        corio__turn_cancel(h);
        h->run(h);
    }
}
