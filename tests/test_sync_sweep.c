/* test_sync_sweep.c — cancel-safety sweeps for lock, semaphore, condition
 * and event, on the virtual clock.
 *
 * Each sweep queues N waiters (N = 1..MAXW) and interrupts waiter k (each k
 * in turn) at one moment of its wait:
 *
 *   QUEUED          cancelled while queued, before a grant could reach it;
 *   CANCEL_RELEASE  cancelled, then the release (notify, set) that would
 *                   have served it, in the same tick;
 *   RELEASE_CANCEL  the release that serves it, then cancelled, same tick;
 *   AFTER_GRANT     served, then cancelled by another task that runs before
 *                   it resumes.
 *
 * The header's rule decides the outcome: a waiter interrupted before it was
 * served returns -ECANCELED holding nothing; one served first returns 0 and
 * owns what it was given.  Every run then checks conservation: the lock
 * ends free, the semaphore ends at its initial value, every notification
 * delivered woke exactly one waiter, nobody held more than the capacity at
 * any moment, and every task finished (gathered; a stuck waiter would make
 * the loop report a deadlock and cancel the main task).
 *
 * Timeouts sweep the victim's deadline instead: already expired, before its
 * grant, in the very tick of its grant, and after it (while it holds what
 * it was given).  On the virtual clock a deadline cannot pass between a
 * grant and the waiter's resumption (time stands still while a task is
 * ready), so "at grant" is the same-tick case; there either outcome is
 * allowed, but it must be consistent with conservation. */
#include "tst.h"

#include <string.h>

#define MAXW 6
#define P (10 * CORIO_MS) /* the sweeps' time step */

/* The configuration being run is the kit's context
 * (corio_test_context), printed when a check fails. */

enum moment { QUEUED, CANCEL_RELEASE, RELEASE_CANCEL, AFTER_GRANT, NMOMENTS };
static const char *const moment_name[NMOMENTS] = {
    "queued", "cancel-then-release", "release-then-cancel", "after-grant"};

/* Timeout mode: the victim's deadline relative to the time it would be
 * served (EXPIRED: its scope has expired before it even waits). */
enum offset { EXPIRED, BEFORE, AT, AFTER, NOFFSETS };
static const char *const offset_name[NOFFSETS] = {"expired", "before-grant",
                                                  "at-grant", "after-grant"};

static int64_t deadline_for(int off, int64_t grant)
{
    switch (off) {
    case EXPIRED:
        return 0;
    case BEFORE:
        return grant - P / 2;
    case AT:
        return grant;
    default:
        return grant + P / 2;
    }
}

#define EITHER 1 /* the victim may return 0 or -ETIMEDOUT */

/* What the victim's wait must return. */
static int expected(int moment, int offset)
{
    if (moment >= 0)
        return moment == QUEUED || moment == CANCEL_RELEASE ? -ECANCELED : 0;
    return offset == EXPIRED || offset == BEFORE ? -ETIMEDOUT
           : offset == AT                        ? EITHER
                                                 : 0;
}

/* Check the victim's and everyone else's results; returns how many were
 * served. */
static int check_results(const int *rc, int n, int victim, int expect)
{
    int served = 0;
    for (int i = 0; i < n; i++) {
        if (i == victim && expect == EITHER)
            CHECK(rc[i] == 0 || rc[i] == -ETIMEDOUT);
        else
            CHECK_EQ(rc[i], i == victim ? expect : 0);
        served += rc[i] == 0;
    }
    return served;
}

static int canceller(void *arg)
{
    corio_task_cancel(arg);
    return 0;
}

/* ==== Lock and semaphore ================================================
 *
 * The main task holds all `cap` permits (the lock: cap 1), N waiters queue
 * in index order, then main releases.  Each waiter that gets a permit holds
 * it for P and releases it.  Grants go in FIFO order, so release number j
 * (counted over all releasers) serves waiter j-1 unless someone before it
 * was interrupted: the moment hooks sit around release number k+1. */

enum kind { LOCK, SEM };

typedef struct sweep {
    int kind, cap, n, victim;
    int moment; /* cancel mode, or -1 */
    int offset; /* timeout mode, or -1 */
    int64_t t0, deadline;
    corio_lock lock;
    corio_sem sem;
    corio_task *tasks[MAXW];
    int rc[MAXW];
    int order[MAXW], norder;
    int holders, releases;
} sweep;

