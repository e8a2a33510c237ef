/* test_event.c — corio_event: wait on a set event, set waking every waiter,
 * clear, is_set, cancelled and timed-out waiters, and the misuse codes.
 * The same-tick cancellation sweeps are in test_sync_sweep.c. */
#include "tst.h"

static int set_flag(void *arg)
{
    *(int *)arg = 1;
    return 0;
}

static int is_set(void *arg)
{
    (void)arg;
    corio_event e;
    corio_task *t;
    int ran = 0;
    CHECK_EQ(corio_event_init(&e), 0);
    CHECK_EQ(corio_event_is_set(&e), 0);
    corio_event_set(&e);
    CHECK_EQ(corio_event_is_set(&e), 1);
    corio_event_set(&e); /* idempotent */
    CHECK_EQ(corio_event_is_set(&e), 1);
    /* Set: wait returns at once, without suspending. */
    CHECK_EQ(corio_task_spawn(&t, set_flag, &ran), 0);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_event_wait(&e), 0);
    CHECK_EQ(corio_event_wait(&e), 0); /* not consumed */
    CHECK_EQ(ran, 0);
    CHECK_EQ(corio_now(), t0);
    corio_event_clear(&e);
    CHECK_EQ(corio_event_is_set(&e), 0);
    corio_event_clear(&e);
    CHECK_EQ(corio_event_is_set(&e), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_event_destroy(&e);
    return 0;
}

TEST(event, is_set_and_wait_returns_at_once_when_set)
{
    CHECK_EQ(tst_run(is_set, NULL), 0);
}

static int cancelled_wait_on_set(void *arg)
{
    (void)arg;
    corio_event e;
    CHECK_EQ(corio_event_init(&e), 0);
    corio_event_set(&e);
    corio_task_cancel(corio_task_current());
    CHECK_EQ(corio_event_wait(&e), 0); /* no wait needed: succeeds */
    corio_event_clear(&e);
    CHECK_EQ(corio_event_wait(&e), -ECANCELED);
    corio_event_destroy(&e); /* it did not stay queued */
    return 0;
}

TEST(event, set_event_is_seen_even_when_cancelled)
{
    CHECK_EQ(tst_run(cancelled_wait_on_set, NULL), 0);
}

/* ---- set wakes every waiter ------------------------------------------- */

#define NW 5

typedef struct ev {
    corio_event e;
    int rc[NW];
    int64_t woke[NW];
    int nwoke;
} ev;

typedef struct ev_arg {
    ev *v;
    int i;
} ev_arg;

static int ev_waiter(void *arg)
{
    ev_arg *a = arg;
    a->v->rc[a->i] = corio_event_wait(&a->v->e);
    a->v->woke[a->i] = corio_now();
    a->v->nwoke++;
    return 0;
}

static void spawn_waiters(ev *v, ev_arg *a, corio_task **t)
{
    for (int i = 0; i < NW; i++) {
        v->rc[i] = 1;
        a[i] = (ev_arg){v, i};
        CHECK_EQ(corio_task_spawn(&t[i], ev_waiter, &a[i]), 0);
    }
}

static int set_wakes_all(void *arg)
{
    (void)arg;
    ev v = {.nwoke = 0};
    ev_arg a[NW];
    corio_task *t[NW];
    CHECK_EQ(corio_event_init(&v.e), 0);
    spawn_waiters(&v, a, t);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(v.nwoke, 0); /* all wait */
    int64_t t_set = corio_now();
    corio_event_set(&v.e);
    CHECK_EQ(corio_gather(t, NW, NULL), 0);
    CHECK_EQ(v.nwoke, NW);
    for (int i = 0; i < NW; i++) {
        CHECK_EQ(v.rc[i], 0);
        CHECK_EQ(v.woke[i], t_set); /* in the tick of the set */
    }
    corio_event_destroy(&v.e);
    return 0;
}

TEST(event, set_wakes_every_waiter)
{
    CHECK_EQ(tst_run(set_wakes_all, NULL), 0);
}

static int set_then_clear(void *arg)
{
    (void)arg;
    ev v = {.nwoke = 0};
    ev_arg a[NW];
    corio_task *t[NW];
    CHECK_EQ(corio_event_init(&v.e), 0);
    spawn_waiters(&v, a, t);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    /* As in asyncio: the waiters were woken by the set; clearing before
     * they run does not put them back to sleep. */
    corio_event_set(&v.e);
    corio_event_clear(&v.e);
    CHECK_EQ(corio_gather(t, NW, NULL), 0);
    for (int i = 0; i < NW; i++)
        CHECK_EQ(v.rc[i], 0);
    CHECK_EQ(corio_event_is_set(&v.e), 0);
    corio_event_destroy(&v.e);
    return 0;
}

TEST(event, waiters_woken_by_set_survive_an_immediate_clear)
{
    CHECK_EQ(tst_run(set_then_clear, NULL), 0);
}

static int clear_blocks_again(void *arg)
{
    (void)arg;
    ev v = {.nwoke = 0};
    ev_arg a[NW];
    corio_task *t[NW];
    CHECK_EQ(corio_event_init(&v.e), 0);
    corio_event_set(&v.e);
    corio_event_clear(&v.e);
    int64_t t0 = corio_now();
    spawn_waiters(&v, a, t);
    CHECK_EQ(corio_sleep(2 * CORIO_SECOND), 0);
    CHECK_EQ(v.nwoke, 0); /* cleared: they wait */
    corio_event_set(&v.e);
    CHECK_EQ(corio_gather(t, NW, NULL), 0);
    for (int i = 0; i < NW; i++) {
        CHECK_EQ(v.rc[i], 0);
        CHECK_EQ(v.woke[i] - t0, 2 * CORIO_SECOND);
    }
    corio_event_destroy(&v.e);
    return 0;
}

