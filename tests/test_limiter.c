/* test_limiter.c — corio_limiter, the token bucket, on the virtual clock:
 * 100 acquisitions at 10/s with burst 1 take exactly 9.9 s; the first
 * `burst` acquisitions are immediate and the bucket never holds more;
 * acquire(n) is FIFO-fair; argument errors; try_acquire; a cancelled or
 * timed-out head lets the next waiter be served at exactly the right time;
 * the seeds' RateLimiter done right; free with waiters; and the cancel-
 * safety sweep: the waiter at every position k of N is cancelled (or timed
 * out by a scope) before its grant, in the tick of its grant and after its
 * grant but before it resumes, asserting that the grants that happen are
 * exactly those a perfect bucket would make (so no token is lost or
 * duplicated) and that every task finishes.
 *
 * Rates are chosen so every grant time is an exact number of nanoseconds
 * (10 tokens/s: one token per 100 ms). */
#include "tst.h"
#include "os/sys.h" /* corio__fault_arm: fail one allocation */

#include <math.h>
#include <string.h>

#define TICK (100 * CORIO_MS) /* one token at 10/s */

static corio_limiter *mkl(double rate, int64_t burst)
{
    corio_limiter *l = NULL;
    CHECK_EQ(corio_limiter_new(&l, rate, burst), 0);
    CHECK(l != NULL);
    return l;
}

/* ---- the figure -------------------------------------------------- */

static int hundred_main(void *arg)
{
    (void)arg;
    corio_limiter *l = mkl(10, 1);
    int64_t t0 = corio_now();
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(corio_limiter_acquire(l, 1), 0);
        CHECK_EQ(corio_now() - t0, i * TICK); /* each exactly on time */
    }
    CHECK_EQ(corio_now() - t0, 9900 * CORIO_MS);
    corio_limiter_free(l);
    return 0;
}

TEST(limiter, hundred_at_10_per_second_take_9_9_s)
{
    CHECK_EQ(tst_run(hundred_main, NULL), 0);
}

/* The same from 100 tasks queued at once: the last is served at 9.9 s. */
typedef struct many {
    corio_limiter *l;
    int64_t t0;
    int64_t at[100];
    int next;
} many;

static int many_waiter(void *arg)
{
    many *m = arg;
    CHECK_EQ(corio_limiter_acquire(m->l, 1), 0);
    m->at[m->next++] = corio_now() - m->t0;
    return 0;
}

static int hundred_tasks_main(void *arg)
{
    many *m = arg;
    m->l = mkl(10, 1);
    m->t0 = corio_now();
    corio_task *t[100];
    for (int i = 0; i < 100; i++)
        CHECK_EQ(corio_task_spawn(&t[i], many_waiter, m), 0);
    CHECK_EQ(corio_gather(t, 100, NULL), 0);
    for (int i = 0; i < 100; i++)
        CHECK_EQ(m->at[i], i * TICK);
    CHECK_EQ(corio_now() - m->t0, 9900 * CORIO_MS);
    corio_limiter_free(m->l);
    return 0;
}

TEST(limiter, hundred_tasks_at_10_per_second_take_9_9_s)
{
    static many m;
    CHECK_EQ(tst_run(hundred_tasks_main, &m), 0);
}

/* A rate that does not divide a second: the k-th token is there at the
 * first whole nanosecond at or after k / rate seconds, and so every grant
 * happens then, with no drift over many steps. */
typedef struct odd {
    double rate;
    int64_t per_num, per_den; /* 1/rate seconds = per_num / per_den */
} odd;

static int odd_rate_main(void *arg)
{
    odd *o = arg;
    corio_limiter *l = mkl(o->rate, 1);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_limiter_acquire(l, 1), 0); /* the burst */
    for (int64_t k = 1; k <= 300; k++) {
        CHECK_EQ(corio_limiter_acquire(l, 1), 0);
        int64_t num = k * o->per_num * CORIO_SECOND;
        CHECK_EQ(corio_now() - t0, (num + o->per_den - 1) / o->per_den);
    }
    corio_limiter_free(l);
    return 0;
}

