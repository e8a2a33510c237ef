/* sync/queue.c — corio_queue: FIFO, LIFO and priority queues of pointers,
 * bounded or not, with task_done/join and shutdown.
 *
 * Items move by hand-off whenever someone waits: a put with a getter
 * waiting gives the item straight to that getter; a get that frees a slot
 * moves the first waiting putter's item into the queue and releases it.
 * Either way the waiter is unlinked and woken in the same step, so once an
 * item changed hands no cancellation can undo it.
 *
 * Storage: one array of entries, used as a ring (FIFO), a stack (LIFO) or
 * a binary heap ordered by (cmp, put order) (PRIORITY). */
#include "sync/waitq.h"

#include <stdlib.h>

typedef struct entry {
    void *item;
    uint64_t seq;
} entry;

struct corio_queue {
    int order;
    size_t capacity; /* 0: unbounded */
    int (*cmp)(const void *, const void *);
    entry *v;
    size_t head, n, cap;
    uint64_t seq;
    size_t unfinished;
    bool closed;
    corio__waitq getters, putters, joiners;
};

int corio_queue_new(corio_queue **out, const corio_queue_opts *o)
{
    corio_queue_opts d = {CORIO_QUEUE_FIFO, 0, NULL};
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!o)
        o = &d;
    if (o->order < CORIO_QUEUE_FIFO || o->order > CORIO_QUEUE_PRIORITY ||
        (o->order == CORIO_QUEUE_PRIORITY && !o->cmp))
        return -EINVAL;
    corio_queue *q = corio__sys.calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    q->order = o->order;
    q->capacity = o->capacity;
    q->cmp = o->cmp;
    *out = q;
    return 0;
}

void corio_queue_free(corio_queue *q)
{
    if (!q)
        return;
    /* The destructor rule (design.md): waiters are woken with -EBADF and
     * never touch q again. */
    corio__waitq_grant_all(&q->getters, -EBADF);
    corio__waitq_grant_all(&q->putters, -EBADF);
    corio__waitq_grant_all(&q->joiners, -EBADF);
    free(q->v);
    free(q);
}

static bool before(const corio_queue *q, const entry *a, const entry *b)
{
    int c = q->cmp(a->item, b->item);
    return c < 0 || (c == 0 && a->seq < b->seq);
}

static int grow(corio_queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 16;
    if (q->capacity && cap > q->capacity)
        cap = q->capacity;
    entry *v = corio__sys.malloc(cap * sizeof *v);
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < q->n; i++) /* unwrap the ring */
        v[i] = q->v[(q->head + i) % q->cap];
    free(q->v);
    q->v = v;
    q->head = 0;
    q->cap = cap;
    return 0;
}

static int push(corio_queue *q, void *item)
{
    if (q->n == q->cap) {
        int rc = grow(q);
        if (rc < 0)
            return rc;
    }
    entry e = {item, q->seq++};
    if (q->order == CORIO_QUEUE_FIFO) {
        q->v[(q->head + q->n) % q->cap] = e;
    } else if (q->order == CORIO_QUEUE_LIFO) {
        q->v[q->n] = e;
    } else {
        size_t i = q->n;
        while (i > 0 && before(q, &e, &q->v[(i - 1) / 2])) {
            q->v[i] = q->v[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        q->v[i] = e;
    }
    q->n++;
    q->unfinished++;
    return 0;
}

static void *pop(corio_queue *q)
{
    void *item;
    q->n--;
    if (q->order == CORIO_QUEUE_FIFO) {
        item = q->v[q->head].item;
        q->head = (q->head + 1) % q->cap;
    } else if (q->order == CORIO_QUEUE_LIFO) {
        item = q->v[q->n].item;
    } else {
        item = q->v[0].item;
        entry last = q->v[q->n];
        size_t i = 0;
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= q->n)
                break;
            if (c + 1 < q->n && before(q, &q->v[c + 1], &q->v[c]))
                c++;
            if (!before(q, &q->v[c], &last))
                break;
            q->v[i] = q->v[c];
            i = c;
        }
        q->v[i] = last;
    }
    return item;
}

static bool full(const corio_queue *q)
{
    return q->capacity && q->n >= q->capacity;
}

/* Give item to the first waiting getter.  True if there was one. */
static bool hand_to_getter(corio_queue *q, void *item)
{
    corio__waiter *w = q->getters.head;
    if (!w)
        return false;
    w->item = item;
    q->unfinished++;
    corio__waitq_grant(&q->getters, 0);
    return true;
}

static int try_put(corio_queue *q, void *item)
{
    if (q->closed)
        return CORIO_ESHUTDOWN;
    if (hand_to_getter(q, item))
        return 0;
    if (full(q))
        return -EAGAIN;
    return push(q, item);
}

/* After a slot was freed: accept the first waiting putter's item. */
static void admit_putter(corio_queue *q)
{
    corio__waiter *w = q->putters.head;
    if (w && !full(q) && push(q, w->item) == 0)
        corio__waitq_grant(&q->putters, 0);
}

static int try_get(corio_queue *q, void **item)
{
    if (q->n) {
        *item = pop(q);
        admit_putter(q);
        return 0;
    }
    return q->closed ? CORIO_ESHUTDOWN : -EAGAIN;
}

int corio_queue_try_put(corio_queue *q, void *item)
{
    return q ? try_put(q, item) : -EINVAL;
}

int corio_queue_try_get(corio_queue *q, void **item)
{
    return q && item ? try_get(q, item) : -EINVAL;
}

int corio_queue_put(corio_queue *q, void *item)
{
    if (!q)
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    int rc = try_put(q, item);
    if (rc != -EAGAIN)
        return rc;
    corio__waiter w;
    w.item = item;
    return corio__waitq_park(&q->putters, &w, "queue put", NULL);
}

int corio_queue_get(corio_queue *q, void **item)
{
    if (!q || !item)
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    int rc = try_get(q, item);
    if (rc != -EAGAIN)
        return rc;
    corio__waiter w;
    rc = corio__waitq_park(&q->getters, &w, "queue get", NULL);
    if (rc == 0)
        *item = w.item;
    return rc;
}

int corio_queue_task_done(corio_queue *q)
{
    if (!q)
        return -EINVAL;
    if (q->unfinished == 0) {
        CORIO__MISUSE(corio__cur,
                      "corio_queue_task_done called too many times");
        return -EINVAL;
    }
    if (--q->unfinished == 0)
        corio__waitq_grant_all(&q->joiners, 0);
    return 0;
}

int corio_queue_join(corio_queue *q)
{
    if (!q)
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    if (q->unfinished == 0)
        return 0;
    corio__waiter w;
    return corio__waitq_park(&q->joiners, &w, "queue join", NULL);
}

void corio_queue_shutdown(corio_queue *q, int immediate)
{
    if (!q)
        return;
    q->closed = true;
    corio__waitq_grant_all(&q->putters, CORIO_ESHUTDOWN);
    if (immediate && q->n) {
        /* asyncio's shutdown(immediate=True): the items left count as
         * done, so join() returns once the items already taken are. */
        q->unfinished -= q->n;
        q->n = q->head = 0;
        if (q->unfinished == 0)
            corio__waitq_grant_all(&q->joiners, 0);
    }
    corio__waitq_grant_all(&q->getters, CORIO_ESHUTDOWN); /* only when empty */
}

size_t corio_queue_size(const corio_queue *q)
{
    return q ? q->n : 0;
}

corio__waitq *corio__queue_waitq(corio_queue *q, bool put)
{
    return put ? &q->putters : &q->getters;
}
