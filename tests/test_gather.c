/* test_gather.c — gather and wait_for. */
#include "tst.h"

typedef struct job {
    int64_t delay;
    int ret;
    int *cleaned; /* set when the job saw -ECANCELED */
} job;

static int run_job(void *arg)
{
    job *j = arg;
    int rc = corio_sleep(j->delay);
    if (rc < 0) {
        if (j->cleaned)
            ++*j->cleaned;
        return rc;
    }
    return j->ret;
}

static int gather_results(void *arg)
{
    (void)arg;
    job js[4] = {{3 * CORIO_SECOND, 1, NULL},
                 {CORIO_SECOND, -EIO, NULL},
                 {2 * CORIO_SECOND, 3, NULL},
                 {0, -ENOENT, NULL}};
    corio_task *t[4];
    int res[4];
    for (int i = 0; i < 4; i++)
        CHECK_EQ(corio_task_spawn(&t[i], run_job, &js[i]), 0);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_gather(t, 4, res), -EIO);      /* first negative by index */
    CHECK_EQ(corio_now() - t0, 3 * CORIO_SECOND); /* waited for all */
    CHECK_EQ(res[0], 1);
    CHECK_EQ(res[1], -EIO);
    CHECK_EQ(res[2], 3);
    CHECK_EQ(res[3], -ENOENT);
    for (int i = 0; i < 4; i++)
        js[i].ret = i;
    js[1].ret = 0;
    for (int i = 0; i < 4; i++)
        CHECK_EQ(corio_task_spawn(&t[i], run_job, &js[i]), 0);
    CHECK_EQ(corio_gather(t, 4, NULL), 0);
    CHECK_EQ(corio_gather(NULL, 0, NULL), 0);
    return 0;
}

TEST(gather, results_in_order)
{
    CHECK_EQ(tst_run(gather_results, NULL), 0);
}

static int gather_interrupted(void *arg)
{
    int *cleaned = arg;
    job js[3] = {{CORIO_SECOND, 1, cleaned},
                 {10 * CORIO_SECOND, 2, cleaned},
                 {20 * CORIO_SECOND, 3, cleaned}};
    corio_task *t[3];
    int res[3];
    for (int i = 0; i < 3; i++)
        CHECK_EQ(corio_task_spawn(&t[i], run_job, &js[i]), 0);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(5 * CORIO_SECOND), 0);
    CHECK_EQ(corio_gather(t, 3, res), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 5 * CORIO_SECOND);
    CHECK_EQ(res[0], 1);
    CHECK_EQ(res[1], -ECANCELED);
    CHECK_EQ(res[2], -ECANCELED);
    CHECK_EQ(*cleaned, 2);
    return 0;
}

TEST(gather, timeout_cancels_and_awaits_all)
{
    int cleaned = 0;
    (void)cleaned;
    CHECK_EQ(tst_run(gather_interrupted, &cleaned), 0);
}

static int gatherer(void *arg)
{
    int *cleaned = arg;
    job js[2] = {{10 * CORIO_SECOND, 1, cleaned},
                 {20 * CORIO_SECOND, 2, cleaned}};
    corio_task *t[2];
    for (int i = 0; i < 2; i++)
        CHECK_EQ(corio_task_spawn(&t[i], run_job, &js[i]), 0);
    return corio_gather(t, 2, NULL);
}

