/* corio/sync.h — synchronisation between the tasks of one loop: lock,
 * event, condition, semaphore, queue and rate limiter.
 *
 * All are FIFO-fair: waiters are served in arrival order, and a release
 * hands the lock, permit, item or tokens directly to the first waiter.
 *
 * Cancel safety (every suspending call says what holds after -ECANCELED /
 * -ETIMEDOUT): a waiter is interrupted only while it has not been served;
 * once served it returns success and owns what it was given, even if the
 * cancellation arrives in the same tick.  So nothing is ever lost or
 * duplicated: an interrupted waiter holds nothing, and what it did not get
 * goes to the next waiter.
 *
 * Lock, event, condition and semaphore live in caller storage of a fixed
 * ABI size (init/destroy; no allocation, an uncontended acquire is a few
 * instructions).  Queue and limiter are heap objects (new/free).
 *
 * Thread-safety: loop-thread only, and a primitive belongs to the loop of
 * the task that first uses it.  For other threads see corio/chan.h and
 * corio/remote.h. */
#ifndef CORIO_SYNC_H
#define CORIO_SYNC_H

#include "base.h"
#include "scope.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Lock (asyncio.Lock) ---------------------------------------------- */

typedef struct corio_lock {
    uint64_t opaque[4];
} corio_lock;

/* Initialise an unlocked lock.  Returns 0. */
CORIO_API int corio_lock_init(corio_lock *l);

/* Destroy l (the destructor rule, docs/design.md: tasks still waiting are
 * woken and their corio_lock_acquire returns -EBADF; destroying a held lock
 * is a bug debug mode reports).  Never suspends. */
CORIO_API void corio_lock_destroy(corio_lock *l);

/* Acquire l, suspending while another task holds it.
 * Returns 0, or:
 *   -EDEADLK  the caller already holds l.
 *   -ECANCELED / -ETIMEDOUT, -EPERM, -EINVAL (not initialised).
 * A free lock is taken even by a cancelled task (no wait needed).
 * Cancel-safe: yes.  On an error the caller does not hold l; a waiter
 * handed l in the tick it was cancelled returns 0 and holds it. */
CORIO_API CORIO_NODISCARD int corio_lock_acquire(corio_lock *l);

/* Acquire l if it is free.  Returns 0 or -EAGAIN (held), -EPERM,
 * -EINVAL.  Never suspends. */
CORIO_API CORIO_NODISCARD int corio_lock_try_acquire(corio_lock *l);

/* Release l, handing it to the first waiter if any.
 * Returns 0, or -EPERM if the caller does not hold it.  Never suspends. */
CORIO_API int corio_lock_release(corio_lock *l);

/* ---- Event (asyncio.Event) -------------------------------------------- */

typedef struct corio_event {
    uint64_t opaque[4];
} corio_event;

/* Initialise a clear event.  Returns 0. */
CORIO_API int corio_event_init(corio_event *e);
/* Destroy e; tasks still waiting are woken with -EBADF (the destructor
 * rule).  Never suspends. */
CORIO_API void corio_event_destroy(corio_event *e);
/* Set e and wake every waiter.  Never suspends. */
CORIO_API void corio_event_set(corio_event *e);
/* Clear e.  Never suspends. */
CORIO_API void corio_event_clear(corio_event *e);
/* 1 if e is set, else 0. */
CORIO_API int corio_event_is_set(const corio_event *e);

/* Wait until e is set (returns at once if it is).
 * Returns 0, or -ECANCELED / -ETIMEDOUT, -EPERM, -EINVAL.
 * Cancel-safe: yes (an event is not consumed). */
CORIO_API CORIO_NODISCARD int corio_event_wait(corio_event *e);

/* ---- Condition (asyncio.Condition) ------------------------------------ */

typedef struct corio_cond {
    uint64_t opaque[4];
} corio_cond;

/* Initialise c, bound to lock (borrowed: it must outlive c).  Returns 0 or
 * -EINVAL. */
CORIO_API int corio_cond_init(corio_cond *c, corio_lock *lock);
/* Destroy c; tasks still waiting are woken, re-acquire the lock and
 * return -EBADF (the destructor rule).  Never suspends. */
CORIO_API void corio_cond_destroy(corio_cond *c);

/* Release the lock, wait for a notification, re-acquire the lock.  The
 * caller must hold the lock; it holds it again when this returns, whatever
 * the result (re-acquiring waits without being interruptible).
 * Returns 0, or:
 *   -EPERM      the caller does not hold the lock (nothing happened).
 *   -ECANCELED / -ETIMEDOUT  interrupted before being notified.
 * Cancel-safe: yes; a waiter notified in the tick it was cancelled returns
 * 0, so a notification is never lost. */
CORIO_API CORIO_NODISCARD int corio_cond_wait(corio_cond *c);