TEST(limiter, rate_that_does_not_divide_a_second_has_no_drift)
{
    odd thirds = {3, 1, 3}, sevenths = {7, 1, 7}, frac = {2.5, 2, 5};
    CHECK_EQ(tst_run(odd_rate_main, &thirds), 0);
    CHECK_EQ(tst_run(odd_rate_main, &sevenths), 0);
    CHECK_EQ(tst_run(odd_rate_main, &frac), 0);
}

/* ---- burst --------------------------------------------------------------- */

static int burst_main(void *arg)
{
    (void)arg;
    corio_limiter *l = mkl(10, 5);
    int64_t t0 = corio_now();
    for (int i = 0; i < 5; i++)
        CHECK_EQ(corio_limiter_acquire(l, 1), 0);
    CHECK_EQ(corio_now(), t0); /* the bucket starts full */
    CHECK_EQ(corio_limiter_acquire(l, 1), 0);
    CHECK_EQ(corio_now() - t0, TICK);
    CHECK_EQ(corio_limiter_acquire(l, 1), 0);
    CHECK_EQ(corio_now() - t0, 2 * TICK);
    /* A long idle time refills to the burst and no further. */
    CHECK_EQ(corio_sleep(60 * CORIO_SECOND), 0);
    int64_t t1 = corio_now();
    for (int i = 0; i < 5; i++)
        CHECK_EQ(corio_limiter_try_acquire(l, 1), 0);
    CHECK_EQ(corio_limiter_try_acquire(l, 1), -EAGAIN);
    CHECK_EQ(corio_limiter_acquire(l, 1), 0);
    CHECK_EQ(corio_now() - t1, TICK);
    /* Partial refill: 2.5 tokens after 250 ms. */
    CHECK_EQ(corio_sleep(250 * CORIO_MS), 0);
    int64_t t2 = corio_now();
    CHECK_EQ(corio_limiter_acquire(l, 2), 0);
    CHECK_EQ(corio_now(), t2);
    CHECK_EQ(corio_limiter_acquire(l, 1), 0); /* 0.5 left: 50 ms more */
    CHECK_EQ(corio_now() - t2, 50 * CORIO_MS);
    corio_limiter_free(l);
    return 0;
}

TEST(limiter, burst_is_immediate_and_caps_the_bucket)
{
    CHECK_EQ(tst_run(burst_main, NULL), 0);
}

/* ---- FIFO fairness ------------------------------------------------------- */

typedef struct req {
    corio_limiter *l;
    int64_t n;
    int64_t t0;
    int64_t at; /* grant time - t0, or -1 */
    int rc;
    int64_t deadline; /* > 0: inside a timeout scope of this length */
} req;

static int requester(void *arg)
{
    req *r = arg;
    if (r->deadline > 0)
        CHECK_EQ(corio_timeout_begin(r->deadline), 0);
    r->rc = corio_limiter_acquire(r->l, r->n);
    r->at = r->rc == 0 ? corio_now() - r->t0 : -1;
    if (r->deadline > 0)
        corio_timeout_end();
    return 0;
}

static int fair_main(void *arg)
{
    (void)arg;
    corio_limiter *l = mkl(10, 5);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_limiter_acquire(l, 5), 0); /* empty the bucket */
    req r[4] = {{l, 5, t0, -1, 1, 0},
                {l, 1, t0, -1, 1, 0},
                {l, 1, t0, -1, 1, 0},
                {l, 3, t0, -1, 1, 0}};
    corio_task *t[4];
    for (int i = 0; i < 4; i++)
        CHECK_EQ(corio_task_spawn(&t[i], requester, &r[i]), 0);
    CHECK_EQ(corio_gather(t, 4, NULL), 0);
    /* The big one first, though a token for the small ones was there
     * after 100 ms. */
    CHECK_EQ(r[0].at, 5 * TICK);
    CHECK_EQ(r[1].at, 6 * TICK);
    CHECK_EQ(r[2].at, 7 * TICK);
    CHECK_EQ(r[3].at, 10 * TICK);
    /* try_acquire does not jump the queue either. */
    req big = {l, 5, corio_now(), -1, 1, 0};
    corio_task *bt;
    CHECK_EQ(corio_sleep(2 * TICK), 0); /* 2 tokens */
    big.t0 = corio_now();
    CHECK_EQ(corio_task_spawn(&bt, requester, &big), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(big.rc, 1); /* waiting for 3 more */
    CHECK_EQ(corio_limiter_try_acquire(l, 1), -EAGAIN);
    CHECK_EQ(corio_task_join(bt, NULL), 0);
    CHECK_EQ(big.at, 3 * TICK);
    corio_limiter_free(l);
    return 0;
}