TEST(event, cleared_event_blocks_until_set_again)
{
    CHECK_EQ(tst_run(clear_blocks_again, NULL), 0);
}

/* ---- Cancellation and timeouts ---------------------------------------- */

static int cancel_one(void *arg)
{
    (void)arg;
    ev v = {.nwoke = 0};
    ev_arg a[NW];
    corio_task *t[NW];
    CHECK_EQ(corio_event_init(&v.e), 0);
    spawn_waiters(&v, a, t);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    corio_task_cancel(t[2]);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(v.nwoke, 1);
    CHECK_EQ(v.rc[2], -ECANCELED);
    CHECK_EQ(v.woke[2], corio_now() - CORIO_SECOND); /* at the cancel */
    corio_event_set(&v.e);
    CHECK_EQ(corio_gather(t, NW, NULL), 0);
    for (int i = 0; i < NW; i++)
        CHECK_EQ(v.rc[i], i == 2 ? -ECANCELED : 0);
    corio_event_destroy(&v.e);
    return 0;
}

TEST(event, cancelled_waiter_returns_ecanceled_and_others_still_wake)
{
    CHECK_EQ(tst_run(cancel_one, NULL), 0);
}

typedef struct timed_arg {
    corio_event *e;
    int rc;
    int64_t woke;
} timed_arg;

static int timed_waiter(void *arg)
{
    timed_arg *a = arg;
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    a->rc = corio_event_wait(a->e);
    a->woke = corio_now();
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    return 0;
}

static int timeout_one(void *arg)
{
    (void)arg;
    ev v = {.nwoke = 0};
    ev_arg a[NW];
    corio_task *t[NW], *timed;
    timed_arg ta = {&v.e, 1, 0};
    int64_t t0 = corio_now();
    CHECK_EQ(corio_event_init(&v.e), 0);
    spawn_waiters(&v, a, t);
    CHECK_EQ(corio_task_spawn(&timed, timed_waiter, &ta), 0);
    CHECK_EQ(corio_task_join(timed, NULL), 0);
    CHECK_EQ(ta.rc, -ETIMEDOUT);
    CHECK_EQ(ta.woke - t0, CORIO_SECOND);
    CHECK_EQ(v.nwoke, 0);
    corio_event_set(&v.e);
    CHECK_EQ(corio_gather(t, NW, NULL), 0);
    for (int i = 0; i < NW; i++)
        CHECK_EQ(v.rc[i], 0);
    corio_event_destroy(&v.e);
    return 0;
}

TEST(event, timed_out_waiter_returns_etimedout_and_others_still_wake)
{
    CHECK_EQ(tst_run(timeout_one, NULL), 0);
}

/* ---- Misuse ----------------------------------------------------------- */

static int misuse(void *arg)
{
    (void)arg;
    corio_event e = {{0}};
    CHECK_EQ(corio_event_wait(&e), -EINVAL);
    CHECK_EQ(corio_event_is_set(&e), 0);
    corio_event_set(&e); /* ignored, no crash */
    corio_event_clear(&e);
    CHECK_EQ(corio_event_is_set(&e), 0);
    CHECK_EQ(corio_event_init(NULL), -EINVAL);
    CHECK_EQ(corio_event_init(&e), 0);
    corio_event_destroy(&e);
    CHECK_EQ(corio_event_wait(&e), -EINVAL); /* destroyed */
    return 0;
}

TEST(event, uninitialised_or_destroyed_is_einval)
{
    CHECK_EQ(tst_run(misuse, NULL), 0);
}

TEST(event, wait_outside_a_task_is_eperm)
{
    corio_event e;
    CHECK_EQ(corio_event_init(&e), 0);
    CHECK_EQ(corio_event_wait(&e), -EPERM);
    corio_event_set(&e); /* set and clear never suspend: fine anywhere */
    CHECK_EQ(corio_event_is_set(&e), 1);
    CHECK_EQ(corio_event_wait(&e), -EPERM);
    corio_event_destroy(&e);
}

/* ---- Waiters left behind when the run ends ---------------------------- */

static corio_event left_event;
static int left_rc[3];

static int left_waiter(void *arg)
{
    left_rc[(intptr_t)arg] = corio_event_wait(&left_event);
    return 0;
}

static int leave_waiters(void *arg)
{
    (void)arg;
    for (intptr_t i = 0; i < 3; i++) {
        left_rc[i] = 1;
        CHECK_EQ(corio_task_spawn(NULL, left_waiter, (void *)i), 0);
    }
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    return 0; /* they still wait: corio_run cancels them */
}

TEST(event, waiters_left_when_the_run_ends_are_cancelled_and_unlinked)
{
    CHECK_EQ(corio_event_init(&left_event), 0);
    CHECK_EQ(tst_run(leave_waiters, NULL), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(left_rc[i], -ECANCELED);
    /* Their waiters lived on their stacks: none may be left queued. */
    corio_event_destroy(&left_event);
}
