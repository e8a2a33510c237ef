/* test_sem.c — corio_sem: counting, bounded (-EOVERFLOW), try_acquire,
 * FIFO hand-off with no barging, the seeds' "50 jobs, at most 10 at once",
 * plain cancel and timeout cases, and the misuse codes.  The same-tick
 * cancellation sweeps are in test_sync_sweep.c. */
#include "tst.h"

static int set_flag(void *arg)
{
    *(int *)arg = 1;
    return 0;
}

static corio_sem sem;

typedef struct acq {
    int rc;
    int64_t at;
    int64_t timeout; /* 0: none */
} acq;

/* Acquire (within a timeout scope if asked) and keep the permit. */
static int acquire_keep(void *arg)
{
    acq *a = arg;
    if (a->timeout)
        CHECK_EQ(corio_timeout_begin(a->timeout), 0);
    a->rc = corio_sem_acquire(&sem);
    a->at = corio_now();
    if (a->timeout)
        corio_timeout_end();
    return 0;
}

/* ---- Counting --------------------------------------------------------- */

static int counting(void *arg)
{
    (void)arg;
    corio_task *t;
    int ran = 0;
    acq a = {.rc = 1};
    int64_t t0 = corio_now();
    CHECK_EQ(corio_sem_init(&sem, 3), 0);
    CHECK_EQ(corio_sem_value(&sem), 3);
    CHECK_EQ(corio_task_spawn(&t, set_flag, &ran), 0);
    for (int i = 2; i >= 0; i--) {
        CHECK_EQ(corio_sem_acquire(&sem), 0);
        CHECK_EQ(corio_sem_value(&sem), i);
    }
    CHECK_EQ(ran, 0); /* three permits taken without suspending */
    CHECK_EQ(corio_now(), t0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    /* The fourth waits until a release. */
    CHECK_EQ(corio_task_spawn(&t, acquire_keep, &a), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(a.rc, 1);
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_sem_value(&sem), 0); /* handed over, not counted */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(a.rc, 0);
    CHECK_EQ(a.at - t0, CORIO_SECOND);
    /* Unbounded: releases beyond the initial value just count up. */
    for (int i = 1; i <= 5; i++) {
        CHECK_EQ(corio_sem_release(&sem), 0);
        CHECK_EQ(corio_sem_value(&sem), i);
    }
    corio_sem_destroy(&sem);
    return 0;
}

TEST(sem, counts_permits)
{
    CHECK_EQ(tst_run(counting, NULL), 0);
}

static int zero_permits(void *arg)
{
    (void)arg;
    corio_task *t;
    acq a = {.rc = 1};
    CHECK_EQ(corio_sem_init(&sem, 0), 0);
    CHECK_EQ(corio_sem_try_acquire(&sem), -EAGAIN);
    CHECK_EQ(corio_task_spawn(&t, acquire_keep, &a), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(a.rc, 1);
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(a.rc, 0);
    CHECK_EQ(corio_sem_value(&sem), 0);
    corio_sem_destroy(&sem);
    return 0;
}

TEST(sem, zero_initial_value_waits_for_a_release)
{
    CHECK_EQ(tst_run(zero_permits, NULL), 0);
}

/* ---- Bounded ---------------------------------------------------------- */

static int bounded(void *arg)
{
    (void)arg;
    corio_task *t;
    acq a = {.rc = 1};
    CHECK_EQ(corio_sem_init_bounded(&sem, 2), 0);
    CHECK_EQ(corio_sem_release(&sem), -EOVERFLOW);
    CHECK_EQ(corio_sem_value(&sem), 2); /* nothing changed */
    CHECK_EQ(corio_sem_acquire(&sem), 0);
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_sem_release(&sem), -EOVERFLOW);
    CHECK_EQ(corio_sem_value(&sem), 2);
    /* A release with a waiter hands the permit over. */
    CHECK_EQ(corio_sem_acquire(&sem), 0);
    CHECK_EQ(corio_sem_acquire(&sem), 0);
    CHECK_EQ(corio_task_spawn(&t, acquire_keep, &a), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(a.rc, 0);
    CHECK_EQ(corio_sem_value(&sem), 0);
    /* Two permits are out (ours and t's): two releases fit, a third not. */
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_sem_release(&sem), -EOVERFLOW);
    CHECK_EQ(corio_sem_value(&sem), 2);
    corio_sem_destroy(&sem);
    /* Bounded at 0: no release ever fits without a waiter. */
    CHECK_EQ(corio_sem_init_bounded(&sem, 0), 0);
    CHECK_EQ(corio_sem_release(&sem), -EOVERFLOW);
    CHECK_EQ(corio_sem_value(&sem), 0);
    corio_sem_destroy(&sem);
    return 0;
}

TEST(sem, bounded_release_beyond_initial_is_eoverflow)
{
    CHECK_EQ(tst_run(bounded, NULL), 0);
}

/* ---- try_acquire ------------------------------------------------------ */

static int try_acquire(void *arg)
{
    (void)arg;
    corio_task *t;
    int ran = 0;
    acq a = {.rc = 1};
    CHECK_EQ(corio_sem_init(&sem, 1), 0);
    CHECK_EQ(corio_task_spawn(&t, set_flag, &ran), 0);
    CHECK_EQ(corio_sem_try_acquire(&sem), 0);
    CHECK_EQ(corio_sem_value(&sem), 0);
    CHECK_EQ(corio_sem_try_acquire(&sem), -EAGAIN);
    CHECK_EQ(corio_sem_value(&sem), 0);
    CHECK_EQ(ran, 0); /* never suspends */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    /* With a waiter queued, a release goes to it: try must not take it. */
    CHECK_EQ(corio_task_spawn(&t, acquire_keep, &a), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_sem_try_acquire(&sem), -EAGAIN);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(a.rc, 0);
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_sem_try_acquire(&sem), 0);
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_sem_value(&sem), 1);
    corio_sem_destroy(&sem);
    return 0;
}

