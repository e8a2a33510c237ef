/* test_lock.c — corio_lock: the uncontended path, try, the misuse codes
 * (-EPERM, -EDEADLK, -EBUSY, -EINVAL), FIFO hand-off with no barging,
 * mutual exclusion around a shared resource, and the plain cancel and
 * timeout cases.  The same-tick cancellation sweeps are in
 * test_sync_sweep.c. */
#include "tst.h"

static int set_flag(void *arg)
{
    *(int *)arg = 1;
    return 0;
}

/* ---- Uncontended ------------------------------------------------------ */

static int uncontended(void *arg)
{
    (void)arg;
    corio_lock l;
    corio_task *t;
    int ran = 0;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_lock_init(&l), 0);
    /* A task that would run at our first suspension: it must not run. */
    CHECK_EQ(corio_task_spawn(&t, set_flag, &ran), 0);
    CHECK_EQ(corio_lock_acquire(&l), 0);
    CHECK_EQ(corio_lock_release(&l), 0);
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ(corio_lock_acquire(&l), 0);
        CHECK_EQ(corio_lock_release(&l), 0);
    }
    CHECK_EQ(corio_lock_try_acquire(&l), 0);
    CHECK_EQ(corio_lock_try_acquire(&l), -EAGAIN); /* held (by us) */
    CHECK_EQ(corio_lock_release(&l), 0);
    CHECK_EQ(ran, 0); /* never suspended */
    CHECK_EQ(corio_now(), t0);
    corio_lock_destroy(&l);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(ran, 1);
    return 0;
}

TEST(lock, uncontended_lock_unlock_never_suspends)
{
    CHECK_EQ(tst_run(uncontended, NULL), 0);
}

/* ---- try -------------------------------------------------------------- */

static corio_lock shared_lock;

static int hold_for_arg(void *arg)
{
    CHECK_EQ(corio_lock_acquire(&shared_lock), 0);
    CHECK_EQ(corio_sleep((int64_t)(intptr_t)arg), 0);
    CHECK_EQ(corio_lock_release(&shared_lock), 0);
    return 0;
}

static int try_lock(void *arg)
{
    (void)arg;
    corio_task *t;
    CHECK_EQ(corio_lock_init(&shared_lock), 0);
    CHECK_EQ(corio_task_spawn(&t, hold_for_arg, (void *)(intptr_t)CORIO_SECOND),
             0);
    CHECK_EQ(corio_yield(), 0); /* t takes the lock and sleeps */
    int64_t t0 = corio_now();
    CHECK_EQ(corio_lock_try_acquire(&shared_lock), -EAGAIN);
    CHECK_EQ(corio_now(), t0); /* try never suspends */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(corio_lock_try_acquire(&shared_lock), 0);
    CHECK_EQ(corio_lock_release(&shared_lock), 0);
    corio_lock_destroy(&shared_lock);
    return 0;
}

TEST(lock, try_fails_busy_while_held_and_succeeds_once_free)
{
    CHECK_EQ(tst_run(try_lock, NULL), 0);
}

/* ---- Misuse ----------------------------------------------------------- */

static int non_owner(void *arg)
{
    (void)arg;
    corio_task *t;
    CHECK_EQ(corio_lock_init(&shared_lock), 0);
    CHECK_EQ(corio_lock_release(&shared_lock), -EPERM); /* free: nobody holds */
    CHECK_EQ(corio_task_spawn(&t, hold_for_arg, (void *)(intptr_t)CORIO_SECOND),
             0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_lock_release(&shared_lock), -EPERM); /* t holds it */
    CHECK_EQ(corio_lock_try_acquire(&shared_lock),
             -EAGAIN);                     /* ... and still does */
    CHECK_EQ(corio_task_join(t, NULL), 0); /* t's own unlock returned 0 */
    CHECK_EQ(corio_lock_release(&shared_lock), -EPERM);
    corio_lock_destroy(&shared_lock);
    return 0;
}