TEST(limiter, acquire_n_is_fifo_fair)
{
    CHECK_EQ(tst_run(fair_main, NULL), 0);
}

/* ---- arguments, try_acquire, free ---------------------------------------- */

static int args_main(void *arg)
{
    (void)arg;
    corio_limiter *l = mkl(10, 3);
    CHECK_EQ(corio_limiter_acquire(l, 0), -EINVAL);
    CHECK_EQ(corio_limiter_acquire(l, -1), -EINVAL);
    CHECK_EQ(corio_limiter_acquire(l, 4), -EINVAL);
    CHECK_EQ(corio_limiter_try_acquire(l, 0), -EINVAL);
    CHECK_EQ(corio_limiter_try_acquire(l, 4), -EINVAL);
    CHECK_EQ(corio_limiter_acquire(NULL, 1), -EINVAL);
    CHECK_EQ(corio_limiter_try_acquire(l, 3), 0); /* nothing was taken above */
    corio_limiter_free(l);
    corio_limiter_free(NULL);
    return 0;
}

TEST(limiter, invalid_counts_are_einval)
{
    CHECK_EQ(tst_run(args_main, NULL), 0);
}

static int try_acquire_main(void *arg)
{
    (void)arg;
    corio_limiter *l = mkl(10, 3);
    CHECK_EQ(corio_limiter_try_acquire(l, 3), 0);
    CHECK_EQ(corio_limiter_try_acquire(l, 1), -EAGAIN);
    CHECK_EQ(corio_sleep(TICK - 1), 0);
    CHECK_EQ(corio_limiter_try_acquire(l, 1), -EAGAIN); /* 1 ns short */
    CHECK_EQ(corio_sleep(1), 0);
    CHECK_EQ(corio_limiter_try_acquire(l, 1), 0);
    CHECK_EQ(corio_limiter_try_acquire(l, 1), -EAGAIN);
    corio_limiter_free(l);
    return 0;
}

TEST(limiter, try_acquire_takes_tokens_as_they_refill)
{
    CHECK_EQ(tst_run(try_acquire_main, NULL), 0);
}

static int bad_rate_main(void *arg)
{
    (void)arg;
    corio_limiter *bad = (corio_limiter *)&bad;
    CHECK_EQ(corio_limiter_new(&bad, 0, 1), -EINVAL);
    CHECK(bad == NULL);
    bad = (corio_limiter *)&bad;
    CHECK_EQ(corio_limiter_new(&bad, -1, 1), -EINVAL);
    CHECK(bad == NULL);
    CHECK_EQ(corio_limiter_new(&bad, NAN, 1), -EINVAL);
    CHECK_EQ(corio_limiter_new(&bad, INFINITY, 1), -EINVAL);
    CHECK_EQ(corio_limiter_new(&bad, 10, 0), -EINVAL);
    CHECK(bad == NULL);
    return 0;
}

TEST(limiter, new_with_a_bad_rate_or_burst_is_einval)
{
    CHECK_EQ(tst_run(bad_rate_main, NULL), 0);
}

TEST(limiter, acquire_outside_a_task_is_eperm)
{
    corio_limiter *l = mkl(10, 1);
    CHECK_EQ(corio_limiter_acquire(l, 1), -EPERM);
    corio_limiter_free(l);
}