typedef struct warg {
    sweep *sw;
    int i;
} warg;

static int res_acquire(sweep *sw)
{
    return sw->kind == LOCK ? corio_lock_acquire(&sw->lock)
                            : corio_sem_acquire(&sw->sem);
}

static void do_release(sweep *sw)
{
    int nth = ++sw->releases;
    int hook = sw->moment >= 0 && nth == sw->victim + 1;
    corio_task *v = sw->tasks[sw->victim];
    if (hook && sw->moment == CANCEL_RELEASE)
        corio_task_cancel(v);
    if (hook && sw->moment == AFTER_GRANT)
        CHECK_EQ(corio_task_spawn(NULL, canceller, v), 0); /* runs before v */
    if (sw->kind == LOCK)
        CHECK_EQ(corio_lock_release(&sw->lock), 0);
    else
        CHECK_EQ(corio_sem_release(&sw->sem), 0); /* bounded: no overflow */
    if (hook && sw->moment == RELEASE_CANCEL)
        corio_task_cancel(v);
}

static int res_waiter(void *arg)
{
    warg *a = arg;
    sweep *sw = a->sw;
    int timed = sw->offset >= 0 && a->i == sw->victim;
    if (timed)
        CHECK_EQ(corio_timeout_begin(sw->deadline - corio_now()), 0);
    int rc = res_acquire(sw);
    sw->rc[a->i] = rc;
    if (rc == 0) {
        sw->order[sw->norder++] = a->i;
        sw->holders++;
        CHECK(sw->holders <= sw->cap); /* never granted twice */
        /* Hold for P; the victim's sleep is cut short by its cancellation
         * or deadline, and it must still release what it holds. */
        int s = corio_sleep(P);
        CHECK(s == 0 || a->i == sw->victim);
        sw->holders--;
        do_release(sw);
    } else {
        CHECK_EQ(a->i, sw->victim);
        CHECK(rc == (timed ? -ETIMEDOUT : -ECANCELED));
        if (sw->kind == LOCK)
            CHECK_EQ(corio_lock_release(&sw->lock), -EPERM); /* not ours */
    }
    if (timed) {
        int e = corio_timeout_end();
        CHECK(e == 0 || e == -ETIMEDOUT);
    }
    return 0;
}

static int res_main(void *arg)
{
    sweep *sw = arg;
    warg a[MAXW];
    int results[MAXW];
    sw->t0 = corio_now();
    for (int j = 0; j < sw->cap; j++)
        CHECK_EQ(res_acquire(sw), 0);
    sw->holders = sw->cap;
    for (int i = 0; i < sw->n; i++) {
        a[i] = (warg){sw, i};
        sw->rc[i] = 1;
        CHECK_EQ(corio_task_spawn(&sw->tasks[i], res_waiter, &a[i]), 0);
    }
    /* Waiter i is served at P (1 + i / cap) unless someone drops out. */
    sw->deadline =
        sw->t0 + deadline_for(sw->offset, P * (1 + sw->victim / sw->cap));
    CHECK_EQ(corio_sleep(P), 0); /* all queue, in index order */
    CHECK_EQ(sw->norder, 0);
    if (sw->kind == SEM)
        CHECK_EQ(corio_sem_value(&sw->sem), 0);
    if (sw->moment == QUEUED) {
        corio_task_cancel(sw->tasks[sw->victim]);
        CHECK_EQ(corio_yield(), 0); /* it leaves the queue */
        CHECK_EQ(sw->rc[sw->victim], -ECANCELED);
    }
    for (int j = 0; j < sw->cap; j++) {
        sw->holders--;
        do_release(sw);
    }
    CHECK_EQ(corio_gather(sw->tasks, (size_t)sw->n, results), 0);

    /* Outcomes. */
    int expect = expected(sw->moment, sw->offset);
    int served = check_results(sw->rc, sw->n, sw->victim, expect);
    /* Served in FIFO order, each exactly once. */
    CHECK_EQ(sw->norder, served);
    for (int j = 1; j < sw->norder; j++)
        CHECK(sw->order[j - 1] < sw->order[j]);

    /* Conservation: everything given out came back. */
    CHECK_EQ(sw->holders, 0);
    if (sw->kind == LOCK) {
        CHECK_EQ(corio_lock_try_acquire(&sw->lock), 0); /* free */
        CHECK_EQ(corio_lock_release(&sw->lock), 0);
        corio_lock_destroy(&sw->lock); /* no waiter left */
    } else {
        CHECK_EQ(corio_sem_value(&sw->sem), sw->cap);
        corio_sem_destroy(&sw->sem);
    }
    return 0;
}

