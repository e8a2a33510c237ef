/* core/map.c — corio_map: fn over every item, at most `limit` at once,
 * results in item order (the seeds' gather-behind-a-Semaphore in one call).
 *
 * Not one task per item behind a semaphore, but min(limit, n) worker tasks
 * that each take the next unstarted index in turn (one loop thread: a plain
 * counter, no lock).  Items therefore start in index order, at most `limit`
 * run at once, and n items cost `limit` stacks, not n.  The workers are
 * gathered with corio_gather, which already gives the wanted semantics when
 * the caller is interrupted (every worker cancelled and awaited); a
 * cancelled worker takes no further item.
 *
 * Every worker is spawned before any runs (a spawned task first runs when
 * its spawner suspends), so when a spawn fails the ones made so far are
 * cancelled before their first switch, never call fn, and are gathered:
 * -ENOMEM then means fn ran on no item. */
#include "core/loop.h"

#include <stdlib.h>

#define INLINE_WORKERS 16

typedef struct map_state {
    corio_map_fn fn;
    char *items;
    size_t n, stride, next;
    int *results;
    size_t first_i; /* lowest index with a negative result so far (n: none) */
    int first;
} map_state;

static int worker(void *arg)
{
    map_state *m = arg;
    corio_task *self = corio__cur->current;
    while (m->next < m->n && !self->cancelled) {
        size_t i = m->next++;
        int r = m->fn(m->items + i * m->stride);
        if (m->results)
            m->results[i] = r;
        if (r < 0 && i < m->first_i) {
            m->first_i = i;
            m->first = r;
        }
    }
    return 0;
}

int corio_map(corio_map_fn fn, void *items, size_t n, size_t stride,
              size_t limit, int *results)
{
    corio_task *self = corio__self();
    corio_task *inline_w[INLINE_WORKERS], **w = inline_w;
    if (!self)
        return -EPERM;
    if (!fn || (n && !items))
        return -EINVAL;
    if (!n)
        return 0;
    size_t nw = limit && limit < n ? limit : n, made = 0;
    if (nw > INLINE_WORKERS) {
        w = corio__sys.malloc(nw * sizeof *w);
        if (!w)
            return -ENOMEM;
    }
    map_state m = {fn, items, n, stride, 0, results, n, 0};
    int rc = 0;
    while (made < nw &&
           (rc = corio__spawn(&w[made], NULL, worker, &m, CORIO__OWNED)) == 0)
        made++;
    if (rc < 0) {
        for (size_t i = 0; i < made; i++)
            corio__cancel(w[i]); /* before their first run: fn never runs */
        CORIO_IGNORE(corio_gather(w, made, NULL));
        if (w != inline_w)
            free(w);
        return rc;
    }
    rc = corio_gather(w, nw, NULL);
    if (w != inline_w)
        free(w);
    /* Items no worker took (the caller was interrupted) never ran. */
    for (size_t i = m.next; i < n; i++)
        if (results)
            results[i] = -ECANCELED;
    /* Interrupted: gather cancelled and awaited the workers. */
    return rc < 0 ? rc : m.first;
}