/* Wait until pred(arg) is true, checking it with the lock held: returns at
 * once if it already is.  Returns 0 or an error of corio_cond_wait.
 * Cancel-safe: as corio_cond_wait; the lock is held on return. */
CORIO_API CORIO_NODISCARD int
corio_cond_wait_for(corio_cond *c, int (*pred)(void *arg), void *arg);

/* Wake up to n waiters (the caller should hold the lock).  Returns how many
 * were woken.  Never suspends. */
CORIO_API int corio_cond_notify(corio_cond *c, int n);
/* Wake every waiter.  Returns how many were woken. */
CORIO_API int corio_cond_notify_all(corio_cond *c);

/* ---- Semaphore (asyncio.Semaphore, BoundedSemaphore) ------------------ */

typedef struct corio_sem {
    uint64_t opaque[6];
} corio_sem;

/* Initialise a semaphore with `value` permits (>= 0).  Returns 0 or
 * -EINVAL. */
CORIO_API int corio_sem_init(corio_sem *s, int64_t value);
/* The same, bounded: releasing beyond `value` permits is an error. */
CORIO_API int corio_sem_init_bounded(corio_sem *s, int64_t value);
/* Destroy s; tasks still waiting are woken with -EBADF (the destructor
 * rule).  Never suspends. */
CORIO_API void corio_sem_destroy(corio_sem *s);

/* Take a permit, suspending while none is free (or others wait first).
 * Returns 0, or -ECANCELED / -ETIMEDOUT, -EPERM, -EINVAL.
 * Cancel-safe: yes.  On an error no permit was taken; a waiter handed a
 * permit in the tick it was cancelled returns 0 and holds it. */
CORIO_API CORIO_NODISCARD int corio_sem_acquire(corio_sem *s);

/* Take a permit if one is free and nobody waits.  Returns 0 or -EAGAIN.
 * Never suspends. */
CORIO_API CORIO_NODISCARD int corio_sem_try_acquire(corio_sem *s);

/* Give a permit back (to the first waiter, if any).
 * Returns 0, or -EOVERFLOW (bounded, already at its initial value: nothing
 * changed).  Never suspends. */
CORIO_API int corio_sem_release(corio_sem *s);

/* Free permits now (0 while tasks wait). */
CORIO_API int64_t corio_sem_value(const corio_sem *s);

/* ---- Queue (asyncio.Queue, LifoQueue, PriorityQueue) ------------------ */

typedef struct corio_queue corio_queue;

enum corio_queue_order {
    CORIO_QUEUE_FIFO,
    CORIO_QUEUE_LIFO,
    CORIO_QUEUE_PRIORITY
};

/* Options for corio_queue_new (NULL: unbounded FIFO).
 *   order     FIFO, LIFO, or PRIORITY (smallest first by cmp; equal items
 *             leave in the order they were put).
 *   capacity  most items held (0: unbounded, limited by memory).
 *   cmp       PRIORITY only: like strcmp on two items. */
typedef struct corio_queue_opts {
    enum corio_queue_order order;
    size_t capacity;
    int (*cmp)(const void *a, const void *b);
} corio_queue_opts;

/* Create a queue of void * items (the queue stores the pointers; items are
 * the caller's).  Returns 0 and *out, or -EINVAL, -ENOMEM (*out = NULL).
 * Never suspends. */
CORIO_API CORIO_NODISCARD int corio_queue_new(corio_queue **out,
                                              const corio_queue_opts *o);

/* Free q (NULL is a no-op).  Items still inside are not touched (they are
 * the caller's pointers).  Tasks still waiting on q are woken and their
 * calls return -EBADF (the destructor rule, docs/design.md).  Never
 * suspends. */
CORIO_API void corio_queue_free(corio_queue *q);

/* Put item, suspending while the queue is full.
 * Returns 0, or:
 *   CORIO_ESHUTDOWN  the queue was shut down (also for putters waiting when
 *                  it is).
 *   -EBADF         the queue was freed while this task waited.
 *   -ECANCELED / -ETIMEDOUT, -EPERM, -ENOMEM (unbounded growth).
 * Cancel-safe: yes.  On an error the item was not queued (the caller still
 * owns it); a putter whose item was taken in the tick it was cancelled
 * returns 0. */
CORIO_API CORIO_NODISCARD int corio_queue_put(corio_queue *q, void *item);

/* Take the next item into *item, suspending while the queue is empty.
 * Returns 0, or:
 *   CORIO_ESHUTDOWN  the queue was shut down and is empty.
 *   -EBADF         the queue was freed while this task waited.
 *   -ECANCELED / -ETIMEDOUT, -EPERM.
 * Items already queued are taken even by a cancelled task.
 * Cancel-safe: yes.  On an error no item was removed; a getter handed an
 * item in the tick it was cancelled returns 0 with it. */
