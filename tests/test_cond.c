/* test_cond.c — corio_cond: notify(1) in FIFO order, notify(n), notify_all,
 * re-acquiring the lock before returning (also when cancelled or timed
 * out), wait_for a predicate, a notification delivered in the tick of a
 * cancellation, and the misuse codes.  The same-tick cancellation sweeps
 * are in test_sync_sweep.c. */
#include "tst.h"

static int set_flag(void *arg)
{
    *(int *)arg = 1;
    return 0;
}

#define NW 5

typedef struct cv {
    corio_lock l;
    corio_cond c;
    int rc[NW];
    int order[NW], n; /* who returned, in order */
    int waiting;
} cv;

typedef struct cv_arg {
    cv *v;
    int i;
    int64_t delay;
} cv_arg;

/* Lock, wait, then check the lock is ours whatever the result. */
static int cv_waiter(void *arg)
{
    cv_arg *a = arg;
    cv *v = a->v;
    if (a->delay)
        CHECK_EQ(corio_sleep(a->delay), 0);
    CHECK_EQ(corio_lock_acquire(&v->l), 0);
    v->waiting++;
    v->rc[a->i] = corio_cond_wait(&v->c);
    v->waiting--;
    v->order[v->n++] = a->i;
    CHECK_EQ(corio_lock_acquire(&v->l), -EDEADLK); /* we hold it */
    CHECK_EQ(corio_lock_release(&v->l), 0);
    return 0;
}

static void cv_init(cv *v)
{
    *v = (cv){.n = 0};
    CHECK_EQ(corio_lock_init(&v->l), 0);
    CHECK_EQ(corio_cond_init(&v->c, &v->l), 0);
    for (int i = 0; i < NW; i++)
        v->rc[i] = 1;
}

static void cv_destroy(cv *v)
{
    corio_cond_destroy(&v->c);
    corio_lock_destroy(&v->l);
}

static int notify_locked(cv *v, int n)
{
    CHECK_EQ(corio_lock_acquire(&v->l), 0);
    int r = corio_cond_notify(&v->c, n);
    CHECK_EQ(corio_lock_release(&v->l), 0);
    return r;
}

/* ---- notify ----------------------------------------------------------- */

static int notify_one_fifo(void *arg)
{
    (void)arg;
    static const int64_t delay_ms[NW] = {30, 10, 50, 20, 40};
    static const int expect[NW] = {1, 3, 0, 4, 2};
    cv v;
    cv_arg a[NW];
    corio_task *t[NW];
    cv_init(&v);
    for (int i = 0; i < NW; i++) {
        a[i] = (cv_arg){&v, i, delay_ms[i] * CORIO_MS};
        CHECK_EQ(corio_task_spawn(&t[i], cv_waiter, &a[i]), 0);
    }
    CHECK_EQ(corio_sleep(100 * CORIO_MS), 0);
    CHECK_EQ(v.waiting, NW);
    for (int k = 0; k < NW; k++) {
        CHECK_EQ(notify_locked(&v, 1), 1);
        CHECK_EQ(corio_sleep(CORIO_MS), 0);
        CHECK_EQ(v.n, k + 1); /* exactly one woke */
        CHECK_EQ(v.order[k], expect[k]);
        CHECK_EQ(v.rc[expect[k]], 0);
    }
    CHECK_EQ(corio_gather(t, NW, NULL), 0);
    cv_destroy(&v);
    return 0;
}

TEST(cond, notify_one_wakes_waiters_in_fifo_order)
{
    CHECK_EQ(tst_run(notify_one_fifo, NULL), 0);
}

static void spawn_in_order(cv *v, cv_arg *a, corio_task **t)
{
    for (int i = 0; i < NW; i++) {
        a[i] = (cv_arg){v, i, (i + 1) * CORIO_MS}; /* arrive in index order */
        CHECK_EQ(corio_task_spawn(&t[i], cv_waiter, &a[i]), 0);
    }
    CHECK_EQ(corio_sleep(100 * CORIO_MS), 0);
    CHECK_EQ(v->waiting, NW);
}

