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
    CHECK_EQ(corio_now() - t0,
             2 * CORIO_SECOND); /* exact on the virtual clock */
    CHECK_EQ(corio_sleep(CORIO_MS), -ETIMEDOUT); /* stays expired */
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
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);     /* outer: 1 s */
    CHECK_EQ(corio_timeout_begin(5 * CORIO_SECOND), 0); /* inner: 5 s */
    CHECK_EQ(corio_sleep(10 * CORIO_SECOND), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, CORIO_SECOND);    /* the outer one fired */
    CHECK_EQ(corio_timeout_end(), 0);            /* inner deadline not passed */
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
    CHECK_EQ(corio_shield_end(), -EINVAL); /* innermost is a timeout */
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
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    CHECK_EQ(corio_shield_begin(), 0);
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND),
             0); /* beyond the inline slots */
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

/* ---- scope objects ---------------------------------------------------------
 */

static int obj_deadline_main(void *arg)
{
    (void)arg;
    corio_scope s = CORIO_SCOPE_INIT;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_scope_deadline(&s), CORIO_NEVER); /* not open */
    CHECK_EQ(corio_scope_begin(&s, t0 + CORIO_SECOND), 0);
    CHECK_EQ(corio_scope_begin(&s, t0), -EBUSY); /* already open */
    CHECK_EQ(corio_scope_deadline(&s), t0 + CORIO_SECOND);
    CHECK_EQ(corio_sleep(5 * CORIO_SECOND), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, CORIO_SECOND);
    CHECK_EQ(corio_scope_end(&s), -ETIMEDOUT);
    CHECK_EQ(corio_scope_end(&s), -EINVAL); /* not open any more */
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0); /* nothing leaks past the end */
    return 0;
}

TEST(scope, object_deadline_is_absolute_and_ends_clean)
{
    CHECK_EQ(tst_run(obj_deadline_main, NULL), 0);
}

typedef struct scoped {
    corio_scope s;
    int wait_rc, end_rc, after_rc;
    int64_t at;
} scoped;

static int waits_in_scope(void *arg)
{
    scoped *w = arg;
    CHECK_EQ(corio_scope_begin(&w->s, CORIO_NEVER), 0);
    w->wait_rc = corio_sleep(100 * CORIO_SECOND);
    w->at = corio_now();
    w->end_rc = corio_scope_end(&w->s);
    w->after_rc = corio_sleep(CORIO_SECOND);
    return 0;
}

static int obj_cancel_main(void *arg)
{
    (void)arg;
    scoped w = {.s = CORIO_SCOPE_INIT};
    corio_task *t;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_task_spawn(&t, waits_in_scope, &w), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    corio_scope_cancel(&w.s); /* from another task */
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(w.wait_rc, -ECANCELED);
    CHECK_EQ(w.at - t0, CORIO_SECOND);
    CHECK_EQ(w.end_rc, -ECANCELED); /* cancelled_caught */
    CHECK_EQ(w.after_rc, 0);        /* the task itself is not cancelled */
    corio_scope_cancel(&w.s);       /* not open: a no-op */
    return 0;
}

TEST(scope, object_cancel_from_another_task_stays_inside)
{
    CHECK_EQ(tst_run(obj_cancel_main, NULL), 0);
}

static int obj_move_main(void *arg)
{
    (void)arg;
    scoped w = {.s = CORIO_SCOPE_INIT};
    corio_task *t;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_task_spawn(&t, waits_in_scope, &w), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    /* Earlier, while it waits: the wait ends at the new deadline. */
    corio_scope_set_deadline(&w.s, corio_now() + 2 * CORIO_SECOND);
    CHECK_EQ(corio_scope_deadline(&w.s), t0 + 3 * CORIO_SECOND);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(w.wait_rc, -ETIMEDOUT);
    CHECK_EQ(w.at - t0, 3 * CORIO_SECOND);
    CHECK_EQ(w.end_rc, -ETIMEDOUT);
    CHECK_EQ(w.after_rc, 0);

    /* Later: a scope about to expire is extended. */
    corio_scope s = CORIO_SCOPE_INIT;
    t0 = corio_now();
    CHECK_EQ(corio_scope_begin(&s, t0 + CORIO_SECOND), 0);
    corio_scope_set_deadline(&s, t0 + 10 * CORIO_SECOND);
    CHECK_EQ(corio_sleep(5 * CORIO_SECOND), 0);
    corio_scope_set_deadline(&s, corio_now()); /* now: expired */
    CHECK_EQ(corio_sleep(CORIO_SECOND), -ETIMEDOUT);
    CHECK_EQ(corio_scope_end(&s), -ETIMEDOUT);
    return 0;
}

