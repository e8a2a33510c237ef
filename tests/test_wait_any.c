/* test_wait_any.c — corio_wait_any: first finished, as_completed order,
 * errors, and the caller interrupted at its one suspension point (before,
 * in the tick of, and after a task's finish). */
#include "tst.h"

typedef struct job {
    int64_t delay;
    int ret;
} job;

static int run_job(void *arg)
{
    job *j = arg;
    int rc = corio_sleep(j->delay);
    return rc < 0 ? rc : j->ret;
}

static int as_completed(void *arg)
{
    (void)arg;
    job js[4] = {{3 * CORIO_SECOND, 30},
                 {CORIO_SECOND, 10},
                 {2 * CORIO_SECOND, 20},
                 {0, -EIO}};
    corio_task *t[5] = {NULL};
    for (int i = 0; i < 4; i++)
        CHECK_EQ(corio_task_spawn(&t[i + 1], run_job, &js[i]), 0);
    /* t[0] stays NULL: skipped. */
    size_t order[4] = {4, 2, 3, 1};
    int want[4] = {-EIO, 10, 20, 30};
    int64_t t0 = corio_now();
    for (int k = 0; k < 4; k++) {
        size_t i = 99;
        int r = 0;
        CHECK_EQ(corio_wait_any(t, 5, &i, &r), 0);
        CHECK_EQ(i, order[k]);
        CHECK_EQ(r, want[k]);
        CHECK(t[i] == NULL);
        CHECK_EQ(corio_now() - t0, k == 0 ? 0 : k * CORIO_SECOND);
    }
    size_t i;
    CHECK_EQ(corio_wait_any(t, 5, &i, NULL), -EINVAL); /* all NULL now */
    return 0;
}

TEST(wait_any, as_completed_order)
{
    CHECK_EQ(tst_run(as_completed, NULL), 0);
}

static int quick(void *arg)
{
    return (int)(intptr_t)arg;
}

static int finished_lowest_first(void *arg)
{
    (void)arg;
    corio_task *t[3];
    for (int i = 0; i < 3; i++)
        CHECK_EQ(corio_task_spawn(&t[i], quick, (void *)(intptr_t)(i + 1)), 0);
    CHECK_EQ(corio_yield(), 0); /* all three finish */
    corio_task_cancel(corio_task_current());
    size_t i;
    int r;
    /* Already finished: taken even by a cancelled caller, lowest first. */
    for (int k = 0; k < 3; k++) {
        CHECK_EQ(corio_wait_any(t, 3, &i, &r), 0);
        CHECK_EQ(i, (size_t)k);
        CHECK_EQ(r, k + 1);
    }
    return 0;
}

TEST(wait_any, finished_taken_at_once_lowest_index_first)
{
    CHECK_EQ(tst_run(finished_lowest_first, NULL), 0);
}

static int bad_args(void *arg)
{
    (void)arg;
    job j = {CORIO_SECOND, 1};
    corio_task *t[2], *self = corio_task_current();
    size_t i;
    CHECK_EQ(corio_wait_any(NULL, 0, &i, NULL), -EINVAL);
    CHECK_EQ(corio_task_spawn(&t[0], run_job, &j), 0);
    t[1] = t[0];
    CHECK_EQ(corio_wait_any(t, 2, &i, NULL), -EINVAL); /* twice */
    CHECK_EQ(corio_wait_any(t, 1, NULL, NULL), -EINVAL);
    t[1] = self;
    CHECK_EQ(corio_wait_any(t, 2, &i, NULL), -EDEADLK);
    /* Nothing was released or left marked: a plain wait works. */
    CHECK_EQ(corio_wait_any(t, 1, &i, NULL), 0);
    CHECK_EQ(i, 0);
    return 0;
}

TEST(wait_any, bad_arguments_release_nothing)
{
    CHECK_EQ(tst_run(bad_args, NULL), 0);
    size_t i;
    CHECK_EQ(corio_wait_any(NULL, 0, &i, NULL), -EPERM);
}

static int joiner_busy(void *arg)
{
    corio_task *t = arg;
    return corio_task_join(t, NULL);
}