TEST(sem, try_acquire_never_suspends)
{
    CHECK_EQ(tst_run(try_acquire, NULL), 0);
}

/* ---- FIFO fairness ---------------------------------------------------- */

#define NFIFO 6

static int order[NFIFO + 1], norder;

typedef struct fifo_arg {
    int i;
    int64_t delay;
} fifo_arg;

static int fifo_waiter(void *arg)
{
    fifo_arg *a = arg;
    if (a->delay)
        CHECK_EQ(corio_sleep(a->delay), 0);
    CHECK_EQ(corio_sem_acquire(&sem), 0);
    order[norder++] = a->i;
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(corio_sem_release(&sem), 0);
    return 0;
}

static int fifo(void *arg)
{
    (void)arg;
    static const int64_t delay_ms[NFIFO] = {30, 10, 50, 20, 60, 40};
    static const int expect[NFIFO] = {1, 3, 0, 5, 2, 4};
    fifo_arg a[NFIFO];
    corio_task *t[NFIFO];
    norder = 0;
    CHECK_EQ(corio_sem_init_bounded(&sem, 2), 0);
    CHECK_EQ(corio_sem_acquire(&sem), 0);
    CHECK_EQ(corio_sem_acquire(&sem), 0);
    for (int i = 0; i < NFIFO; i++) {
        a[i] = (fifo_arg){i, delay_ms[i] * CORIO_MS};
        CHECK_EQ(corio_task_spawn(&t[i], fifo_waiter, &a[i]), 0);
    }
    CHECK_EQ(corio_sleep(100 * CORIO_MS), 0);
    CHECK_EQ(norder, 0);
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_gather(t, NFIFO, NULL), 0);
    CHECK_EQ(norder, NFIFO);
    for (int i = 0; i < NFIFO; i++)
        CHECK_EQ(order[i], expect[i]);
    CHECK_EQ(corio_sem_value(&sem), 2);
    corio_sem_destroy(&sem);
    return 0;
}

TEST(sem, waiters_acquire_in_arrival_order)
{
    CHECK_EQ(tst_run(fifo, NULL), 0);
}