static void res_run(int kind, int cap, int n, int victim, int moment,
                    int offset)
{
    sweep sw;
    memset(&sw, 0, sizeof sw);
    sw.kind = kind, sw.cap = cap, sw.n = n, sw.victim = victim;
    sw.moment = moment, sw.offset = offset;
    corio_test_context("%s cap=%d n=%d victim=%d %s",
                       kind == LOCK ? "lock" : "sem", cap, n, victim,
                       moment >= 0 ? moment_name[moment] : offset_name[offset]);
    if (kind == LOCK)
        CHECK_EQ(corio_lock_init(&sw.lock), 0);
    else
        CHECK_EQ(corio_sem_init_bounded(&sw.sem, cap), 0);
    CHECK_EQ(tst_run(res_main, &sw), 0);
}

static void res_sweep(int kind, int cap, int timeouts)
{
    for (int n = 1; n <= MAXW; n++)
        for (int k = 0; k < n; k++) {
            if (!timeouts)
                for (int m = 0; m < NMOMENTS; m++)
                    res_run(kind, cap, n, k, m, -1);
            else
                for (int o = 0; o < NOFFSETS; o++)
                    res_run(kind, cap, n, k, -1, o);
        }
}

TEST(sync_sweep, lock_cancel)
{
    res_sweep(LOCK, 1, 0);
}

TEST(sync_sweep, lock_timeout)
{
    res_sweep(LOCK, 1, 1);
}

TEST(sync_sweep, sem_cancel)
{
    for (int cap = 1; cap <= 3; cap++)
        res_sweep(SEM, cap, 0);
}

TEST(sync_sweep, sem_timeout)
{
    for (int cap = 1; cap <= 3; cap++)
        res_sweep(SEM, cap, 1);
}

/* ==== Condition =========================================================
 *
 * N waiters wait on the condition in index order; the main task sends one
 * notify(1) every P (holding the lock) until every waiter has returned.
 * Notification j serves waiter j-1 unless someone before it dropped out.
 * Every waiter must hold the lock when its wait returns, whatever the
 * result, and every notification that reported a wake-up must have made
 * exactly one wait return 0. */

typedef struct csweep {
    int n, victim, moment, offset;
    int64_t t0, deadline;
    corio_lock lock;
    corio_cond cond;
    corio_task *tasks[MAXW];
    int rc[MAXW];
    int order[MAXW], norder;
    int waiting, done, holders, notifies;
} csweep;

typedef struct carg {
    csweep *cs;
    int i;
} carg;