static int busy(void *arg)
{
    (void)arg;
    job j = {CORIO_SECOND, 5};
    corio_task *t, *other;
    size_t i;
    int r;
    CHECK_EQ(corio_task_spawn(&t, run_job, &j), 0);
    CHECK_EQ(corio_task_spawn(&other, joiner_busy, t), 0);
    CHECK_EQ(corio_yield(), 0); /* other is joining t */
    CHECK_EQ(corio_wait_any(&t, 1, &i, &r), -EBUSY);
    CHECK_EQ(corio_task_join(other, &r), 0);
    CHECK_EQ(r, 0);
    return 0;
}

TEST(wait_any, handle_joined_elsewhere_is_busy)
{
    CHECK_EQ(tst_run(busy, NULL), 0);
}

/* The interruption sweep.  Task 0 finishes at 1 s; the waiter is
 * interrupted at 1 s - 1 ms, at 1 s exactly (the same tick: a canceller
 * whose timer was armed before or after the worker's) or at 2 s (after the
 * finish).  Interrupted first: -ECANCELED / -ETIMEDOUT and nothing
 * released (the tasks are then joined one by one); served first: 0. */
enum when { BEFORE, SAME_TICK_FIRST, SAME_TICK_SECOND, AFTER, NWHEN };

typedef struct sweep {
    int when;
    int timeout; /* interrupt by a timeout scope instead of a cancel */
    corio_task *victim;
} sweep;

static int canceller(void *arg)
{
    sweep *s = arg;
    int64_t at = s->when == BEFORE  ? CORIO_SECOND - CORIO_MS
                 : s->when == AFTER ? 2 * CORIO_SECOND
                                    : CORIO_SECOND;
    CHECK_EQ(corio_sleep(at), 0);
    corio_task_cancel(s->victim);
    return 0;
}

static int sweep_main(void *arg)
{
    sweep *s = arg;
    job js[2] = {{CORIO_SECOND, 7}, {5 * CORIO_SECOND, 8}};
    corio_task *t[2], *c = NULL;
    s->victim = corio_task_current();
    if (!s->timeout && s->when == SAME_TICK_FIRST)
        CHECK_EQ(corio_task_spawn(&c, canceller, s), 0);
    CHECK_EQ(corio_task_spawn(&t[0], run_job, &js[0]), 0);
    CHECK_EQ(corio_task_spawn(&t[1], run_job, &js[1]), 0);
    if (!s->timeout && s->when != SAME_TICK_FIRST)
        CHECK_EQ(corio_task_spawn(&c, canceller, s), 0);
    CHECK_EQ(corio_yield(), 0); /* timers armed in spawn order */
    int64_t at = s->when == BEFORE  ? CORIO_SECOND - CORIO_MS
                 : s->when == AFTER ? 2 * CORIO_SECOND
                                    : CORIO_SECOND;
    if (s->timeout)
        CHECK_EQ(corio_timeout_begin_at(corio_now() + at), 0);
    size_t i = 99;
    int r = 0;
    int rc = corio_wait_any(t, 2, &i, &r);
    int code = s->timeout ? -ETIMEDOUT : -ECANCELED;
    /* In the finish's tick a deadline wins: every due timer fires before
     * any task runs, so the worker has not finished yet.  A cancel wins if
     * the canceller runs before the worker (its timer was armed first). */
    int served =
        s->when == AFTER || (!s->timeout && s->when == SAME_TICK_SECOND);
    if (served) {
        CHECK_EQ(rc, 0);
        CHECK_EQ(i, 0);
        CHECK_EQ(r, 7);
        CHECK(t[0] == NULL);
    } else {
        CHECK_EQ(rc, code);
        CHECK(t[0] != NULL && t[1] != NULL); /* nothing released */
    }
    if (s->timeout)
        CORIO_IGNORE(corio_timeout_end());
    /* Still ours: shield the clean-up from our own cancellation. */
    CHECK_EQ(corio_shield_begin(), 0);
    if (t[0])
        CHECK_EQ(corio_task_join(t[0], &r), 0);
    CHECK_EQ(corio_task_join(t[1], &r), 0);
    CHECK_EQ(r, 8);
    if (c)
        CHECK_EQ(corio_task_join(c, NULL), 0);
    corio_shield_end();
    return 0;
}

TEST(wait_any, interrupted_at_every_moment)
{
    for (int timeout = 0; timeout < 2; timeout++)
        for (int w = 0; w < NWHEN; w++) {
            sweep s = {w, timeout, NULL};
            CHECK_EQ(tst_run(sweep_main, &s), 0);
        }
}