static int no_barging(void *arg)
{
    (void)arg;
    corio_task *w, *newcomer;
    fifo_arg a1 = {1, 0}, a2 = {2, 0};
    norder = 0;
    CHECK_EQ(corio_sem_init(&sem, 1), 0);
    CHECK_EQ(corio_sem_acquire(&sem), 0);
    CHECK_EQ(corio_task_spawn(&w, fifo_waiter, &a1), 0);
    CHECK_EQ(corio_yield(), 0); /* w queues */
    /* Ready before w is woken, so it runs first after the release. */
    CHECK_EQ(corio_task_spawn(&newcomer, fifo_waiter, &a2), 0);
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_task_join(w, NULL), 0);
    CHECK_EQ(corio_task_join(newcomer, NULL), 0);
    CHECK_EQ(norder, 2);
    CHECK_EQ(order[0], 1);
    CHECK_EQ(order[1], 2);
    CHECK_EQ(corio_sem_value(&sem), 1);
    corio_sem_destroy(&sem);
    return 0;
}

TEST(sem, newcomer_after_release_cannot_barge)
{
    CHECK_EQ(tst_run(no_barging, NULL), 0);
}

/* ---- The seeds' pattern: 50 jobs, at most 10 at once ------------------ */

#define NJOBS 50
#define LIMIT 10

typedef struct jobs {
    corio_sem s;
    int active, max_active, ran;
} jobs;

typedef struct job_arg {
    jobs *j;
    int i;
} job_arg;

static int job(void *arg)
{
    job_arg *a = arg;
    jobs *j = a->j;
    CHECK_EQ(corio_sem_acquire(&j->s), 0);
    if (++j->active > j->max_active)
        j->max_active = j->active;
    /* A "fetch" of 100..500 ms. */
    CHECK_EQ(corio_sleep((a->i % 5 + 1) * 100 * CORIO_MS), 0);
    j->active--;
    j->ran++;
    CHECK_EQ(corio_sem_release(&j->s), 0);
    return 0;
}

static int fifty_jobs(void *arg)
{
    (void)arg;
    jobs j = {.ran = 0};
    job_arg a[NJOBS];
    corio_task *t[NJOBS];
    int64_t t0 = corio_now();
    CHECK_EQ(corio_sem_init_bounded(&j.s, LIMIT), 0);
    for (int i = 0; i < NJOBS; i++) {
        a[i] = (job_arg){&j, i};
        CHECK_EQ(corio_task_spawn(&t[i], job, &a[i]), 0);
    }
    CHECK_EQ(corio_gather(t, NJOBS, NULL), 0);
    CHECK_EQ(j.ran, NJOBS);
    CHECK_EQ(j.max_active, LIMIT);
    CHECK_EQ(j.active, 0);
    CHECK_EQ(corio_sem_value(&j.s), LIMIT);
    /* 15 s of work at 10 at once: at least 1.5 s, and FIFO hand-off with
     * no idle permit means it is far below the 15 s of running serially. */
    int64_t took = corio_now() - t0;
    CHECK(took >= 1500 * CORIO_MS);
    CHECK(took < 3 * CORIO_SECOND);
    corio_sem_destroy(&j.s);
    return 0;
}

TEST(sem, fifty_jobs_at_most_ten_at_once)
{
    CHECK_EQ(tst_run(fifty_jobs, NULL), 0);
}

/* ---- Cancellation and timeouts ---------------------------------------- */