static int gather_cancelled(void *arg)
{
    (void)arg;
    int cleaned = 0, r = 0;
    corio_task *g;
    CHECK_EQ(corio_task_spawn(&g, gatherer, &cleaned), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    corio_task_cancel(g);
    CHECK_EQ(corio_task_join(g, &r), 0);
    CHECK_EQ(r, -ECANCELED);
    CHECK_EQ(cleaned, 2);
    return 0;
}

TEST(gather, caller_cancelled)
{
    CHECK_EQ(tst_run(gather_cancelled, NULL), 0);
}

static int bad_handles(void *arg)
{
    (void)arg;
    corio_task *t[2];
    job j = {CORIO_MS, 1, NULL};
    CHECK_EQ(corio_task_spawn(&t[0], run_job, &j), 0);
    t[1] = NULL;
    CHECK_EQ(corio_gather(t, 2, NULL), -EINVAL); /* nothing released */
    CHECK_EQ(corio_gather(t, 1, NULL), 0);
    t[0] = corio_task_current();
    CHECK_EQ(corio_gather(t, 1, NULL), -EDEADLK);
    return 0;
}

TEST(gather, invalid_handles)
{
    CHECK_EQ(tst_run(bad_handles, NULL), 0);
}

static int wait_for_cases(void *arg)
{
    (void)arg;
    int cleaned = 0, r = 0;
    corio_task *t;
    job fast = {CORIO_SECOND, 5, &cleaned};
    job slow = {10 * CORIO_SECOND, 6, &cleaned};
    job exact = {2 * CORIO_SECOND, 7, &cleaned};

    CHECK_EQ(corio_task_spawn(&t, run_job, &fast), 0);
    CHECK_EQ(corio_wait_for(t, 2 * CORIO_SECOND, &r), 0);
    CHECK_EQ(r, 5);

    int64_t t0 = corio_now();
    CHECK_EQ(corio_task_spawn(&t, run_job, &slow), 0);
    CHECK_EQ(corio_wait_for(t, 2 * CORIO_SECOND, &r), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 2 * CORIO_SECOND);
    CHECK_EQ(r, -ECANCELED); /* what the task returned */
    CHECK_EQ(cleaned, 1);

    /* Finishing in the same tick as the deadline counts as finished:
     * the task's timer was armed first, so it fires first. */
    CHECK_EQ(corio_task_spawn(&t, run_job, &exact), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_wait_for(t, 2 * CORIO_SECOND, &r), 0);
    CHECK_EQ(r, 7);

    /* Already finished, zero timeout: still 0. */
    CHECK_EQ(corio_task_spawn(&t, run_job, &fast), 0);
    CHECK_EQ(corio_sleep(2 * CORIO_SECOND), 0);
    CHECK_EQ(corio_wait_for(t, 0, &r), 0);
    CHECK_EQ(r, 5);
    return 0;
}

TEST(gather, wait_for)
{
    CHECK_EQ(tst_run(wait_for_cases, NULL), 0);
}

static int same_tick_waiter(void *arg)
{
    int *out = arg;
    corio_task *t;
    job exact = {2 * CORIO_SECOND, 8, NULL};
    /* The waiter's deadline timer is armed before the task's own sleep:
     * in the tick where both are due, the deadline fires first, yet the
     * task finishes in that same tick before the waiter resumes. */
    CHECK_EQ(corio_task_spawn(&t, run_job, &exact), 0);
    out[0] = corio_wait_for(t, 2 * CORIO_SECOND, &out[1]);
    return 0;
}

static int same_tick(void *arg)
{
    (void)arg;
    int out[2] = {1, 1};
    corio_task *w;
    CHECK_EQ(corio_task_spawn(&w, same_tick_waiter, out), 0);
    CHECK_EQ(corio_task_join(w, NULL), 0);
    CHECK_EQ(out[0], 0);
    CHECK_EQ(out[1], 8);
    return 0;
}

TEST(gather, wait_for_same_tick_as_deadline)
{
    CHECK_EQ(tst_run(same_tick, NULL), 0);
}

static int wf_caller(void *arg)
{
    int *cleaned = arg, r = 0;
    corio_task *t;
    job slow = {10 * CORIO_SECOND, 6, cleaned};
    CHECK_EQ(corio_task_spawn(&t, run_job, &slow), 0);
    return corio_wait_for(t, 5 * CORIO_SECOND, &r);
}

static int wait_for_cancelled(void *arg)
{
    (void)arg;
    int cleaned = 0, r = 0;
    corio_task *c;
    CHECK_EQ(corio_task_spawn(&c, wf_caller, &cleaned), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    corio_task_cancel(c);
    CHECK_EQ(corio_task_join(c, &r), 0);
    CHECK_EQ(r, -ECANCELED);
    CHECK_EQ(cleaned, 1);
    return 0;
}

TEST(gather, wait_for_caller_cancelled)
{
    CHECK_EQ(tst_run(wait_for_cancelled, NULL), 0);
}

/* ---- regressions found in code review ---------------------------------- */

static int ret_arg(void *arg)
{
    return (int)(intptr_t)arg;
}

/* gather with the same handle twice: join_check passes both
 * entries, and the handle is released twice.  The slot goes on the free
 * list twice, and the next two spawns share one record. */

static int gather_dup_main(void *arg)
{
    (void)arg;
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, ret_arg, (void *)7), 0);
    corio_task *v[2] = {t, t};
    int res[2];
    int rc = corio_gather(v, 2, res);
    if (rc == -EINVAL) { /* the fix: nothing released */
        CHECK_EQ(corio_task_join(t, NULL), 0);
        return 0;
    }
    corio_task *a, *b;
    CHECK_EQ(corio_task_spawn(&a, ret_arg, (void *)1), 0);
    CHECK_EQ(corio_task_spawn(&b, ret_arg, (void *)2), 0);
    CHECK(a != b);
    CHECK_EQ(rc, -EINVAL);
    return 0;
}

TEST(gather, with_a_duplicate_handle_is_einval)
{
    CHECK_EQ(tst_run(gather_dup_main, NULL), 0);
}

/* wait_for: the caller is cancelled while waiting and the task
 * finishes later in the same tick.  wait_for returns 0 as if the task had
 * finished first; the spec (and gather, in the same situation) says
 * -ECANCELED.  The same-tick carve-out is for the deadline only. */

static corio_task *wf_cancel_caller;

static int wf_cancel_target(void *arg)
{
    (void)arg;
    corio_yield(); /* lets the helper run before this returns */
    return 3;
}

static int wf_cancel_helper(void *arg)
{
    (void)arg;
    corio_task_cancel(wf_cancel_caller); /* the caller is parked in wait_for */
    return 0;
}

static int wf_cancel_caller_fn(void *arg)
{
    (void)arg;
    corio_task *t, *h;
    CHECK_EQ(corio_task_spawn(&t, wf_cancel_target, NULL), 0);
    CHECK_EQ(corio_task_spawn(&h, wf_cancel_helper, NULL), 0);
    corio_task_detach(h);
    int r = 0;
    int rc = corio_wait_for(t, 10 * CORIO_SECOND, &r);
    CHECK_EQ(r, 3);
    return rc;
}

static int wf_cancel_main(void *arg)
{
    (void)arg;
    int rc = 1;
    CHECK_EQ(corio_task_spawn(&wf_cancel_caller, wf_cancel_caller_fn, NULL), 0);
    CHECK_EQ(corio_task_join(wf_cancel_caller, &rc), 0);
    CHECK_EQ(rc, -ECANCELED);
    return 0;
}

TEST(gather, wait_for_caller_cancelled_returns_ecanceled)
{
    CHECK_EQ(tst_run(wf_cancel_main, NULL), 0);
}