TEST(scope, object_deadline_moves_while_waiting)
{
    CHECK_EQ(tst_run(obj_move_main, NULL), 0);
}

static int begin_at_main(void *arg)
{
    (void)arg;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin_at(t0 + 3 * CORIO_SECOND), 0);
    CHECK_EQ(corio_sleep(10 * CORIO_SECOND), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 3 * CORIO_SECOND);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_begin_at(CORIO_NEVER), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(corio_timeout_end(), 0);
    CHECK_EQ(corio_timeout_begin_at(t0), 0); /* in the past: expired */
    CHECK_EQ(corio_yield(), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    return 0;
}

TEST(scope, timeout_begin_at_is_absolute)
{
    CHECK_EQ(tst_run(begin_at_main, NULL), 0);
}

/* ---- block forms ------------------------------------------------------------
 */

static int early_return_in_timeout(void)
{
    int rc;
    CORIO_WITH_TIMEOUT(CORIO_SECOND, rc)
    {
        rc = corio_sleep(2 * CORIO_SECOND);
        if (rc < 0)
            return rc; /* the scope ends here all the same */
        CHECK(0);
    }
    return rc;
}

static int early_return_in_shield(void)
{
    int rc;
    CORIO_WITH_SHIELD(rc)
    {
        return corio_sleep(CORIO_SECOND); /* shielded: succeeds */
    }
    return rc;
}

static int early_return_in_auto(void)
{
    CORIO_SCOPE_AUTO s = CORIO_SCOPE_INIT;
    int rc = corio_scope_begin(&s, corio_now() + CORIO_SECOND);
    if (rc < 0)
        return rc;
    return corio_sleep(2 * CORIO_SECOND); /* s ends on the way out */
}

static corio_lock block_lock;

static int early_return_in_lock(void)
{
    int rc;
    CORIO_WITH_LOCK(&block_lock, rc)
    {
        return 7; /* released on the way out */
    }
    return rc;
}

static int blocks_main(void *arg)
{
    (void)arg;
    CHECK_EQ(early_return_in_timeout(), -ETIMEDOUT);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0); /* not poisoned */
    int rc = 1;
    CORIO_WITH_TIMEOUT(CORIO_SECOND, rc)
    {
        CHECK_EQ(corio_sleep(CORIO_MS), 0);
    }
    CHECK_EQ(rc, 0);

    corio_task_cancel(corio_task_current());
    CHECK_EQ(early_return_in_shield(), 0);
    CHECK_EQ(corio_yield(), -ECANCELED); /* the shield ended */
    CORIO_WITH_SHIELD(rc)
    {
        CHECK_EQ(corio_yield(), 0);
    }
    CHECK_EQ(rc, 0);
    return 0;
}

static int blocks_main2(void *arg)
{
    (void)arg;
    CHECK_EQ(early_return_in_auto(), -ETIMEDOUT);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0); /* not poisoned */

    CHECK_EQ(corio_lock_init(&block_lock), 0);
    CHECK_EQ(early_return_in_lock(), 7);
    CHECK_EQ(corio_lock_try_acquire(&block_lock), 0); /* was released */
    CHECK_EQ(corio_lock_release(&block_lock), 0);
    /* A failed acquire skips the block and releases nothing. */
    int rc = 1, ran = 0;
    CHECK_EQ(corio_lock_acquire(&block_lock), 0);
    CORIO_WITH_LOCK(&block_lock, rc)
    {
        ran = 1;
    }
    CHECK_EQ(rc, -EDEADLK);
    CHECK_EQ(ran, 0);
    CHECK_EQ(corio_lock_release(&block_lock), 0); /* still ours */
    corio_sem sem;
    CHECK_EQ(corio_sem_init(&sem, 1), 0);
    CORIO_WITH_SEM(&sem, rc)
    {
        CHECK_EQ(corio_sem_value(&sem), 0);
    }
    CHECK_EQ(corio_sem_value(&sem), 1);
    corio_sem_destroy(&sem);
    corio_lock_destroy(&block_lock);
    return 0;
}

TEST(scope, block_forms_end_on_every_path)
{
    CHECK_EQ(tst_run(blocks_main, NULL), 0);
    CHECK_EQ(tst_run(blocks_main2, NULL), 0);
}
