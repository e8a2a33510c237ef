/* sync/chan.c — corio_chan: a thread-safe bounded channel.
 *
 * Everything is under the channel's mutex.  Blocked threads wait on two
 * condition variables.  Tasks wait in two lists of waiters (on their own
 * stacks, possibly of different loops); whenever the channel changes in a
 * way that may let them proceed, every task waiting in that direction is
 * "kicked": unlinked and sent a post to its own loop (core/post.h) that
 * wakes it, and it retries under the mutex.  An item is only ever taken by
 * the retry itself, so a kicked task that was cancelled meanwhile takes
 * nothing and nothing is lost.
 *
 * A kicked task is woken by its post and nothing else: if it is
 * interrupted while the post is on its way, the cancel hook records the
 * code and leaves the task parked, and the post delivers the code.  While a
 * task waits on a channel its loop counts an open cross-thread handle, so
 * deadlock detection knows another thread may still wake it.
 *
 * corio_select (sync/select.c) waits on channels with the same waiters
 * (sync/chan_wait.h) through corio__chan_arm/disarm. */
#include "sync/chan_wait.h"

#include <stdlib.h>

typedef corio__chan_waiter chan_waiter;

struct corio_chan {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    void **ring;
    size_t head, n, cap;
    bool closed;
    bool freed; /* corio_chan_free ran: the last call inside frees */
    int inside; /* calls under way (tasks or threads, waiting or not) */
    int thread_waiters;
    chan_waiter *getters, *putters;
};

int corio_chan_new(corio_chan **out, size_t capacity)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (capacity < 1 || capacity > SIZE_MAX / sizeof(void *))
        return -EINVAL;
    corio_chan *c = corio__sys.calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->ring = corio__sys.malloc(capacity * sizeof *c->ring);
    if (!c->ring) {
        free(c);
        return -ENOMEM;
    }
    c->cap = capacity;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->not_empty, NULL);
    pthread_cond_init(&c->not_full, NULL);
    *out = c;
    return 0;
}

static void destroy(corio_chan *c)
{
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->not_empty);
    pthread_cond_destroy(&c->not_full);
    free(c->ring);
    free(c);
}

static void unlink_waiter(chan_waiter *w)
{
    if (!w->list)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        *w->list = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->list = NULL;
}

/* On the waiter's loop thread. */
static void kicked(corio__post *p)
{
    chan_waiter *w = (chan_waiter *)((char *)p - offsetof(chan_waiter, post));
    w->delivered = true;
    corio__wake(w->task, w->code);
}

/* Under c->lock: wake every task waiting in *list. */
static void kick_all(chan_waiter **list)
{
    while (*list) {
        chan_waiter *w = *list;
        unlink_waiter(w);
        w->kicked = true;
        corio__post_send(w->task->loop, &w->post);
    }
}

static bool chan_cancel(corio__wait *wait, corio_task *t, int code)
{
    chan_waiter *w = (chan_waiter *)wait;
    (void)t;
    pthread_mutex_lock(&w->chan->lock);
    bool linked = w->list != NULL;
    if (linked)
        unlink_waiter(w);
    else
        w->code = code; /* the kick's post will deliver it */
    pthread_mutex_unlock(&w->chan->lock);
    return linked;
}

static void changed(corio_chan *c, bool item_added)
{
    if (c->thread_waiters)
        pthread_cond_broadcast(item_added ? &c->not_empty : &c->not_full);
    kick_all(item_added ? &c->getters : &c->putters);
}

/* Under c->lock. */
static int try_put(corio_chan *c, void *item)
{
    if (c->freed)
        return -EBADF;
    if (c->closed)
        return CORIO_ESHUTDOWN;
    if (c->n == c->cap)
        return -EAGAIN;
    c->ring[(c->head + c->n++) % c->cap] = item;
    changed(c, true);
    return 0;
}

static int try_get(corio_chan *c, void **item)
{
    if (c->freed)
        return -EBADF;
    if (c->n) {
        *item = c->ring[c->head];
        c->head = (c->head + 1) % c->cap;
        c->n--;
        changed(c, false);
        return 0;
    }
    return c->closed ? CORIO_ESHUTDOWN : -EAGAIN;
}