static int cancel_waiter(void *arg)
{
    (void)arg;
    corio_task *t, *u;
    acq a = {.rc = 1}, b = {.rc = 1};
    CHECK_EQ(corio_sem_init_bounded(&sem, 1), 0);
    CHECK_EQ(corio_sem_acquire(&sem), 0);
    CHECK_EQ(corio_task_spawn(&t, acquire_keep, &a), 0);
    CHECK_EQ(corio_task_spawn(&u, acquire_keep, &b), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(a.rc, -ECANCELED);
    CHECK_EQ(corio_sem_value(&sem), 0);
    CHECK_EQ(corio_sem_release(&sem), 0); /* to u, not lost on t */
    CHECK_EQ(corio_task_join(u, NULL), 0);
    CHECK_EQ(b.rc, 0);
    CHECK_EQ(corio_sem_release(&sem), 0); /* u's permit back */
    CHECK_EQ(corio_sem_value(&sem), 1);
    corio_sem_destroy(&sem);
    return 0;
}

TEST(sem, cancelled_waiter_takes_no_permit)
{
    CHECK_EQ(tst_run(cancel_waiter, NULL), 0);
}

static int timeout_waiter(void *arg)
{
    (void)arg;
    corio_task *t;
    acq a = {.rc = 1, .timeout = CORIO_SECOND};
    int64_t t0 = corio_now();
    CHECK_EQ(corio_sem_init_bounded(&sem, 1), 0);
    CHECK_EQ(corio_sem_acquire(&sem), 0);
    CHECK_EQ(corio_task_spawn(&t, acquire_keep, &a), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(a.rc, -ETIMEDOUT);
    CHECK_EQ(a.at - t0, CORIO_SECOND);
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_sem_value(&sem), 1);
    corio_sem_destroy(&sem); /* nobody left queued */
    return 0;
}

TEST(sem, timed_out_waiter_takes_no_permit)
{
    CHECK_EQ(tst_run(timeout_waiter, NULL), 0);
}

static int self_cancel_acquire(void *arg)
{
    acq *a = arg;
    corio_task_cancel(corio_task_current());
    a->rc = corio_sem_acquire(&sem);
    return 0;
}

static int cancelled_acquire(void *arg)
{
    (void)arg;
    corio_task *t;
    acq a = {.rc = 1};
    CHECK_EQ(corio_sem_init(&sem, 1), 0);
    /* A free permit needs no wait: taken even by a cancelled task. */
    CHECK_EQ(corio_task_spawn(&t, self_cancel_acquire, &a), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(a.rc, 0);
    CHECK_EQ(corio_sem_value(&sem), 0);
    /* None free: fails at once, takes nothing, stays queued nowhere. */
    a.rc = 1;
    CHECK_EQ(corio_task_spawn(&t, self_cancel_acquire, &a), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(a.rc, -ECANCELED);
    CHECK_EQ(corio_sem_release(&sem), 0);
    CHECK_EQ(corio_sem_value(&sem), 1);
    corio_sem_destroy(&sem);
    return 0;
}

TEST(sem, free_permit_is_taken_even_when_cancelled)
{
    CHECK_EQ(tst_run(cancelled_acquire, NULL), 0);
}

/* ---- Misuse ----------------------------------------------------------- */

static int misuse(void *arg)
{
    (void)arg;
    corio_sem zero = {{0}}, s;
    CHECK_EQ(corio_sem_init(&s, -1), -EINVAL);
    CHECK_EQ(corio_sem_init_bounded(&s, -1), -EINVAL);
    CHECK_EQ(corio_sem_init(NULL, 1), -EINVAL);
    CHECK_EQ(corio_sem_acquire(&zero), -EINVAL);
    CHECK_EQ(corio_sem_try_acquire(&zero), -EINVAL);
    CHECK_EQ(corio_sem_release(&zero), -EINVAL);
    corio_sem_destroy(&zero); /* not initialised: a no-op */
    CHECK_EQ(corio_sem_value(&zero), 0);
    CHECK_EQ(corio_sem_init(&s, 1), 0);
    corio_sem_destroy(&s);
    CHECK_EQ(corio_sem_acquire(&s), -EINVAL); /* destroyed */
    CHECK_EQ(corio_sem_release(&s), -EINVAL);
    return 0;
}

TEST(sem, uninitialised_or_destroyed_is_einval)
{
    CHECK_EQ(tst_run(misuse, NULL), 0);
}

TEST(sem, acquire_outside_a_task_is_eperm)
{
    corio_sem s;
    CHECK_EQ(corio_sem_init(&s, 1), 0);
    CHECK_EQ(corio_sem_acquire(&s), -EPERM);
    CHECK_EQ(corio_sem_value(&s), 1); /* nothing taken */
    corio_sem_destroy(&s);
    CHECK_EQ(corio_sem_init(&s, 0), 0);
    CHECK_EQ(corio_sem_acquire(&s), -EPERM);
    corio_sem_destroy(&s);
}