static int free_busy_main(void *arg)
{
    (void)arg;
    corio_limiter *l = mkl(10, 1);
    CHECK_EQ(corio_limiter_acquire(l, 1), 0);
    req r = {l, 1, corio_now(), -1, 1, 0};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, requester, &r), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_limiter_free(l); /* the waiter is woken with -EBADF */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(r.rc, -EBADF);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0); /* its timer is gone with l */
    return 0;
}

TEST(limiter, free_wakes_waiters_with_ebadf)
{
    CHECK_EQ(tst_run(free_busy_main, NULL), 0);
}

/* A cancelled task takes tokens that are there (no wait needed), and gets
 * -ECANCELED when it would have to wait. */
static int cancelled_main(void *arg)
{
    (void)arg;
    corio_limiter *l = mkl(10, 2);
    corio_task_cancel(corio_task_current());
    CHECK_EQ(corio_limiter_acquire(l, 2), 0);
    CHECK_EQ(corio_limiter_acquire(l, 1), -ECANCELED);
    corio_limiter_free(l);
    return 0;
}

TEST(limiter, cancelled_task_takes_available_tokens)
{
    CHECK_EQ(tst_run(cancelled_main, NULL), 0);
}

/* ---- an interrupted head lets the next one through on time --------------- */

typedef struct headcase {
    int64_t cancel_at;      /* when the head is cancelled (0: by its scope) */
    int64_t scope;          /* the head's timeout scope (0: none) */
    int64_t want_b, want_c; /* expected grant times of the next two */
} headcase;

static int sleeper_cancel(void *arg)
{
    void **a = arg;
    corio_task *t = a[0];
    int64_t when = *(int64_t *)a[1];
    CHECK_EQ(corio_sleep(when), 0);
    corio_task_cancel(t);
    return 0;
}

static int head_main(void *arg)
{
    headcase *h = arg;
    corio_limiter *l = mkl(10, 5);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_limiter_acquire(l, 5), 0);
    /* A wants all 5 (at 500 ms), B 1 and C 2 queue behind it. */
    req a = {l, 5, t0, -1, 1, h->scope}, b = {l, 1, t0, -1, 1, 0},
        c = {l, 2, t0, -1, 1, 0};
    corio_task *ta, *tb, *tc, *tk = NULL;
    CHECK_EQ(corio_task_spawn(&ta, requester, &a), 0);
    CHECK_EQ(corio_task_spawn(&tb, requester, &b), 0);
    CHECK_EQ(corio_task_spawn(&tc, requester, &c), 0);
    void *ka[2] = {ta, &h->cancel_at};
    if (h->cancel_at)
        CHECK_EQ(corio_task_spawn(&tk, sleeper_cancel, ka), 0);
    CHECK_EQ(corio_task_join(ta, NULL), 0);
    CHECK_EQ(corio_task_join(tb, NULL), 0);
    CHECK_EQ(corio_task_join(tc, NULL), 0);
    if (tk)
        CHECK_EQ(corio_task_join(tk, NULL), 0);
    CHECK_EQ(a.rc, h->scope ? -ETIMEDOUT : -ECANCELED);
    CHECK_EQ(b.rc, 0);
    CHECK_EQ(c.rc, 0);
    CHECK_EQ(b.at, h->want_b);
    CHECK_EQ(c.at, h->want_c);
    corio_limiter_free(l);
    return 0;
}

TEST(limiter, cancelled_head_lets_next_through_on_time)
{
    /* Cancelled at 50 ms: half a token; B's is there at 100 ms, C's two
     * more at 300 ms. */
    headcase h1 = {50 * CORIO_MS, 0, TICK, 3 * TICK};
    CHECK_EQ(tst_run(head_main, &h1), 0);
    /* Cancelled at 250 ms: 2.5 tokens; B is served at once, C (1.5 left)
     * 50 ms later. */
    headcase h2 = {250 * CORIO_MS, 0, 250 * CORIO_MS, 300 * CORIO_MS};
    CHECK_EQ(tst_run(head_main, &h2), 0);
    /* Cancelled at 400 ms: 4 tokens; B and C both at once. */
    headcase h3 = {400 * CORIO_MS, 0, 4 * TICK, 4 * TICK};
    CHECK_EQ(tst_run(head_main, &h3), 0);
}