TEST(lock, unlock_by_non_owner_is_eperm)
{
    CHECK_EQ(tst_run(non_owner, NULL), 0);
}

static int twice(void *arg)
{
    (void)arg;
    corio_lock l;
    corio_task *t;
    int ran = 0;
    CHECK_EQ(corio_lock_init(&l), 0);
    CHECK_EQ(corio_task_spawn(&t, set_flag, &ran), 0);
    CHECK_EQ(corio_lock_acquire(&l), 0);
    CHECK_EQ(corio_lock_acquire(&l), -EDEADLK);
    CHECK_EQ(ran, 0); /* returned at once, without suspending */
    CHECK_EQ(corio_lock_release(&l), 0);
    CHECK_EQ(corio_lock_release(&l), -EPERM); /* held once, not twice */
    corio_lock_destroy(&l);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    return 0;
}

TEST(lock, lock_twice_is_edeadlk)
{
    CHECK_EQ(tst_run(twice, NULL), 0);
}

static int uninit(void *arg)
{
    (void)arg;
    corio_lock l = {{0}};
    CHECK_EQ(corio_lock_acquire(&l), -EINVAL);
    CHECK_EQ(corio_lock_try_acquire(&l), -EINVAL);
    CHECK_EQ(corio_lock_release(&l), -EINVAL);
    corio_lock_destroy(&l); /* not initialised: a no-op */
    CHECK_EQ(corio_lock_init(NULL), -EINVAL);
    return 0;
}

TEST(lock, uninitialised_is_einval)
{
    CHECK_EQ(tst_run(uninit, NULL), 0);
}

static int use_inside(void *arg)
{
    corio_lock *l = arg;
    CHECK_EQ(corio_lock_acquire(l), 0);
    CHECK_EQ(corio_lock_release(l), 0);
    return 0;
}

TEST(lock, calls_outside_a_task_are_eperm)
{
    corio_lock l;
    CHECK_EQ(corio_lock_init(&l), 0);
    CHECK_EQ(corio_lock_acquire(&l), -EPERM);
    CHECK_EQ(corio_lock_try_acquire(&l), -EPERM);
    CHECK_EQ(corio_lock_release(&l), -EPERM);
    /* Nothing was taken: the lock works in a task afterwards. */
    CHECK_EQ(tst_run(use_inside, &l), 0);
    corio_lock_destroy(&l);
}

/* ---- FIFO fairness ---------------------------------------------------- */

#define NFIFO 6

typedef struct fifo {
    corio_lock l;
    int order[NFIFO], n;
} fifo;

typedef struct fifo_arg {
    fifo *f;
    int i;
    int64_t delay;
} fifo_arg;

static int fifo_waiter(void *arg)
{
    fifo_arg *a = arg;
    CHECK_EQ(corio_sleep(a->delay), 0);
    CHECK_EQ(corio_lock_acquire(&a->f->l), 0);
    a->f->order[a->f->n++] = a->i;
    CHECK_EQ(corio_sleep(CORIO_MS), 0); /* hold it a while */
    CHECK_EQ(corio_lock_release(&a->f->l), 0);
    return 0;
}

static int fifo_order(void *arg)
{
    (void)arg;
    /* Spawn order differs from arrival order: arrival is what counts. */
    static const int64_t delay_ms[NFIFO] = {30, 10, 50, 20, 60, 40};
    static const int expect[NFIFO] = {1, 3, 0, 5, 2, 4};
    fifo f = {.n = 0};
    fifo_arg a[NFIFO];
    corio_task *t[NFIFO];
    CHECK_EQ(corio_lock_init(&f.l), 0);
    CHECK_EQ(corio_lock_acquire(&f.l), 0);
    for (int i = 0; i < NFIFO; i++) {
        a[i] = (fifo_arg){&f, i, delay_ms[i] * CORIO_MS};
        CHECK_EQ(corio_task_spawn(&t[i], fifo_waiter, &a[i]), 0);
    }
    CHECK_EQ(corio_sleep(100 * CORIO_MS), 0); /* all have queued */
    CHECK_EQ(f.n, 0);
    CHECK_EQ(corio_lock_release(&f.l), 0);
    CHECK_EQ(corio_gather(t, NFIFO, NULL), 0);
    CHECK_EQ(f.n, NFIFO);
    for (int i = 0; i < NFIFO; i++)
        CHECK_EQ(f.order[i], expect[i]);
    corio_lock_destroy(&f.l);
    return 0;
}