/* Park the calling task in *list (c->lock held; released while parked). */
static int task_wait(corio_chan *c, chan_waiter **list, corio_task *self,
                     const char *what)
{
    chan_waiter w = {{chan_cancel, what, INT64_MAX},
                     {.fn = kicked},
                     NULL,
                     *list,
                     list,
                     c,
                     self,
                     0,
                     false,
                     false};
    if (*list)
        (*list)->prev = &w;
    *list = &w;
    atomic_fetch_add(&self->loop->remotes_open, 1);
    pthread_mutex_unlock(&c->lock);
    int rc = corio__park(&w.w);
    pthread_mutex_lock(&c->lock);
    unlink_waiter(&w); /* if park returned without parking */
    if (w.kicked && !w.delivered) {
        /* Kicked just as park returned without sleeping: the post refers
         * to w, on this stack, so wait for it before leaving. */
        pthread_mutex_unlock(&c->lock);
        self->noint++;
        while (!w.delivered)
            corio__park(&w.w);
        self->noint--;
        pthread_mutex_lock(&c->lock);
    }
    atomic_fetch_sub(&self->loop->remotes_open, 1);
    return rc;
}

static int op(corio_chan *c, void **item, bool put)
{
    corio_task *self = corio__self();
    int rc;
    pthread_mutex_lock(&c->lock);
    c->inside++;
    for (;;) {
        rc = put ? try_put(c, *item) : try_get(c, item);
        if (rc != -EAGAIN)
            break;
        if (self) {
            rc = task_wait(c, put ? &c->putters : &c->getters, self,
                           put ? "chan put" : "chan get");
            if (rc < 0)
                break;
        } else {
            c->thread_waiters++;
            pthread_cond_wait(put ? &c->not_full : &c->not_empty, &c->lock);
            c->thread_waiters--;
        }
    }
    bool last = --c->inside == 0 && c->freed;
    pthread_mutex_unlock(&c->lock);
    if (last)
        destroy(c);
    return rc;
}

int corio_chan_put(corio_chan *c, void *item)
{
    return c ? op(c, &item, true) : -EINVAL;
}

int corio_chan_get(corio_chan *c, void **item)
{
    return c && item ? op(c, item, false) : -EINVAL;
}

int corio_chan_try_put(corio_chan *c, void *item)
{
    if (!c)
        return -EINVAL;
    pthread_mutex_lock(&c->lock);
    int rc = try_put(c, item);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int corio_chan_try_get(corio_chan *c, void **item)
{
    if (!c || !item)
        return -EINVAL;
    pthread_mutex_lock(&c->lock);
    int rc = try_get(c, item);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

static void kick_everyone(corio_chan *c)
{
    pthread_cond_broadcast(&c->not_empty);
    pthread_cond_broadcast(&c->not_full);
    kick_all(&c->getters);
    kick_all(&c->putters);
}

void corio_chan_shutdown(corio_chan *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->closed = true;
    kick_everyone(c);
    pthread_mutex_unlock(&c->lock);
}

void corio_chan_free(corio_chan *c)
{
    if (!c)
        return;
    /* The destructor rule: callers still inside (tasks of any loop, or
     * threads) are woken, return -EBADF, and the last one out frees. */
    pthread_mutex_lock(&c->lock);
    c->freed = true;
    kick_everyone(c);
    bool last = c->inside == 0;
    pthread_mutex_unlock(&c->lock);
    if (last)
        destroy(c);
}

void corio__chan_enter(corio_chan *c)
{
    pthread_mutex_lock(&c->lock);
    c->inside++;
    pthread_mutex_unlock(&c->lock);
}

void corio__chan_leave(corio_chan *c)
{
    pthread_mutex_lock(&c->lock);
    bool last = --c->inside == 0 && c->freed;
    pthread_mutex_unlock(&c->lock);
    if (last)
        destroy(c);
}

int corio__chan_arm(corio_chan *c, bool put, chan_waiter *w)
{
    chan_waiter **list = put ? &c->putters : &c->getters;
    pthread_mutex_lock(&c->lock);
    if (c->freed || c->closed || (put ? c->n < c->cap : c->n > 0)) {
        pthread_mutex_unlock(&c->lock);
        return 1;
    }
    *w = (chan_waiter){.w = {NULL, put ? "chan put" : "chan get", INT64_MAX},
                       .post = {.fn = kicked},
                       .next = *list,
                       .list = list,
                       .chan = c,
                       .task = corio__cur->current};
    if (*list)
        (*list)->prev = w;
    *list = w;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

void corio__chan_disarm(chan_waiter *w)
{
    pthread_mutex_lock(&w->chan->lock);
    unlink_waiter(w);
    pthread_mutex_unlock(&w->chan->lock);
}