TEST(limiter, timed_out_head_lets_next_through_on_time)
{
    headcase h1 = {0, 50 * CORIO_MS, TICK, 3 * TICK};
    CHECK_EQ(tst_run(head_main, &h1), 0);
    headcase h2 = {0, 250 * CORIO_MS, 250 * CORIO_MS, 300 * CORIO_MS};
    CHECK_EQ(tst_run(head_main, &h2), 0);
    headcase h3 = {0, 400 * CORIO_MS, 4 * TICK, 4 * TICK};
    CHECK_EQ(tst_run(head_main, &h3), 0);
}

/* Cancelling the head hands tokens to the next one in the same call; that
 * one, cancelled right after (granted, not yet resumed), keeps them. */
static int chain_main(void *arg)
{
    (void)arg;
    corio_limiter *l = mkl(10, 3);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_limiter_acquire(l, 3), 0);
    req a = {l, 3, t0, -1, 1, 0}, b = {l, 1, t0, -1, 1, 0},
        c = {l, 1, t0, -1, 1, 0};
    corio_task *ta, *tb, *tc;
    CHECK_EQ(corio_task_spawn(&ta, requester, &a), 0);
    CHECK_EQ(corio_task_spawn(&tb, requester, &b), 0);
    CHECK_EQ(corio_task_spawn(&tc, requester, &c), 0);
    CHECK_EQ(corio_sleep(TICK + TICK / 2), 0); /* 1.5 tokens */
    corio_task_cancel(ta);                     /* b is served now */
    corio_task_cancel(tb);                     /* too late: b holds its token */
    CHECK_EQ(corio_limiter_try_acquire(l, 1), -EAGAIN); /* c waits first */
    CHECK_EQ(corio_task_join(ta, NULL), 0);
    CHECK_EQ(corio_task_join(tb, NULL), 0);
    CHECK_EQ(corio_task_join(tc, NULL), 0);
    CHECK_EQ(a.rc, -ECANCELED);
    CHECK_EQ(b.rc, 0);
    CHECK_EQ(b.at, TICK + TICK / 2);
    CHECK_EQ(c.rc, 0);
    CHECK_EQ(c.at, 2 * TICK); /* 0.5 left after b, 0.5 more */
    corio_limiter_free(l);
    return 0;
}

TEST(limiter, head_cancelled_then_next_cancelled_in_same_tick)
{
    CHECK_EQ(tst_run(chain_main, NULL), 0);
}

/* ---- the seeds' RateLimiter, done right ----------------------------------
 *
 * The seed allowed `rate_limit` requests and then slept 1 s polling a
 * counter that was never refilled, so request rate_limit+1 hung forever.
 * Here: 5 requests per second with a burst of 5, 23 "requests" that each
 * take 30 ms; every request starts exactly when its token is there, and at
 * most 5 + 5 t requests start in any window of t seconds. */

typedef struct seedrl {
    corio_limiter *l;
    int64_t t0;
    int64_t start[23];
    int active, max_active;
} seedrl;

typedef struct fetch_arg {
    seedrl *s;
    int i;
} fetch_arg;

static int fetch(void *arg)
{
    fetch_arg *f = arg;
    seedrl *s = f->s;
    int rc = corio_limiter_acquire(s->l, 1);
    if (rc < 0)
        return rc;
    s->start[f->i] = corio_now() - s->t0;
    s->active++;
    if (s->active > s->max_active)
        s->max_active = s->active;
    CHECK_EQ(corio_sleep(30 * CORIO_MS), 0); /* the request */
    s->active--;
    return f->i;
}

