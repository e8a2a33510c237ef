/* core/timer.c — the timer heap (see timer.h). */
#include "core/timer.h"
#include "os/sys.h"

#include <errno.h>
#include <stdlib.h>

static inline int before(const corio__timer *a, const corio__timer *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static inline void place(corio__timer_heap *h, size_t i, corio__timer *t)
{
    h->v[i] = t;
    t->idx = i;
}

static void sift_up(corio__timer_heap *h, size_t i)
{
    corio__timer *t = h->v[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(t, h->v[p]))
            break;
        place(h, i, h->v[p]);
        i = p;
    }
    place(h, i, t);
}

static void sift_down(corio__timer_heap *h, size_t i)
{
    corio__timer *t = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(h->v[c + 1], h->v[c]))
            c++;
        if (!before(h->v[c], t))
            break;
        place(h, i, h->v[c]);
        i = c;
    }
    place(h, i, t);
}

int corio__timer_reserve(corio__timer_heap *h, size_t cap)
{
    if (cap <= h->cap)
        return 0;
    corio__timer **v = corio__sys.realloc(h->v, cap * sizeof *v);
    if (!v)
        return -ENOMEM;
    h->v = v;
    h->cap = cap;
    return 0;
}

int corio__timer_arm(corio__timer_heap *h, corio__timer *t, int64_t when)
{
    if (t->idx != CORIO__NOT_ARMED)
        corio__timer_disarm(h, t);
    if (h->n == h->cap && corio__timer_reserve(h, h->cap ? h->cap * 2 : 64) < 0)
        return -ENOMEM;
    t->when = when;
    t->seq = h->seq++;
    place(h, h->n++, t);
    sift_up(h, t->idx);
    return 0;
}

void corio__timer_disarm(corio__timer_heap *h, corio__timer *t)
{
    size_t i = t->idx;
    if (i == CORIO__NOT_ARMED)
        return;
    t->idx = CORIO__NOT_ARMED;
    corio__timer *last = h->v[--h->n];
    if (i == h->n)
        return;
    place(h, i, last);
    if (i > 0 && before(last, h->v[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

void corio__timer_run(corio__timer_heap *h, int64_t now)
{
    while (h->n && h->v[0]->when <= now) {
        corio__timer *t = h->v[0];
        corio__timer_disarm(h, t);
        t->fire(t);
    }
}

void corio__timer_heap_free(corio__timer_heap *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
