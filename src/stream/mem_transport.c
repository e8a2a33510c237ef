/* stream/mem_transport.c — corio_stream_pair: two transports connected in
 * memory (Trio's memory stream pair), for tests.
 *
 * Parts:
 *   mem_dir     one direction: a ring of `cap` bytes, whether its writer
 *               has finished (shutdown or close: the reader sees end of
 *               stream once the ring is empty) and whether its reader has
 *               gone (close: writes fail with -EPIPE), and the one task
 *               parked on each side of it.
 *   mem_shared  both directions and a count of the open ends; freed when
 *               the second end closes.
 *   mem_end     a transport: end 0 writes dir[0] and reads dir[1], end 1
 *               the other way round.
 *
 *   end 0 --write--> [ dir[0] ring ] --read--> end 1
 *   end 0 <--read--- [ dir[1] ring ] <-write-- end 1
 *
 * Cancel safety: a waiter is only told to look again (woken with 0); bytes
 * move between a ring and a caller's buffer only while that caller runs.
 * So an interrupted read has taken nothing and an interrupted write reports
 * exactly what it put in the ring, which the reader will get. */
#include "os/sys.h"
#include "core/loop.h"
#include "stream/transport.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CAPACITY ((size_t)64 * 1024)

typedef struct mem_waiter mem_waiter;

typedef struct mem_dir {
    unsigned char *ring;
    size_t cap, head, len;
    bool wdone; /* no more writes: EOF for the reader once drained */
    bool rgone; /* the reading end is closed: EPIPE for the writer */
    mem_waiter *rwait, *wwait;
} mem_dir;

typedef struct mem_shared {
    mem_dir dir[2];
    int open; /* ends not yet closed */
} mem_shared;

typedef struct mem_end {
    corio__transport base; /* first: the stream hands back &base */
    mem_shared *sh;
    int side;
} mem_end;

struct mem_waiter {
    corio__wait w; /* first: the scheduler hands back &w */
    corio_task *task;
    mem_waiter **slot;
};

static bool mem_cancel(corio__wait *w, corio_task *t, int code)
{
    mem_waiter *mw = (mem_waiter *)w;
    (void)t, (void)code;
    if (*mw->slot == mw)
        *mw->slot = NULL;
    return true;
}

/* Park until the other side changes something.  0, or an interruption
 * (nothing was moved), -EBUSY (a second task on the same side). */
static int park_on(mem_waiter **slot, const char *what)
{
    corio_task *self = corio__self();
    if (!self)
        return -EPERM;
    if (*slot)
        return -EBUSY;
    mem_waiter mw = {{mem_cancel, what, INT64_MAX}, self, slot};
    *slot = &mw;
    int rc = corio__park(&mw.w);
    if (*slot == &mw)
        *slot = NULL; /* interrupted before parking */
    return rc;
}

static void kick(mem_waiter **slot)
{
    mem_waiter *mw = *slot;
    if (mw) {
        *slot = NULL;
        corio__wake(mw->task, 0);
    }
}

static ssize_t mem_read(corio__transport *t, void *buf, size_t n)
{
    mem_end *e = (mem_end *)t;
    mem_dir *d = &e->sh->dir[1 - e->side];
    corio_task *self = corio__self();
    int rc = self ? corio__coop(self) : 0; /* the cooperative budget */
    if (rc < 0)
        return rc;
    for (;;) {
        if (d->len) {
            size_t k = n < d->len ? n : d->len;
            size_t first = d->cap - d->head < k ? d->cap - d->head : k;
            memcpy(buf, d->ring + d->head, first);
            memcpy((unsigned char *)buf + first, d->ring, k - first);
            d->head = (d->head + k) % d->cap;
            d->len -= k;
            kick(&d->wwait);
            return (ssize_t)k;
        }
        if (d->wdone)
            return 0;
        rc = park_on(&d->rwait, "memory stream read");
        if (rc < 0)
            return rc;
    }
}

