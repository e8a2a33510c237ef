/* sync/sem.c — corio_sem: counting and bounded semaphores, FIFO-fair.
 * A release with waiters hands the permit to the first one directly
 * (value stays 0), so a task arriving later cannot take it first. */
#include "sync/waitq.h"

#include <assert.h>

#define SEM_MAGIC 0x696d6573u /* "semi" */

typedef struct sem_impl {
    int64_t value;
    int64_t bound; /* bounded: the initial value; else -1 */
    corio__waitq q;
    uint32_t magic;
} sem_impl;

static_assert(sizeof(sem_impl) <= sizeof(corio_sem), "corio_sem too small");

static sem_impl *impl(const corio_sem *s)
{
    sem_impl *k = (sem_impl *)s;
    return k && k->magic == SEM_MAGIC ? k : NULL;
}

static int init(corio_sem *s, int64_t value, int64_t bound)
{
    sem_impl *k = (sem_impl *)s;
    if (!s || value < 0)
        return -EINVAL;
    k->value = value;
    k->bound = bound;
    k->q.head = k->q.tail = NULL;
    k->magic = SEM_MAGIC;
    return 0;
}

int corio_sem_init(corio_sem *s, int64_t value)
{
    return init(s, value, -1);
}

int corio_sem_init_bounded(corio_sem *s, int64_t value)
{
    return init(s, value, value);
}

void corio_sem_destroy(corio_sem *s)
{
    sem_impl *k = impl(s);
    if (!k)
        return;
    corio__waitq_grant_all(&k->q, -EBADF); /* the destructor rule */
    k->magic = 0;
}

int corio_sem_try_acquire(corio_sem *s)
{
    sem_impl *k = impl(s);
    if (!k)
        return -EINVAL;
    if (k->value == 0 || !corio__waitq_empty(&k->q))
        return -EAGAIN;
    k->value--;
    return 0;
}

int corio_sem_acquire(corio_sem *s)
{
    sem_impl *k = impl(s);
    if (!k)
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    if (k->value > 0 && corio__waitq_empty(&k->q)) {
        k->value--;
        return 0;
    }
    corio__waiter w;
    return corio__waitq_park(&k->q, &w, "semaphore", NULL);
}

int corio_sem_release(corio_sem *s)
{
    sem_impl *k = impl(s);
    if (!k)
        return -EINVAL;
    if (corio__waitq_grant(&k->q, 0))
        return 0;
    if (k->bound >= 0 && k->value >= k->bound) {
        CORIO__MISUSE(corio__cur, "bounded semaphore released too many times");
        return -EOVERFLOW;
    }
    k->value++;
    return 0;
}

int64_t corio_sem_value(const corio_sem *s)
{
    sem_impl *k = impl(s);
    return k ? k->value : 0;
}