TEST(lock, waiters_acquire_in_arrival_order)
{
    CHECK_EQ(tst_run(fifo_order, NULL), 0);
}

static int log_order[4], nlog;

static int log_lock(void *arg)
{
    CHECK_EQ(corio_lock_acquire(&shared_lock), 0);
    log_order[nlog++] = (int)(intptr_t)arg;
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_lock_release(&shared_lock), 0);
    return 0;
}

static int no_barging(void *arg)
{
    (void)arg;
    corio_task *w, *newcomer;
    nlog = 0;
    CHECK_EQ(corio_lock_init(&shared_lock), 0);
    CHECK_EQ(corio_lock_acquire(&shared_lock), 0);
    CHECK_EQ(corio_task_spawn(&w, log_lock, (void *)(intptr_t)1), 0);
    CHECK_EQ(corio_yield(), 0); /* w queues */
    /* The newcomer is ready before w is woken, so it runs first after the
     * release; it must still queue behind w. */
    CHECK_EQ(corio_task_spawn(&newcomer, log_lock, (void *)(intptr_t)2), 0);
    CHECK_EQ(corio_lock_release(&shared_lock), 0);
    /* Ownership moved to w at the release: we cannot take it back. */
    CHECK_EQ(corio_lock_try_acquire(&shared_lock), -EAGAIN);
    CHECK_EQ(corio_task_join(w, NULL), 0);
    CHECK_EQ(corio_task_join(newcomer, NULL), 0);
    CHECK_EQ(nlog, 2);
    CHECK_EQ(log_order[0], 1); /* the queued waiter first */
    CHECK_EQ(log_order[1], 2);
    corio_lock_destroy(&shared_lock);
    return 0;
}

TEST(lock, newcomer_after_release_cannot_barge)
{
    CHECK_EQ(tst_run(no_barging, NULL), 0);
}

/* ---- A lock protecting a shared resource (the seed's `async with lock`) */

#define NWORKERS 10
#define NITER 20

typedef struct resource {
    corio_lock l;
    int use_lock;
    int counter;
    int inside, max_inside;
} resource;

static int increment(void *arg)
{
    resource *r = arg;
    for (int i = 0; i < NITER; i++) {
        if (r->use_lock)
            CHECK_EQ(corio_lock_acquire(&r->l), 0);
        if (++r->inside > r->max_inside)
            r->max_inside = r->inside;
        int v = r->counter;                           /* read */
        CHECK_EQ(corio_sleep((i % 3) * CORIO_MS), 0); /* other tasks run */
        r->counter = v + 1;                           /* write */
        r->inside--;
        if (r->use_lock)
            CHECK_EQ(corio_lock_release(&r->l), 0);
    }
    return 0;
}

static int shared_resource(void *arg)
{
    resource *r = arg;
    corio_task *t[NWORKERS];
    CHECK_EQ(corio_lock_init(&r->l), 0);
    for (int i = 0; i < NWORKERS; i++)
        CHECK_EQ(corio_task_spawn(&t[i], increment, r), 0);
    CHECK_EQ(corio_gather(t, NWORKERS, NULL), 0);
    corio_lock_destroy(&r->l);
    return 0;
}

TEST(lock, protects_a_shared_resource)
{
    resource r = {.use_lock = 1};
    CHECK_EQ(tst_run(shared_resource, &r), 0);
    CHECK_EQ(r.counter, NWORKERS * NITER);
    CHECK_EQ(r.max_inside, 1);
    /* The same workload without the lock loses updates: the test above
     * would notice a lock that does not exclude. */
    resource bare = {.use_lock = 0};
    CHECK_EQ(tst_run(shared_resource, &bare), 0);
    CHECK(bare.counter < NWORKERS * NITER);
    CHECK(bare.max_inside > 1);
}