static int seed_main(void *arg)
{
    seedrl *s = arg;
    s->l = mkl(5, 5);
    s->t0 = corio_now();
    fetch_arg fa[23];
    corio_task *t[23];
    int res[23];
    for (int i = 0; i < 23; i++) {
        fa[i] = (fetch_arg){s, i};
        CHECK_EQ(corio_task_spawn(&t[i], fetch, &fa[i]), 0);
    }
    CHECK_EQ(corio_gather(t, 23, res), 0);
    for (int i = 0; i < 23; i++)
        CHECK_EQ(res[i], i);
    corio_limiter_free(s->l);
    return 0;
}

TEST(limiter, seeds_rate_limiter_done_right)
{
    static seedrl s;
    CHECK_EQ(tst_run(seed_main, &s), 0);
    int64_t per = CORIO_SECOND / 5;
    for (int i = 0; i < 23; i++)
        CHECK_EQ(s.start[i], i < 5 ? 0 : (i - 4) * per);
    for (int i = 0; i < 23; i++)
        for (int j = i; j < 23; j++) {
            int64_t w = s.start[j] - s.start[i];
            /* j - i + 1 starts within w ns: at most 5 + 5 w / 1 s. */
            CHECK((j - i + 1) * CORIO_SECOND <= 5 * CORIO_SECOND + 5 * w);
        }
    CHECK_EQ(s.max_active, 5);
}

/* ---- cancel-safety sweep ------------------------------------------------- */

enum mode {
    M_AT_START,     /* cancelled at once, before any grant */
    M_BEFORE,       /* cancelled 1 ms before its grant */
    M_SCOPE_BEFORE, /* its scope expires 1 ms before its grant */
    M_SCOPE_SAME,   /* its scope expires in the tick of its grant */
    M_AFTER_GRANT,  /* granted; a task woken in the same tick cancels it
                       before it resumes */
    M_SCOPE_AFTER,  /* its scope expires 1 ms after its grant */
    M_COUNT
};

static const char *mode_name[] = {"at-start",   "before",      "scope-before",
                                  "scope-same", "after-grant", "scope-after"};

#define NW 6

typedef struct sweep {
    int mode, k;
    int64_t need[NW];
    int64_t burst;
    corio_limiter *l;
    int64_t t0;
    corio_task *w[NW];
    int rc[NW];
    int64_t at[NW];
    int64_t planned[NW]; /* grant times with nobody interrupted */
    int cancel_ran, resumed_after_cancel;
} sweep;

typedef struct widx {
    sweep *s;
    int i;
} widx;

static widx wargs[NW];

static int sweep_waiter(void *arg)
{
    widx *a = arg;
    sweep *s = a->s;
    int i = a->i, scoped = 0;
    if (i == s->k) {
        int64_t g = s->t0 + s->planned[i];
        int64_t d = s->mode == M_SCOPE_BEFORE  ? g - CORIO_MS
                    : s->mode == M_SCOPE_SAME  ? g
                    : s->mode == M_SCOPE_AFTER ? g + CORIO_MS
                                               : 0;
        if (d) {
            CHECK_EQ(corio_timeout_begin(d - corio_now()), 0);
            scoped = 1;
        }
    }
    s->rc[i] = corio_limiter_acquire(s->l, s->need[i]);
    s->at[i] = s->rc[i] == 0 ? corio_now() - s->t0 : -1;
    if (i == s->k && s->cancel_ran)
        s->resumed_after_cancel = 1;
    if (scoped)
        corio_timeout_end();
    return 0;
}

static int sweep_canceller(void *arg)
{
    sweep *s = arg;
    int64_t when = s->mode == M_AT_START ? 0
                   : s->mode == M_BEFORE ? s->planned[s->k] - CORIO_MS
                                         : s->planned[s->k];
    if (when > 0)
        CHECK_EQ(corio_sleep(s->t0 + when - corio_now()), 0);
    corio_task_cancel(s->w[s->k]);
    s->cancel_ran = 1;
    return 0;
}