CORIO_API CORIO_NODISCARD int corio_queue_get(corio_queue *q, void **item);

/* Put without suspending.  Returns 0, -EAGAIN (full), CORIO_ESHUTDOWN,
 * -ENOMEM. */
CORIO_API CORIO_NODISCARD int corio_queue_try_put(corio_queue *q, void *item);
/* Get without suspending.  Returns 0, -EAGAIN (empty), CORIO_ESHUTDOWN. */
CORIO_API CORIO_NODISCARD int corio_queue_try_get(corio_queue *q, void **item);

/* Mark one item taken earlier as processed (asyncio's task_done).
 * Returns 0, or -EINVAL if called more times than items were put. */
CORIO_API int corio_queue_task_done(corio_queue *q);

/* Wait until every item put has been marked done.
 * Returns 0, or -ECANCELED / -ETIMEDOUT, -EPERM.
 * Cancel-safe: yes (nothing to lose). */
CORIO_API CORIO_NODISCARD int corio_queue_join(corio_queue *q);

/* Stop accepting items (asyncio 3.13's Queue.shutdown): putters, waiting
 * or later, get CORIO_ESHUTDOWN at once.  With immediate == 0 getters drain
 * what is left, then get CORIO_ESHUTDOWN.  With immediate != 0 the items
 * left are dropped (not freed: drain them with corio_queue_try_get first
 * if they own memory) and count as done, so corio_queue_join returns once
 * the items already taken are marked done; getters get CORIO_ESHUTDOWN at
 * once.  q stays valid until corio_queue_free.  Calling it again is a
 * no-op (except that immediate can still drop the rest).  Never suspends. */
CORIO_API void corio_queue_shutdown(corio_queue *q, int immediate);

/* Items in q now. */
CORIO_API size_t corio_queue_size(const corio_queue *q);

/* ---- Rate limiter (token bucket) -------------------------------------- */

typedef struct corio_limiter corio_limiter;

/* Create a token bucket filled at `rate` tokens per second (> 0) holding at
 * most `burst` tokens (>= 1); it starts full.
 * Returns 0 and *out, or -EINVAL, -ENOMEM (*out = NULL). */
CORIO_API CORIO_NODISCARD int corio_limiter_new(corio_limiter **out,
                                                double rate, int64_t burst);

/* Free l (NULL is a no-op).  Tasks still waiting on it are woken and their
 * corio_limiter_acquire returns -EBADF (the destructor rule,
 * docs/design.md).  Never suspends. */
CORIO_API void corio_limiter_free(corio_limiter *l);

/* Take n tokens, suspending exactly until they have accumulated; waiters
 * are served in FIFO order (a large request is not overtaken by small
 * ones).  Timed by the loop's timers: no polling.
 * Returns 0, or:
 *   -EINVAL  n < 1 or n > burst (could never be served).
 *   -ECANCELED / -ETIMEDOUT, -EPERM.
 * Cancel-safe: yes.  On an error no token was taken; a waiter granted its
 * tokens in the tick it was cancelled returns 0. */
CORIO_API CORIO_NODISCARD int corio_limiter_acquire(corio_limiter *l,
                                                    int64_t n);

/* Take n tokens if they are there and nobody waits.  Returns 0, -EAGAIN or
 * -EINVAL.  Never suspends. */
CORIO_API CORIO_NODISCARD int corio_limiter_try_acquire(corio_limiter *l,
                                                        int64_t n);

/* ---- Block forms (see corio/scope.h) ------------------------------------
 *
 *   CORIO_WITH_LOCK(&account.lock, rc) {         async with lock:
 *       if (balance < amount)
 *           return -EAGAIN;                      released here too
 *       balance -= amount;
 *   }
 *   if (rc < 0) ...                              the acquire failed
 *
 * rc (an int lvalue) receives the acquire's result; the block runs only if
 * it is 0, and the lock (one permit) is released when the block is left in
 * any way.  GCC and Clang. */
#if defined(__GNUC__) || defined(__clang__)
static inline void corio__lock_block_end(void *l)
{
    (void)corio_lock_release((corio_lock *)l);
}

static inline void corio__sem_block_end(void *s)
{
    (void)corio_sem_release((corio_sem *)s);
}

#define CORIO_WITH_LOCK(l, rc)                                                 \
    CORIO__WITH(CORIO__CAT(corio__g, __LINE__),                                \
                corio__block_make(corio__lock_block_end, (l),                  \
                                  corio_lock_acquire(l), &(rc)))
#define CORIO_WITH_SEM(s, rc)                                                  \
    CORIO__WITH(CORIO__CAT(corio__g, __LINE__),                                \
                corio__block_make(corio__sem_block_end, (s),                   \
                                  corio_sem_acquire(s), &(rc)))
#endif

#ifdef __cplusplus
}
#endif
#endif