static int cond_waiter(void *arg)
{
    carg *a = arg;
    csweep *cs = a->cs;
    int timed = cs->offset >= 0 && a->i == cs->victim;
    CHECK_EQ(corio_lock_acquire(&cs->lock), 0);
    if (timed)
        CHECK_EQ(corio_timeout_begin(cs->deadline - corio_now()), 0);
    cs->waiting++;
    int rc = corio_cond_wait(&cs->cond);
    cs->waiting--;
    if (timed) {
        int e = corio_timeout_end();
        CHECK(e == 0 || e == -ETIMEDOUT);
    }
    cs->rc[a->i] = rc;
    /* The lock is ours on every return. */
    CHECK_EQ(corio_lock_acquire(&cs->lock), -EDEADLK);
    cs->holders++;
    CHECK_EQ(cs->holders, 1);
    if (rc == 0) {
        cs->order[cs->norder++] = a->i;
    } else {
        CHECK_EQ(a->i, cs->victim);
        CHECK(rc == (timed ? -ETIMEDOUT : -ECANCELED));
    }
    /* Hold it a little, shielded so the victim holds it too. */
    CHECK_EQ(corio_shield_begin(), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    CHECK_EQ(corio_shield_end(), 0);
    cs->holders--;
    cs->done++;
    CHECK_EQ(corio_lock_release(&cs->lock), 0);
    return 0;
}

static int cond_main(void *arg)
{
    csweep *cs = arg;
    carg a[MAXW];
    int results[MAXW], delivered = 0;
    cs->t0 = corio_now();
    /* Notification j (1-based) is sent at j P. */
    cs->deadline = cs->t0 + deadline_for(cs->offset, P * (1 + cs->victim));
    for (int i = 0; i < cs->n; i++) {
        a[i] = (carg){cs, i};
        cs->rc[i] = 1;
        CHECK_EQ(corio_task_spawn(&cs->tasks[i], cond_waiter, &a[i]), 0);
    }
    CHECK_EQ(corio_yield(), 0); /* all wait, in index order */
    if (cs->offset != EXPIRED)  /* an expired victim is already back */
        CHECK_EQ(cs->waiting, cs->n);
    corio_task *v = cs->tasks[cs->victim];
    if (cs->moment == QUEUED) {
        corio_task_cancel(v);
        CHECK_EQ(corio_yield(), 0);
        CHECK_EQ(corio_sleep(CORIO_MS), 0); /* it re-takes the lock */
        CHECK_EQ(cs->rc[cs->victim], -ECANCELED);
    }
    for (int round = 1; cs->done < cs->n; round++) {
        CHECK(round <= cs->n + 1); /* a lost notification would loop */
        CHECK_EQ(corio_sleep(cs->t0 + round * P - corio_now()), 0);
        CHECK_EQ(corio_lock_acquire(&cs->lock), 0);
        int hook = cs->moment >= 0 && ++cs->notifies == cs->victim + 1;
        if (hook && cs->moment == CANCEL_RELEASE)
            corio_task_cancel(v);
        if (hook && cs->moment == AFTER_GRANT)
            CHECK_EQ(corio_task_spawn(NULL, canceller, v), 0);
        int woke = corio_cond_notify(&cs->cond, 1);
        CHECK(woke == 0 || woke == 1);
        delivered += woke;
        if (hook && cs->moment == RELEASE_CANCEL)
            corio_task_cancel(v);
        CHECK_EQ(corio_lock_release(&cs->lock), 0);
    }
    CHECK_EQ(corio_gather(cs->tasks, (size_t)cs->n, results), 0);

    int expect = expected(cs->moment, cs->offset);
    int served = check_results(cs->rc, cs->n, cs->victim, expect);
    /* No notification lost or duplicated: one wake-up each. */
    CHECK_EQ(delivered, served);
    CHECK_EQ(cs->norder, served);
    for (int j = 1; j < cs->norder; j++)
        CHECK(cs->order[j - 1] < cs->order[j]);
    CHECK_EQ(cs->holders, 0);
    CHECK_EQ(cs->waiting, 0);
    CHECK_EQ(corio_lock_try_acquire(&cs->lock), 0);
    CHECK_EQ(corio_lock_release(&cs->lock), 0);
    corio_cond_destroy(&cs->cond);
    corio_lock_destroy(&cs->lock);
    return 0;
}

static void cond_run(int n, int victim, int moment, int offset)
{
    csweep cs;
    memset(&cs, 0, sizeof cs);
    cs.n = n, cs.victim = victim, cs.moment = moment, cs.offset = offset;
    corio_test_context("cond n=%d victim=%d %s", n, victim,
                       moment >= 0 ? moment_name[moment] : offset_name[offset]);
    CHECK_EQ(corio_lock_init(&cs.lock), 0);
    CHECK_EQ(corio_cond_init(&cs.cond, &cs.lock), 0);
    CHECK_EQ(tst_run(cond_main, &cs), 0);
}

TEST(sync_sweep, cond_cancel)
{
    for (int n = 1; n <= MAXW; n++)
        for (int k = 0; k < n; k++)
            for (int m = 0; m < NMOMENTS; m++)
                cond_run(n, k, m, -1);
}

TEST(sync_sweep, cond_timeout)
{
    for (int n = 1; n <= MAXW; n++)
        for (int k = 0; k < n; k++)
            for (int o = 0; o < NOFFSETS; o++)
                cond_run(n, k, -1, o);
}

/* ==== Event =============================================================
 *
 * N waiters wait; the main task sets the event at 2P (optionally clearing
 * it again in the same tick).  Every waiter but an interrupted victim
 * returns 0; the waiters around the victim in the queue are unaffected. */

typedef struct esweep {
    int n, victim, moment, offset, clear;
    int64_t t0, deadline;
    corio_event ev;
    corio_task *tasks[MAXW];
    int rc[MAXW];
    int waiting;
} esweep;

typedef struct earg {
    esweep *es;
    int i;
} earg;

static int event_waiter(void *arg)
{
    earg *a = arg;
    esweep *es = a->es;
    int timed = es->offset >= 0 && a->i == es->victim;
    if (timed)
        CHECK_EQ(corio_timeout_begin(es->deadline - corio_now()), 0);
    es->waiting++;
    es->rc[a->i] = corio_event_wait(&es->ev);
    es->waiting--;
    if (timed) {
        int e = corio_timeout_end();
        CHECK(e == 0 || e == -ETIMEDOUT);
    }
    return 0;
}

static int event_main(void *arg)
{
    esweep *es = arg;
    earg a[MAXW];
    int results[MAXW];
    es->t0 = corio_now();
    es->deadline = es->t0 + deadline_for(es->offset, 2 * P);
    for (int i = 0; i < es->n; i++) {
        a[i] = (earg){es, i};
        es->rc[i] = 1;
        CHECK_EQ(corio_task_spawn(&es->tasks[i], event_waiter, &a[i]), 0);
    }
    CHECK_EQ(corio_sleep(P), 0);
    corio_task *v = es->tasks[es->victim];
    if (es->moment == QUEUED) {
        corio_task_cancel(v);
        CHECK_EQ(corio_yield(), 0);
        CHECK_EQ(es->rc[es->victim], -ECANCELED);
    } else if (es->offset != EXPIRED) { /* an expired victim is back */
        CHECK_EQ(es->waiting, es->n);
    }
    CHECK_EQ(corio_sleep(P), 0); /* 2P: set */
    if (es->moment == CANCEL_RELEASE)
        corio_task_cancel(v);
    if (es->moment == AFTER_GRANT)
        CHECK_EQ(corio_task_spawn(NULL, canceller, v), 0);
    corio_event_set(&es->ev);
    if (es->clear)
        corio_event_clear(&es->ev);
    if (es->moment == RELEASE_CANCEL)
        corio_task_cancel(v);
    CHECK_EQ(corio_gather(es->tasks, (size_t)es->n, results), 0);

    check_results(es->rc, es->n, es->victim, expected(es->moment, es->offset));
    CHECK_EQ(es->waiting, 0);
    CHECK_EQ(corio_event_is_set(&es->ev), !es->clear);
    corio_event_destroy(&es->ev); /* no waiter left queued */
    return 0;
}

static void event_run(int n, int victim, int moment, int offset, int clear)
{
    esweep es;
    memset(&es, 0, sizeof es);
    es.n = n, es.victim = victim, es.moment = moment, es.offset = offset;
    es.clear = clear;
    corio_test_context("event n=%d victim=%d %s%s", n, victim,
                       moment >= 0 ? moment_name[moment] : offset_name[offset],
                       clear ? " +clear" : "");
    CHECK_EQ(corio_event_init(&es.ev), 0);
    CHECK_EQ(tst_run(event_main, &es), 0);
}

TEST(sync_sweep, event_cancel)
{
    for (int n = 1; n <= MAXW; n++)
        for (int k = 0; k < n; k++)
            for (int m = 0; m < NMOMENTS; m++)
                for (int clear = 0; clear <= 1; clear++)
                    event_run(n, k, m, -1, clear);
}

TEST(sync_sweep, event_timeout)
{
    for (int n = 1; n <= MAXW; n++)
        for (int k = 0; k < n; k++)
            for (int o = 0; o < NOFFSETS; o++)
                for (int clear = 0; clear <= 1; clear++)
                    event_run(n, k, -1, o, clear);
}
