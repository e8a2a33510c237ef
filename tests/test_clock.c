/* test_clock.c — the virtual clock: exact deltas, time standing still while
 * tasks are runnable, jumps straight to the next timer; the real clock. */
#include "tst.h"

#include <time.h>

static int ten_seconds(void *arg)
{
    int64_t *seen = arg;
    int64_t t0 = corio_now();
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
        seen[i] = corio_now() - t0;
    }
    return 0;
}

TEST(clock, virtual_ten_seconds_in_no_time)
{
    int64_t seen[10];
    int64_t r0 = tst_real_ns();
    CHECK_EQ(tst_run(ten_seconds, seen), 0);
    CHECK(tst_real_ns() - r0 <
          CORIO_SECOND); /* not a benchmark: a sanity bound */
    for (int i = 0; i < 10; i++)
        CHECK_EQ(seen[i], (i + 1) * CORIO_SECOND);
}

static int spinner(void *arg)
{
    int64_t *stamp = arg;
    int64_t t0 = corio_now();
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(corio_yield(), 0);
    *stamp = corio_now() - t0;
    return 0;
}

static int still_while_runnable(void *arg)
{
    (void)arg;
    int64_t spun = -1;
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, spinner, &spun), 0);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_sleep(CORIO_US), 0); /* wakes after the spinner is done */
    CHECK_EQ(corio_now() - t0, CORIO_US);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(spun, 0);
    return 0;
}

TEST(clock, time_stands_still_while_tasks_run)
{
    CHECK_EQ(tst_run(still_while_runnable, NULL), 0);
}

static int far_timers(void *arg)
{
    (void)arg;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_sleep(365LL * 24 * 3600 * CORIO_SECOND), 0); /* a year */
    CHECK_EQ(corio_now() - t0, 365LL * 24 * 3600 * CORIO_SECOND);
    /* Huge values saturate instead of overflowing. */
    t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(INT64_MAX), 0);
    CHECK_EQ(corio_timeout_begin(5 * CORIO_SECOND), 0);
    CHECK_EQ(corio_sleep(INT64_MAX), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), 0);
    CHECK_EQ(corio_now() - t0, 5 * CORIO_SECOND);
    return 0;
}

TEST(clock, jumps_to_the_next_timer)
{
    CHECK_EQ(tst_run(far_timers, NULL), 0);
}

static int real_sleep(void *arg)
{
    (void)arg;
    int64_t t0 = corio_now(), r0 = tst_real_ns();
    CHECK_EQ(corio_sleep(20 * CORIO_MS), 0);
    int64_t d = corio_now() - t0;
    CHECK(d >= 20 * CORIO_MS);
    CHECK(tst_real_ns() - r0 >= 20 * CORIO_MS);
    return 0;
}

TEST(clock, real_clock_sleeps_for_real)
{
    CHECK_EQ(tst_run_ex(NULL, real_sleep, NULL), 0);
}

static int wake_order[256], nwoken;

static int staggered(void *arg)
{
    int64_t d = (int64_t)(intptr_t)arg;
    CHECK_EQ(corio_sleep(d * CORIO_MS), 0);
    wake_order[nwoken++] = (int)d;
    return (int)d;
}

static int timer_order(void *arg)
{
    (void)arg;
    enum { N = 200 };
    corio_task *t[N];
    int res[N];
    /* Deadlines armed in a scrambled order wake in deadline order. */
    for (int i = 0; i < N; i++)
        CHECK_EQ(corio_task_spawn(&t[i], staggered,
                                  (void *)(intptr_t)((i * 37) % N + 1)),
                 0);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_gather(t, N, res), 0);
    CHECK_EQ(corio_now() - t0, N * CORIO_MS);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(res[i], (i * 37) % N + 1);
        CHECK_EQ(wake_order[i], i + 1);
    }
    return 0;
}

TEST(clock, timers_fire_in_deadline_order)
{
    CHECK_EQ(tst_run(timer_order, NULL), 0);
}