static int notify_n(void *arg)
{
    (void)arg;
    cv v;
    cv_arg a[NW];
    corio_task *t[NW];
    cv_init(&v);
    /* A notification with nobody waiting is not remembered. */
    CHECK_EQ(notify_locked(&v, 1), 0);
    CHECK_EQ(corio_cond_notify_all(&v.c), 0);
    spawn_in_order(&v, a, t);
    CHECK_EQ(notify_locked(&v, 0), 0);
    CHECK_EQ(notify_locked(&v, -1), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(v.n, 0);
    CHECK_EQ(notify_locked(&v, 2), 2);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(v.n, 2);
    CHECK_EQ(v.order[0], 0);
    CHECK_EQ(v.order[1], 1);
    CHECK_EQ(notify_locked(&v, 10), 3); /* only three left */
    CHECK_EQ(corio_gather(t, NW, NULL), 0);
    CHECK_EQ(v.n, NW);
    for (int i = 0; i < NW; i++) {
        CHECK_EQ(v.order[i], i);
        CHECK_EQ(v.rc[i], 0);
    }
    cv_destroy(&v);
    return 0;
}

TEST(cond, notify_n_wakes_up_to_n)
{
    CHECK_EQ(tst_run(notify_n, NULL), 0);
}

static int notify_all(void *arg)
{
    (void)arg;
    cv v;
    cv_arg a[NW];
    corio_task *t[NW];
    cv_init(&v);
    spawn_in_order(&v, a, t);
    CHECK_EQ(corio_lock_acquire(&v.l), 0);
    CHECK_EQ(corio_cond_notify_all(&v.c), NW);
    CHECK_EQ(corio_cond_notify_all(&v.c), 0);
    CHECK_EQ(corio_lock_release(&v.l), 0);
    CHECK_EQ(corio_gather(t, NW, NULL), 0);
    CHECK_EQ(v.n, NW);
    for (int i = 0; i < NW; i++) {
        CHECK_EQ(v.order[i], i); /* they re-take the lock in FIFO order */
        CHECK_EQ(v.rc[i], 0);
    }
    cv_destroy(&v);
    return 0;
}

TEST(cond, notify_all_wakes_every_waiter)
{
    CHECK_EQ(tst_run(notify_all, NULL), 0);
}

/* ---- Re-acquiring the lock -------------------------------------------- */

typedef struct relock {
    corio_lock l;
    corio_cond c;
    int64_t timeout; /* 0: none */
    int rc;
    int returned;
    int64_t at;
} relock;

/* Wait, then keep the lock for 1 s (shielded, so a cancelled task holds
 * it too) while the main task checks it cannot take it. */
static int relock_waiter(void *arg)
{
    relock *r = arg;
    CHECK_EQ(corio_lock_acquire(&r->l), 0);
    if (r->timeout)
        CHECK_EQ(corio_timeout_begin(r->timeout), 0);
    r->rc = corio_cond_wait(&r->c);
    r->at = corio_now();
    r->returned = 1;
    if (r->timeout)
        CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_lock_acquire(&r->l), -EDEADLK); /* ours */
    CHECK_EQ(corio_shield_begin(), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(corio_shield_end(), 0);
    CHECK_EQ(corio_lock_release(&r->l), 0);
    return 0;
}

enum { BY_NOTIFY, BY_CANCEL, BY_TIMEOUT };

static int relock_case(void *arg)
{
    int how = (int)(intptr_t)arg;
    relock r = {.rc = 1};
    corio_task *t;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_lock_init(&r.l), 0);
    CHECK_EQ(corio_cond_init(&r.c, &r.l), 0);
    if (how == BY_TIMEOUT)
        r.timeout = CORIO_SECOND;
    CHECK_EQ(corio_task_spawn(&t, relock_waiter, &r), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND / 2), 0); /* t waits, lock free */
    CHECK_EQ(corio_lock_acquire(&r.l), 0);
    if (how == BY_NOTIFY)
        CHECK_EQ(corio_cond_notify(&r.c, 1), 1);
    if (how == BY_CANCEL)
        corio_task_cancel(t);
    /* Hold the lock until 2 s: t (notified, cancelled, or timed out at
     * 1 s) cannot return before it has the lock. */
    CHECK_EQ(corio_sleep(3 * CORIO_SECOND / 2), 0);
    CHECK_EQ(r.returned, 0);
    CHECK_EQ(corio_lock_release(&r.l), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(r.returned, 1);
    CHECK_EQ(r.at - t0, 2 * CORIO_SECOND);
    CHECK_EQ(r.rc, how == BY_NOTIFY   ? 0
                   : how == BY_CANCEL ? -ECANCELED
                                      : -ETIMEDOUT);
    CHECK_EQ(corio_lock_try_acquire(&r.l), -EAGAIN); /* t holds it */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(corio_lock_try_acquire(&r.l), 0);
    CHECK_EQ(corio_lock_release(&r.l), 0);
    corio_cond_destroy(&r.c);
    corio_lock_destroy(&r.l);
    return 0;
}

