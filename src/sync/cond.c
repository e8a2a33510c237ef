/* sync/cond.c — corio_cond: a condition variable bound to a corio_lock.
 *
 * wait = unlock, park on the condition, then lock again.  The re-lock runs
 * with interruption off (t->noint) so the caller always holds the lock when
 * wait returns, as asyncio's Condition guarantees.  A notified waiter has
 * been unlinked and woken with 0 before it can be interrupted, so a
 * notification is never lost to a cancellation. */
#include "sync/waitq.h"

#include <assert.h>

#define COND_MAGIC 0x646e6f63u /* "cond" */

typedef struct cond_impl {
    corio_lock *lock;
    corio__waitq q;
    uint32_t magic;
} cond_impl;

static_assert(sizeof(cond_impl) <= sizeof(corio_cond), "corio_cond too small");

corio_task *corio__lock_owner(corio_lock *l);

static cond_impl *impl(corio_cond *c)
{
    cond_impl *k = (cond_impl *)c;
    return k && k->magic == COND_MAGIC ? k : NULL;
}

int corio_cond_init(corio_cond *c, corio_lock *lock)
{
    cond_impl *k = (cond_impl *)c;
    if (!c || !lock)
        return -EINVAL;
    k->lock = lock;
    k->q.head = k->q.tail = NULL;
    k->magic = COND_MAGIC;
    return 0;
}

void corio_cond_destroy(corio_cond *c)
{
    cond_impl *k = impl(c);
    if (!k)
        return;
    corio__waitq_grant_all(&k->q, -EBADF); /* the destructor rule */
    k->magic = 0;
}

int corio_cond_wait(corio_cond *c)
{
    cond_impl *k = impl(c);
    corio_task *self = corio__self();
    if (!k)
        return -EINVAL;
    if (!self)
        return -EPERM;
    if (corio__lock_owner(k->lock) != self) {
        CORIO__MISUSE(corio__cur, "corio_cond_wait without holding the lock");
        return -EPERM;
    }
    corio__waiter w;
    corio_lock *lock = k->lock; /* c may be destroyed while we wait */
    (void)corio_lock_release(lock);
    int rc = corio__waitq_park(&k->q, &w, "condition", NULL);
    self->noint++;
    CORIO_IGNORE(corio_lock_acquire(
        lock)); /* cannot fail: not interruptible, not held */
    self->noint--;
    return rc;
}

int corio_cond_wait_for(corio_cond *c, int (*pred)(void *arg), void *arg)
{
    if (!pred)
        return -EINVAL;
    while (!pred(arg)) {
        int rc = corio_cond_wait(c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int corio_cond_notify(corio_cond *c, int n)
{
    cond_impl *k = impl(c);
    int woken = 0;
    if (!k)
        return 0;
    while (woken < n && corio__waitq_grant(&k->q, 0))
        woken++;
    return woken;
}

int corio_cond_notify_all(corio_cond *c)
{
    cond_impl *k = impl(c);
    return k ? corio__waitq_grant_all(&k->q, 0) : 0;
}