static ssize_t mem_write(corio__transport *t, const void *buf, size_t n)
{
    mem_end *e = (mem_end *)t;
    mem_dir *d = &e->sh->dir[e->side];
    size_t done = 0;
    corio_task *self = corio__self();
    int crc = self ? corio__coop(self) : 0; /* the cooperative budget */
    if (crc < 0)
        return crc;
    while (done < n) {
        if (d->rgone || d->wdone)
            return done ? (ssize_t)done : -EPIPE;
        size_t room = d->cap - d->len;
        if (room) {
            size_t k = n - done < room ? n - done : room;
            size_t tail = (d->head + d->len) % d->cap;
            size_t first = d->cap - tail < k ? d->cap - tail : k;
            memcpy(d->ring + tail, (const unsigned char *)buf + done, first);
            memcpy(d->ring, (const unsigned char *)buf + done + first,
                   k - first);
            d->len += k;
            done += k;
            kick(&d->rwait);
            continue;
        }
        int rc = park_on(&d->wwait, "memory stream write");
        if (rc < 0)
            return done ? (ssize_t)done : rc;
    }
    return (ssize_t)n;
}

static int mem_shutdown(corio__transport *t)
{
    mem_end *e = (mem_end *)t;
    mem_dir *d = &e->sh->dir[e->side];
    d->wdone = true;
    kick(&d->rwait);
    return 0;
}

static void mem_close(corio__transport *t)
{
    mem_end *e = (mem_end *)t;
    mem_shared *sh = e->sh;
    mem_dir *out = &sh->dir[e->side], *in = &sh->dir[1 - e->side];
    out->wdone = true;
    kick(&out->rwait);
    in->rgone = true;
    in->len = 0; /* unread input is dropped, as a socket's would be */
    kick(&in->wwait);
    if (--sh->open == 0) {
        free(sh->dir[0].ring);
        free(sh->dir[1].ring);
        free(sh);
    }
    free(e);
}

static int mem_fd(const corio__transport *t)
{
    (void)t;
    return -1;
}

static const corio__transport_ops mem_ops = {
    .read = mem_read,
    .write = mem_write,
    .shutdown = mem_shutdown,
    .close = mem_close,
    .fd = mem_fd,
};

int corio_stream_pair_ex(corio_stream **a, corio_stream **b, size_t capacity,
                         const corio_stream_opts *o)
{
    mem_shared *sh = NULL;
    mem_end *e[2] = {NULL, NULL};
    corio_stream *s0 = NULL;
    int rc;

    if (!a || !b)
        return -EINVAL;
    *a = *b = NULL;
    if (!corio__cur)
        return -EPERM;
    if (!capacity)
        capacity = DEFAULT_CAPACITY;
    if (capacity > CORIO_STREAM_BUFFER_MAX ||
        (o && (o->read_buffer > CORIO_STREAM_BUFFER_MAX ||
               o->write_buffer > CORIO_STREAM_BUFFER_MAX)))
        return -EINVAL;
    sh = corio__sys.calloc(1, sizeof *sh);
    if (!sh)
        return -ENOMEM;
    for (int i = 0; i < 2; i++) {
        sh->dir[i].cap = capacity;
        sh->dir[i].ring = corio__sys.malloc(capacity);
        e[i] = corio__sys.malloc(sizeof *e[i]);
        if (!sh->dir[i].ring || !e[i])
            goto nomem;
        e[i]->base.ops = &mem_ops;
        e[i]->sh = sh;
        e[i]->side = i;
    }
    sh->open = 2;
    rc = corio__stream_new(&s0, &e[0]->base, o);
    if (rc < 0) {
        /* e[0] is closed (sh->open is 1 now); closing e[1] frees sh. */
        mem_close(&e[1]->base);
        return rc;
    }
    rc = corio__stream_new(b, &e[1]->base, o);
    if (rc < 0) {
        corio_stream_close(s0);
        return rc;
    }
    *a = s0;
    return 0;

nomem:
    for (int i = 0; i < 2; i++) {
        free(sh->dir[i].ring);
        free(e[i]);
    }
    free(sh);
    return -ENOMEM;
}

int corio_stream_pair(corio_stream **a, corio_stream **b, size_t capacity)
{
    return corio_stream_pair_ex(a, b, capacity, NULL);
}