TEST(cond, wait_reacquires_the_lock_before_returning)
{
    CHECK_EQ(tst_run(relock_case, (void *)(intptr_t)BY_NOTIFY), 0);
}

TEST(cond, cancelled_wait_reacquires_the_lock_before_returning)
{
    CHECK_EQ(tst_run(relock_case, (void *)(intptr_t)BY_CANCEL), 0);
}

TEST(cond, timed_out_wait_reacquires_the_lock_before_returning)
{
    CHECK_EQ(tst_run(relock_case, (void *)(intptr_t)BY_TIMEOUT), 0);
}

static int already_cancelled_wait(void *arg)
{
    relock *r = arg;
    CHECK_EQ(corio_lock_acquire(&r->l), 0);
    corio_task_cancel(corio_task_current());
    r->rc = corio_cond_wait(&r->c); /* fails, but still holds the lock */
    CHECK_EQ(corio_lock_acquire(&r->l), -EDEADLK);
    CHECK_EQ(corio_lock_release(&r->l), 0);
    return 0;
}

static int cancelled_before_wait(void *arg)
{
    (void)arg;
    relock r = {.rc = 1};
    corio_task *t;
    CHECK_EQ(corio_lock_init(&r.l), 0);
    CHECK_EQ(corio_cond_init(&r.c, &r.l), 0);
    CHECK_EQ(corio_task_spawn(&t, already_cancelled_wait, &r), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(r.rc, -ECANCELED);
    corio_cond_destroy(&r.c); /* not left queued */
    corio_lock_destroy(&r.l);
    return 0;
}

TEST(cond, wait_by_a_cancelled_task_fails_holding_the_lock)
{
    CHECK_EQ(tst_run(cancelled_before_wait, NULL), 0);
}

/* ---- A notification in the tick of a cancellation --------------------- */

static int same_tick(void *arg)
{
    (void)arg;
    cv v;
    cv_arg a[3];
    corio_task *t[3];
    cv_init(&v);
    for (int i = 0; i < 3; i++) {
        a[i] = (cv_arg){&v, i, (i + 1) * CORIO_MS};
        CHECK_EQ(corio_task_spawn(&t[i], cv_waiter, &a[i]), 0);
    }
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(v.waiting, 3);
    /* Notified, then cancelled before it runs: the notification counts. */
    CHECK_EQ(corio_lock_acquire(&v.l), 0);
    CHECK_EQ(corio_cond_notify(&v.c, 1), 1);
    corio_task_cancel(t[0]);
    CHECK_EQ(corio_lock_release(&v.l), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(v.rc[0], 0);
    CHECK_EQ(v.waiting, 2); /* and nobody else consumed it */
    /* Cancelled, then notified in the same tick: the notification goes to
     * the next waiter. */
    CHECK_EQ(corio_lock_acquire(&v.l), 0);
    corio_task_cancel(t[1]);
    CHECK_EQ(corio_cond_notify(&v.c, 1), 1);
    CHECK_EQ(corio_lock_release(&v.l), 0);
    CHECK_EQ(corio_gather(t, 3, NULL), 0);
    CHECK_EQ(v.rc[1], -ECANCELED);
    CHECK_EQ(v.rc[2], 0);
    cv_destroy(&v);
    return 0;
}

TEST(cond, notification_in_the_tick_of_a_cancellation_is_not_lost)
{
    CHECK_EQ(tst_run(same_tick, NULL), 0);
}

/* ---- wait_for --------------------------------------------------------- */

typedef struct pred_state {
    corio_lock *l;
    int value, target;
    int calls;
} pred_state;

static int reached(void *arg)
{
    pred_state *p = arg;
    p->calls++;
    CHECK_EQ(corio_lock_acquire(p->l),
             -EDEADLK); /* checked with the lock held */
    return p->value >= p->target;
}

static int wait_for_true(void *arg)
{
    (void)arg;
    corio_lock l;
    corio_cond c;
    corio_task *t;
    int ran = 0;
    pred_state p = {&l, 5, 5, 0};
    CHECK_EQ(corio_lock_init(&l), 0);
    CHECK_EQ(corio_cond_init(&c, &l), 0);
    CHECK_EQ(corio_task_spawn(&t, set_flag, &ran), 0);
    CHECK_EQ(corio_lock_acquire(&l), 0);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_cond_wait_for(&c, reached, &p), 0);
    CHECK_EQ(p.calls, 1);
    CHECK_EQ(ran, 0); /* never suspended */
    CHECK_EQ(corio_now(), t0);
    CHECK_EQ(corio_lock_release(&l), 0); /* still held */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(corio_cond_wait_for(&c, NULL, NULL), -EINVAL);
    corio_cond_destroy(&c);
    corio_lock_destroy(&l);
    return 0;
}

TEST(cond, wait_for_returns_at_once_when_the_predicate_holds)
{
    CHECK_EQ(tst_run(wait_for_true, NULL), 0);
}

typedef struct wf {
    corio_lock l;
    corio_cond c;
    pred_state p;
    int rc;
    int64_t at;
} wf;

static int wf_waiter(void *arg)
{
    wf *w = arg;
    CHECK_EQ(corio_lock_acquire(&w->l), 0);
    w->rc = corio_cond_wait_for(&w->c, reached, &w->p);
    w->at = corio_now();
    CHECK_EQ(corio_lock_release(&w->l), 0); /* held on every return */
    return 0;
}

static int wait_for_false(void *arg)
{
    int cancel = (int)(intptr_t)arg;
    wf w = {.rc = 1};
    corio_task *t;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_lock_init(&w.l), 0);
    CHECK_EQ(corio_cond_init(&w.c, &w.l), 0);
    w.p = (pred_state){&w.l, 0, 3, 0};
    CHECK_EQ(corio_task_spawn(&t, wf_waiter, &w), 0);
    for (int i = 1; i <= 5; i++) {
        CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
        CHECK_EQ(corio_lock_acquire(&w.l), 0);
        w.p.value++;
        /* Every notification re-checks the predicate; only the third
         * makes it true. */
        CHECK_EQ(corio_cond_notify_all(&w.c), i <= 3 ? 1 : 0);
        if (cancel && i == 2)
            corio_task_cancel(t); /* in the tick of a notification */
        CHECK_EQ(corio_lock_release(&w.l), 0);
        if (cancel && i == 2)
            break;
    }
    CHECK_EQ(corio_task_join(t, NULL), 0);
    if (cancel) {
        /* The 2nd notification was delivered (wait returned 0), the
         * predicate was still false, and the next wait saw the cancel. */
        CHECK_EQ(w.rc, -ECANCELED);
        CHECK_EQ(w.p.calls, 3);
        CHECK_EQ(w.at - t0, 2 * CORIO_SECOND);
    } else {
        CHECK_EQ(w.rc, 0);
        CHECK_EQ(w.p.calls, 4); /* once at the start, once per notification */
        CHECK_EQ(w.at - t0, 3 * CORIO_SECOND);
    }
    corio_cond_destroy(&w.c);
    corio_lock_destroy(&w.l);
    return 0;
}