/* ---- Cancellation and timeouts (simple cases) ------------------------- */

static int cancellable_lock(void *arg)
{
    int *rc = arg;
    *rc = corio_lock_acquire(&shared_lock);
    if (*rc == 0)
        return corio_lock_release(&shared_lock);
    /* Not the owner after an error. */
    CHECK_EQ(corio_lock_release(&shared_lock), -EPERM);
    return 0;
}

static int cancel_waiter(void *arg)
{
    (void)arg;
    corio_task *t, *u;
    int rc = 1, rc2 = 1;
    CHECK_EQ(corio_lock_init(&shared_lock), 0);
    CHECK_EQ(corio_lock_acquire(&shared_lock), 0);
    CHECK_EQ(corio_task_spawn(&t, cancellable_lock, &rc), 0);
    CHECK_EQ(corio_task_spawn(&u, cancellable_lock, &rc2), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0); /* both queue */
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(rc, -ECANCELED);
    CHECK_EQ(rc2, 1);                              /* u still waits */
    CHECK_EQ(corio_lock_release(&shared_lock), 0); /* to u, not to t */
    CHECK_EQ(corio_task_join(u, NULL), 0);
    CHECK_EQ(rc2, 0);
    CHECK_EQ(corio_lock_try_acquire(&shared_lock), 0); /* free again */
    CHECK_EQ(corio_lock_release(&shared_lock), 0);
    corio_lock_destroy(&shared_lock);
    return 0;
}

TEST(lock, cancelled_waiter_returns_ecanceled_without_the_lock)
{
    CHECK_EQ(tst_run(cancel_waiter, NULL), 0);
}

static int timed_lock(void *arg)
{
    int *rc = arg;
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    *rc = corio_lock_acquire(&shared_lock);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_lock_release(&shared_lock), -EPERM);
    return 0;
}

static int timeout_waiter(void *arg)
{
    (void)arg;
    corio_task *t;
    int rc = 1;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_lock_init(&shared_lock), 0);
    CHECK_EQ(corio_lock_acquire(&shared_lock), 0);
    CHECK_EQ(corio_task_spawn(&t, timed_lock, &rc), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, CORIO_SECOND); /* exactly at the deadline */
    CHECK_EQ(corio_lock_release(&shared_lock), 0);
    corio_lock_destroy(&shared_lock); /* no waiter left behind */
    return 0;
}

TEST(lock, timed_out_waiter_returns_etimedout_without_the_lock)
{
    CHECK_EQ(tst_run(timeout_waiter, NULL), 0);
}

static int self_cancel_lock(void *arg)
{
    int *rc = arg;
    corio_task_cancel(corio_task_current());
    *rc = corio_lock_acquire(&shared_lock);
    if (*rc == 0)
        CHECK_EQ(corio_lock_release(&shared_lock), 0);
    return 0;
}

static int cancelled_task_locks(void *arg)
{
    (void)arg;
    corio_task *t;
    int rc = 1;
    CHECK_EQ(corio_lock_init(&shared_lock), 0);
    /* A free lock needs no wait: taken even by a cancelled task. */
    CHECK_EQ(corio_task_spawn(&t, self_cancel_lock, &rc), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(rc, 0);
    /* A held one: a cancelled task fails at once and stays queued nowhere. */
    CHECK_EQ(corio_lock_acquire(&shared_lock), 0);
    rc = 1;
    CHECK_EQ(corio_task_spawn(&t, self_cancel_lock, &rc), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(rc, -ECANCELED);
    CHECK_EQ(corio_lock_release(&shared_lock), 0);
    corio_lock_destroy(&shared_lock); /* no waiter left */
    return 0;
}

TEST(lock, free_lock_is_taken_even_when_cancelled)
{
    CHECK_EQ(tst_run(cancelled_task_locks, NULL), 0);
}
