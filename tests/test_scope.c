/* test_scope.c — timeout scopes and shields: nesting, level-triggered
 * expiry, ends, shields deferring cancellation and outer deadlines. */
#include "tst.h"

static int basic_timeout(void *arg)
{
    (void)arg;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(2 * CORIO_SECOND), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(corio_sleep(10 * CORIO_SECOND), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 2 * CORIO_SECOND); /* exact on the virtual clock */
    CHECK_EQ(corio_sleep(CORIO_MS), -ETIMEDOUT);  /* stays expired */
    CHECK_EQ(corio_yield(), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_sleep(CORIO_MS), 0); /* outside the scope: fine again */
    /* A scope whose work finishes in time ends with 0. */
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND / 2), 0);
    CHECK_EQ(corio_timeout_end(), 0);
    /* <= 0: already expired. */
    CHECK_EQ(corio_timeout_begin(0), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_begin(-5), 0);
    CHECK_EQ(corio_yield(), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    return 0;
}

TEST(scope, timeout_expires_and_stays_expired)
{
    CHECK_EQ(tst_run(basic_timeout, NULL), 0);
}

static int nesting(void *arg)
{
    (void)arg;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);    /* outer: 1 s */
    CHECK_EQ(corio_timeout_begin(5 * CORIO_SECOND), 0); /* inner: 5 s */
    CHECK_EQ(corio_sleep(10 * CORIO_SECOND), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, CORIO_SECOND); /* the outer one fired */
    CHECK_EQ(corio_timeout_end(), 0);         /* inner deadline not passed */
    CHECK_EQ(corio_sleep(CORIO_MS), -ETIMEDOUT); /* the outer keeps failing */
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    /* Inner shorter than outer. */
    t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(5 * CORIO_SECOND), 0);
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    CHECK_EQ(corio_sleep(10 * CORIO_SECOND), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0); /* the outer still has time */
    CHECK_EQ(corio_timeout_end(), 0);
    CHECK_EQ(corio_now() - t0, 2 * CORIO_SECOND);
    return 0;
}

TEST(scope, nested_timeouts)
{
    CHECK_EQ(tst_run(nesting, NULL), 0);
}

static int misuse(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_timeout_end(), -EINVAL);
    CHECK_EQ(corio_shield_end(), -EINVAL);
    CHECK_EQ(corio_shield_begin(), 0);
    CHECK_EQ(corio_timeout_end(), -EINVAL); /* innermost is a shield */
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    CHECK_EQ(corio_shield_end(), -EINVAL);  /* innermost is a timeout */
    CHECK_EQ(corio_timeout_end(), 0);
    CHECK_EQ(corio_shield_end(), 0);
    /* Many nested scopes (beyond the inline ones). */
    for (int i = 0; i < 100; i++)
        CHECK_EQ(corio_timeout_begin((i + 1) * CORIO_SECOND), 0);
    CHECK_EQ(corio_sleep(200 * CORIO_SECOND), -ETIMEDOUT);
    for (int i = 0; i < 99; i++)
        CHECK_EQ(corio_timeout_end(), 0);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    return 0;
}

TEST(scope, ending_the_wrong_scope_is_einval)
{
    CHECK_EQ(tst_run(misuse, NULL), 0);
}

static int leaves_scopes_open(void *arg)
{
    (void)arg;
    corio_timeout_begin(CORIO_SECOND);
    corio_shield_begin();
    corio_timeout_begin(CORIO_SECOND);
    corio_timeout_begin(CORIO_SECOND); /* beyond the inline slots */
    return 3;
}

static int open_scopes(void *arg)
{
    (void)arg;
    corio_task *t;
    int r = 0;
    CHECK_EQ(corio_task_spawn(&t, leaves_scopes_open, NULL), 0);
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, 3);
    return 0;
}

TEST(scope, open_scopes_closed_at_task_end)
{
    CHECK_EQ(tst_run(open_scopes, NULL), 0);
}

static int shielded(void *arg)
{
    int *log = arg;
    CHECK_EQ(corio_shield_begin(), 0);
    log[0] = corio_sleep(2 * CORIO_SECOND); /* cancelled at 1 s: deferred */
    log[1] = corio_sleep(CORIO_SECOND);
    CHECK_EQ(corio_shield_end(), 0);
    log[2] = corio_sleep(CORIO_MS); /* the deferred cancellation arrives */
    return 0;
}

static int shield_defers_cancel(void *arg)
{
    (void)arg;
    int log[3] = {1, 1, 1};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, shielded, log), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    int64_t t0 = corio_now();
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(corio_now() - t0, 2 * CORIO_SECOND);
    CHECK_EQ(log[0], 0);
    CHECK_EQ(log[1], 0);
    CHECK_EQ(log[2], -ECANCELED);
    return 0;
}

TEST(scope, shield_defers_cancellation)
{
    CHECK_EQ(tst_run(shield_defers_cancel, NULL), 0);
}

static int shield_and_deadlines(void *arg)
{
    (void)arg;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    CHECK_EQ(corio_shield_begin(), 0);
    CHECK_EQ(corio_sleep(3 * CORIO_SECOND), 0); /* outer deadline deferred */
    /* A scope opened inside the shield still works. */
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    CHECK_EQ(corio_sleep(5 * CORIO_SECOND), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 4 * CORIO_SECOND);
    CHECK_EQ(corio_shield_end(), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), -ETIMEDOUT); /* the outer one, now */
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    return 0;
}

TEST(scope, shield_defers_outer_deadlines_only)
{
    CHECK_EQ(tst_run(shield_and_deadlines, NULL), 0);
}

static int both_pending(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_timeout_begin(0), 0); /* expired */
    corio_task_cancel(corio_task_current());
    CHECK_EQ(corio_sleep(CORIO_SECOND), -ECANCELED); /* cancellation wins */
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    return 0;
}

TEST(scope, cancellation_beats_deadline)
{
    CHECK_EQ(tst_run(both_pending, NULL), 0);
}

static int hour_sleeper(void *arg)
{
    (void)arg;
    return corio_sleep(3600 * CORIO_SECOND);
}

static int deadline_while_parked(void *arg)
{
    int *rc = arg;
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, hour_sleeper, NULL), 0);
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    rc[0] = corio_task_join(t, NULL); /* a join, interrupted by the scope */
    rc[1] = corio_timeout_end();
    corio_task_cancel(t);
    int r = 0;
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, -ECANCELED);
    return 0;
}

static int scope_interrupts_other_waits(void *arg)
{
    (void)arg;
    int rc[2];
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, deadline_while_parked, rc), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(rc[0], -ETIMEDOUT);
    CHECK_EQ(rc[1], -ETIMEDOUT);
    return 0;
}

TEST(scope, deadline_interrupts_a_parked_task)
{
    CHECK_EQ(tst_run(scope_interrupts_other_waits, NULL), 0);
}