static int sweep_main(void *arg)
{
    sweep *s = arg;
    s->l = mkl(10, s->burst);
    s->t0 = corio_now();
    CHECK_EQ(corio_limiter_acquire(s->l, s->burst), 0); /* empty bucket */
    int64_t cum = 0;
    for (int i = 0; i < NW; i++) {
        cum += s->need[i];
        s->planned[i] = cum * TICK;
    }
    /* The canceller sleeps first, so in the tick of the grant its timer
     * fires before the limiter's (the limiter re-arms at each grant). */
    corio_task *c = NULL;
    if (s->mode == M_BEFORE || s->mode == M_AFTER_GRANT) {
        CHECK_EQ(corio_task_spawn(&c, sweep_canceller, s), 0);
        CHECK_EQ(corio_yield(), 0); /* the canceller arms its timer */
    }
    for (int i = 0; i < NW; i++) {
        wargs[i] = (widx){s, i};
        s->rc[i] = 1;
        CHECK_EQ(corio_task_spawn(&s->w[i], sweep_waiter, &wargs[i]), 0);
    }
    if (s->mode == M_AT_START) {
        /* All park first, then the canceller runs. */
        CHECK_EQ(corio_task_spawn(&c, sweep_canceller, s), 0);
        CHECK_EQ(corio_yield(), 0);
        CHECK_EQ(s->rc[s->k], 1);
    }
    CHECK_EQ(corio_gather(s->w, NW, NULL), 0); /* nobody is stuck */
    if (c)
        CHECK_EQ(corio_task_join(c, NULL), 0);
    int64_t end = corio_now() - s->t0;

    /* Conservation: the successful waiters, in order, were served exactly
     * when a perfect bucket would serve them: a grant as soon as the
     * tokens of all grants so far (after the burst) have accrued, and
     * never before the previous grant or, for the one right after an
     * interrupted waiter, before the interruption. */
    int k = s->k;
    int64_t cum_ok = 0, prev = 0;
    int64_t gone = s->rc[k] == 0           ? -1
                   : s->mode == M_AT_START ? 0
                   : s->mode == M_BEFORE || s->mode == M_SCOPE_BEFORE
                       ? s->planned[k] - CORIO_MS
                       : s->planned[k];
    for (int i = 0; i < NW; i++) {
        if (s->rc[i] != 0) {
            CHECK_EQ(i, k);
            CHECK(s->rc[i] == -ECANCELED || s->rc[i] == -ETIMEDOUT);
            continue;
        }
        cum_ok += s->need[i];
        int64_t want = cum_ok * TICK;
        if (want < prev)
            want = prev;
        if (i == k + 1 && gone >= 0 && want < gone)
            want = gone;
        CHECK_EQ(s->at[i], want);
        prev = want;
    }
    CHECK_EQ(end, gone > prev ? gone : prev);
    /* And the bucket holds exactly what accrued and was not granted:
     * measured by how long a full-burst acquire now takes. */
    int64_t left = end - cum_ok * TICK; /* in ns of accrual */
    CHECK(left >= 0);
    if (left > s->burst * TICK)
        left = s->burst * TICK;
    CHECK_EQ(corio_limiter_acquire(s->l, s->burst), 0);
    CHECK_EQ(corio_now() - s->t0 - end, s->burst * TICK - left);
    corio_limiter_free(s->l);
    return 0;
}

static void check_outcome(sweep *s)
{
    int rc = s->rc[s->k];
    switch (s->mode) {
    case M_AT_START:
    case M_BEFORE:
        CHECK_EQ(rc, -ECANCELED);
        break;
    case M_SCOPE_BEFORE:
        CHECK_EQ(rc, -ETIMEDOUT);
        break;
    case M_SCOPE_SAME:
        CHECK(rc == 0 || rc == -ETIMEDOUT);
        break;
    case M_AFTER_GRANT:
        CHECK_EQ(rc, 0);
        CHECK_EQ(s->resumed_after_cancel, 1);
        break;
    case M_SCOPE_AFTER:
        CHECK_EQ(rc, 0);
        break;
    }
}