TEST(cond, wait_for_waits_until_the_predicate_holds)
{
    CHECK_EQ(tst_run(wait_for_false, (void *)(intptr_t)0), 0);
}

TEST(cond, wait_for_cancelled_returns_ecanceled_holding_the_lock)
{
    CHECK_EQ(tst_run(wait_for_false, (void *)(intptr_t)1), 0);
}

/* ---- Misuse ----------------------------------------------------------- */

static corio_lock other_lock;

static int hold_other(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_lock_acquire(&other_lock), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(corio_lock_release(&other_lock), 0);
    return 0;
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

static int misuse(void *arg)
{
    (void)arg;
    corio_cond c, zero = {{0}};
    corio_task *t;
    CHECK_EQ(corio_lock_init(&other_lock), 0);
    CHECK_EQ(corio_cond_init(&c, &other_lock), 0);
    CHECK_EQ(corio_cond_init(&c, NULL), -EINVAL);
    CHECK_EQ(corio_cond_init(NULL, &other_lock), -EINVAL);
    CHECK_EQ(corio_cond_init(&c, &other_lock), 0);
    /* Not holding the lock: -EPERM, and nothing happened. */
    int64_t t0 = corio_now();
    CHECK_EQ(corio_cond_wait(&c), -EPERM);
    CHECK_EQ(corio_cond_wait_for(&c, never, NULL), -EPERM);
    CHECK_EQ(corio_now(), t0);
    /* Held by another task: still -EPERM. */
    CHECK_EQ(corio_task_spawn(&t, hold_other, NULL), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_cond_wait(&c), -EPERM);
    CHECK_EQ(corio_lock_try_acquire(&other_lock),
             -EAGAIN); /* it was not released */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    /* Uninitialised condition. */
    CHECK_EQ(corio_lock_acquire(&other_lock), 0);
    CHECK_EQ(corio_cond_wait(&zero), -EINVAL);
    CHECK_EQ(corio_cond_wait_for(&zero, never, NULL), -EINVAL);
    CHECK_EQ(corio_cond_notify(&zero, 1), 0);
    CHECK_EQ(corio_cond_notify_all(&zero), 0);
    CHECK_EQ(corio_lock_release(&other_lock), 0); /* still ours */
    corio_cond_destroy(&c);
    CHECK_EQ(corio_cond_wait(&c), -EINVAL); /* destroyed */
    corio_lock_destroy(&other_lock);
    return 0;
}

TEST(cond, misuse_codes)
{
    CHECK_EQ(tst_run(misuse, NULL), 0);
}

TEST(cond, wait_outside_a_task_is_eperm)
{
    corio_lock l;
    corio_cond c;
    CHECK_EQ(corio_lock_init(&l), 0);
    CHECK_EQ(corio_cond_init(&c, &l), 0);
    CHECK_EQ(corio_cond_wait(&c), -EPERM);
    CHECK_EQ(corio_cond_wait_for(&c, never, NULL), -EPERM);
    CHECK_EQ(corio_cond_notify(&c, 1), 0);
    corio_cond_destroy(&c);
    corio_lock_destroy(&l);
}
