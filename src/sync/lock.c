/* sync/lock.c — corio_lock: a FIFO-fair mutex for tasks.  unlock hands the
 * lock straight to the first waiter (ownership moves before it runs), so a
 * later arrival can never barge in, and a waiter interrupted before the
 * hand-off is simply unlinked. */
#include "sync/waitq.h"

#include <assert.h>

#define LOCK_MAGIC 0x6b636f6cu /* "lock" */

typedef struct lock_impl {
    corio_task *owner;
    corio__waitq q;
    uint32_t magic;
} lock_impl;

static_assert(sizeof(lock_impl) <= sizeof(corio_lock), "corio_lock too small");

static lock_impl *impl(corio_lock *l)
{
    lock_impl *k = (lock_impl *)l;
    return k && k->magic == LOCK_MAGIC ? k : NULL;
}

int corio_lock_init(corio_lock *l)
{
    lock_impl *k = (lock_impl *)l;
    if (!l)
        return -EINVAL;
    k->owner = NULL;
    k->q.head = k->q.tail = NULL;
    k->magic = LOCK_MAGIC;
    return 0;
}

void corio_lock_destroy(corio_lock *l)
{
    lock_impl *k = impl(l);
    if (!k)
        return;
    if (k->owner)
        CORIO__MISUSE(corio__cur, "destroying a lock held by task '%s'",
                      corio_task_name(k->owner));
    corio__waitq_grant_all(&k->q, -EBADF); /* the destructor rule */
    k->magic = 0;
}

int corio_lock_try_acquire(corio_lock *l)
{
    lock_impl *k = impl(l);
    corio_task *self = corio__self();
    if (!k)
        return -EINVAL;
    if (!self)
        return -EPERM;
    if (k->owner)
        return -EAGAIN;
    k->owner = self;
    return 0;
}

int corio_lock_acquire(corio_lock *l)
{
    int rc = corio_lock_try_acquire(l);
    if (rc != -EAGAIN)
        return rc; /* taken at once, or misuse */
    lock_impl *k = impl(l);
    corio_task *self = corio__self();
    if (k->owner == self) {
        CORIO__MISUSE(corio__cur, "task '%s' locks a lock it holds",
                      corio_task_name(self));
        return -EDEADLK;
    }
    corio__waiter w;
    return corio__waitq_park(&k->q, &w, "lock", NULL);
}

int corio_lock_release(corio_lock *l)
{
    lock_impl *k = impl(l);
    corio_task *self = corio__self();
    if (!k)
        return -EINVAL;
    if (!self || k->owner != self) {
        CORIO__MISUSE(corio__cur, "unlocking a lock the caller does not hold");
        return -EPERM;
    }
    if (corio__waitq_empty(&k->q)) { /* uncontended: nothing to hand over */
        k->owner = NULL;
        return 0;
    }
    k->owner = corio__waitq_grant(&k->q, 0)->task;
    return 0;
}

/* For corio_cond: who holds l (NULL if free or not a lock). */
corio_task *corio__lock_owner(corio_lock *l)
{
    lock_impl *k = impl(l);
    return k ? k->owner : NULL;
}