static void run_sweep(const int64_t *need, int64_t burst, int *same_outcomes)
{
    for (int mode = 0; mode < M_COUNT; mode++)
        for (int k = 0; k < NW; k++) {
            sweep s;
            memset(&s, 0, sizeof s);
            memcpy(s.need, need, sizeof s.need);
            s.burst = burst;
            s.mode = mode;
            s.k = k;
            int rc = tst_run(sweep_main, &s);
            if (rc != 0)
                fprintf(stderr, "    sweep: mode %s, k %d: run returned %d\n",
                        mode_name[mode], k, rc);
            CHECK_EQ(rc, 0);
            check_outcome(&s);
            if (mode == M_SCOPE_SAME)
                same_outcomes[s.rc[k] == 0]++;
        }
}

TEST(limiter, cancel_sweep_single_tokens)
{
    int64_t need[NW] = {1, 1, 1, 1, 1, 1};
    int same[2] = {0, 0};
    run_sweep(need, 1, same);
    /* The tick of the grant was hit both ways round across the sweep:
     * granted first (kept) and interrupted first (passed on). */
    CHECK(same[0] > 0);
    CHECK(same[1] > 0);
}

TEST(limiter, cancel_sweep_mixed_sizes)
{
    int64_t need[NW] = {3, 1, 2, 1, 3, 1};
    int same[2] = {0, 0};
    run_sweep(need, 3, same);
}

/* ---- regressions found in code review ---------------------------------- */

/* Limiter: a valid but very slow rate (or a large n at a slow rate)
 * makes need / rate exceed INT64_MAX ns.  The double -> int64_t conversion
 * is undefined (INT64_MIN on x86-64), the timer is armed in the past, and
 * serve() re-arms it in the past forever: corio__timer_run never returns. */

static int slow_limiter_main(void *arg)
{
    (void)arg;
    corio_limiter *l;
    CHECK_EQ(corio_limiter_new(&l, 1e-11, 1),
             0);                              /* one token per ~3,000 years */
    CHECK_EQ(corio_limiter_acquire(l, 1), 0); /* the initial burst */
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    int rc = corio_limiter_acquire(l, 1);
    corio_timeout_end();
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, CORIO_SECOND);
    corio_limiter_free(l);
    return 0;
}

TEST_T(limiter, with_a_very_slow_rate_still_times_out, 10)
{
    CHECK_EQ(tst_run(slow_limiter_main, NULL), 0);
}

/* Limiter: corio__timer_arm's -ENOMEM is ignored when the first
 * waiter arms the limiter's timer.  The waiter parks with no timer: nothing
 * ever serves it (here: its tokens are there after 1 s, yet it waits out
 * its 5 s scope).  It should get -ENOMEM, or be served on time. */

static int limiter_enomem_main(void *arg)
{
    (void)arg;
    corio_limiter *l;
    CHECK_EQ(corio_limiter_new(&l, 1.0, 1), 0);
    CHECK_EQ(corio_limiter_acquire(l, 1), 0); /* empty now; no timer yet */
    CHECK_EQ(corio_timeout_begin(5 * CORIO_SECOND), 0);
    int64_t t0 = corio_now();
    corio__fault_arm(1, ENOMEM); /* the limiter timer's heap allocation */
    int rc = corio_limiter_acquire(l, 1);
    corio__fault_disarm();
    corio_timeout_end();
    CHECK(rc == 0 || rc == -ENOMEM);
    if (rc == 0)
        CHECK_EQ(corio_now() - t0, CORIO_SECOND);
    corio_limiter_free(l);
    return 0;
}

TEST(limiter, timer_enomem_is_not_ignored)
{
    CHECK_EQ(tst_run(limiter_enomem_main, NULL), 0);
}

/* A constructor dereferenced a NULL out-parameter instead of returning
 * -EINVAL (STYLE.md: misuse returns an error, never aborts).  The check
 * comes first, in a loop or not. */
TEST(limiter, new_null_out_parameter_is_einval)
{
    CHECK_EQ(corio_limiter_new(NULL, 1.0, 1), -EINVAL);
}
