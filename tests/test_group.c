/* test_group.c — task groups: success, first failure cancels siblings and
 * the owner, owner cancelled or timed out, explicit cancel, misuse. */
#include "tst.h"

typedef struct child {
    int64_t delay;
    int ret;
    int *log; /* log[0]: cancelled count, log[1]: finished count */
} child;

static int run_child(void *arg)
{
    child *c = arg;
    int rc = corio_sleep(c->delay);
    if (rc < 0) {
        c->log[0]++;
        return rc;
    }
    c->log[1]++;
    return c->ret;
}

static int all_succeed(void *arg)
{
    (void)arg;
    int log[2] = {0, 0};
    child cs[3] = {{CORIO_SECOND, 0, log},
                   {2 * CORIO_SECOND, 1, log},
                   {3 * CORIO_SECOND, 2, log}};
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(corio_group_spawn(g, run_child, &cs[i]), 0);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_group_wait(g), 0);
    CHECK_EQ(corio_now() - t0, 3 * CORIO_SECOND);
    CHECK_EQ(log[1], 3);
    /* An empty group. */
    CHECK_EQ(corio_group_new(&g), 0);
    CHECK_EQ(corio_group_wait(g), 0);
    return 0;
}

TEST(group, all_succeed)
{
    CHECK_EQ(tst_run(all_succeed, NULL), 0);
}

static int first_failure(void *arg)
{
    (void)arg;
    int log[2] = {0, 0};
    child cs[4] = {{10 * CORIO_SECOND, 0, log},
                   {CORIO_SECOND, -EIO, log},
                   {2 * CORIO_SECOND, -ENOENT, log},
                   {CORIO_SECOND / 2, 0, log}};
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(corio_group_spawn(g, run_child, &cs[i]), 0);
    int64_t t0 = corio_now();
    /* The owner's own wait inside the group is cancelled by the failure. */
    CHECK_EQ(corio_sleep(100 * CORIO_SECOND), -ECANCELED);
    CHECK_EQ(corio_now() - t0, CORIO_SECOND);
    CHECK_EQ(corio_sleep(CORIO_MS), -ECANCELED); /* level-triggered inside */
    CHECK_EQ(corio_group_spawn(g, run_child, &cs[0]), -ECANCELED);
    CHECK_EQ(corio_group_wait(g), -EIO);
    CHECK_EQ(corio_now() - t0, CORIO_SECOND);
    CHECK_EQ(log[0], 2);                /* children 0 and 2 cancelled */
    CHECK_EQ(log[1], 2);                /* children 1 (failed) and 3 finished */
    CHECK_EQ(corio_sleep(CORIO_MS), 0); /* outside the group: fine */
    return 0;
}

TEST(group, first_failure_cancels_siblings_and_owner)
{
    CHECK_EQ(tst_run(first_failure, NULL), 0);
}

static int failure_while_owner_waits(void *arg)
{
    (void)arg;
    int log[2] = {0, 0};
    child cs[2] = {{10 * CORIO_SECOND, 0, log}, {CORIO_SECOND, -EPIPE, log}};
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(corio_group_spawn(g, run_child, &cs[i]), 0);
    CHECK_EQ(corio_group_wait(g), -EPIPE);
    CHECK_EQ(log[0], 1);
    return 0;
}

TEST(group, failure_while_owner_waits)
{
    CHECK_EQ(tst_run(failure_while_owner_waits, NULL), 0);
}

static int owner_body(void *arg)
{
    int *log = arg;
    child cs[2] = {{10 * CORIO_SECOND, 0, log}, {20 * CORIO_SECOND, 0, log}};
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(corio_group_spawn(g, run_child, &cs[i]), 0);
    return corio_group_wait(g);
}

static int owner_cancelled(void *arg)
{
    (void)arg;
    int log[2] = {0, 0}, r = 0;
    corio_task *o;
    CHECK_EQ(corio_task_spawn(&o, owner_body, log), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    corio_task_cancel(o);
    CHECK_EQ(corio_task_join(o, &r), 0);
    CHECK_EQ(r, -ECANCELED);
    CHECK_EQ(log[0], 2);
    /* The owner's scope expiring. */
    log[0] = log[1] = 0;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(3 * CORIO_SECOND), 0);
    CHECK_EQ(owner_body(log), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 3 * CORIO_SECOND);
    CHECK_EQ(log[0], 2);
    return 0;
}

TEST(group, owner_cancelled_or_timed_out)
{
    CHECK_EQ(tst_run(owner_cancelled, NULL), 0);
}

static int explicit_cancel(void *arg)
{
    (void)arg;
    int log[2] = {0, 0};
    child cs[2] = {{10 * CORIO_SECOND, 0, log}, {20 * CORIO_SECOND, 0, log}};
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(corio_group_spawn(g, run_child, &cs[i]), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    corio_group_cancel(g);
    CHECK_EQ(corio_group_spawn(g, run_child, &cs[0]), -ECANCELED);
    CHECK_EQ(corio_sleep(CORIO_SECOND), -ECANCELED);
    CHECK_EQ(corio_group_wait(g), -ECANCELED);
    CHECK_EQ(log[0], 2);
    return 0;
}

TEST(group, explicit_cancel)
{
    CHECK_EQ(tst_run(explicit_cancel, NULL), 0);
}

static corio_group *shared_group;
static int spawns_sibling(void *arg)
{
    int *log = arg;
    static child c;
    c = (child){CORIO_SECOND, 0, log};
    CHECK_EQ(corio_group_wait(shared_group), -EPERM); /* not the owner */
    return corio_group_spawn(shared_group, run_child, &c);
}

static int child_spawns(void *arg)
{
    (void)arg;
    int log[2] = {0, 0};
    CHECK_EQ(corio_group_new(&shared_group), 0);
    CHECK_EQ(corio_group_spawn(shared_group, spawns_sibling, log), 0);
    CHECK_EQ(corio_group_wait(shared_group), 0);
    CHECK_EQ(log[1], 1);
    return 0;
}

TEST(group, children_spawn_siblings)
{
    CHECK_EQ(tst_run(child_spawns, NULL), 0);
}

static int scope_misnested(void *arg)
{
    (void)arg;
    int log[2] = {0, 0};
    child c = {CORIO_SECOND, 0, log};
    corio_group *g;
    CHECK_EQ(corio_group_wait(NULL), -EINVAL);
    CHECK_EQ(corio_group_spawn(NULL, run_child, &c), -EINVAL);
    CHECK_EQ(corio_group_new(&g), 0);
    CHECK_EQ(corio_group_spawn(g, run_child, &c), 0);
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND * 5), 0);
    CHECK_EQ(corio_group_wait(g), -EINVAL); /* the timeout is still open */
    CHECK_EQ(corio_timeout_end(), 0);
    CHECK_EQ(corio_group_wait(g), 0);
    return 0;
}

TEST(group, misnested_scope_is_einval)
{
    CHECK_EQ(tst_run(scope_misnested, NULL), 0);
}

static int nested_groups(void *arg)
{
    (void)arg;
    int log[2] = {0, 0};
    child fail = {CORIO_SECOND, -EIO, log}, slow = {10 * CORIO_SECOND, 0, log};
    corio_group *outer, *inner;
    CHECK_EQ(corio_group_new(&outer), 0);
    CHECK_EQ(corio_group_spawn(outer, run_child, &slow), 0);
    CHECK_EQ(corio_group_new(&inner), 0);
    CHECK_EQ(corio_group_spawn(inner, run_child, &fail), 0);
    CHECK_EQ(corio_group_wait(inner), -EIO);
    /* The outer group is unaffected by the inner one's failure. */
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    corio_group_cancel(outer);
    CHECK_EQ(corio_group_wait(outer), -ECANCELED);
    CHECK_EQ(log[0], 1);
    return 0;
}

TEST(group, nested_groups)
{
    CHECK_EQ(tst_run(nested_groups, NULL), 0);
}

static int shielded_group(void *arg)
{
    (void)arg;
    int log[2] = {0, 0};
    child cs[2] = {{2 * CORIO_SECOND, 0, log}, {CORIO_SECOND, 0, log}};
    corio_group *g;
    corio_task_cancel(corio_task_current());
    CHECK_EQ(corio_shield_begin(), 0);
    CHECK_EQ(corio_group_new(&g), 0);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(corio_group_spawn(g, run_child, &cs[i]), 0);
    CHECK_EQ(corio_group_wait(g), 0); /* the owner's cancel is deferred */
    CHECK_EQ(corio_shield_end(), 0);
    CHECK_EQ(log[1], 2);
    CHECK_EQ(corio_yield(), -ECANCELED);
    return 0;
}

TEST(group, group_inside_shield)
{
    CHECK_EQ(tst_run(shielded_group, NULL), 0);
}

/* ---- regressions found in code review ---------------------------------- */

/* A constructor dereferenced a NULL out-parameter instead of returning
 * -EINVAL (STYLE.md: misuse returns an error, never aborts).  The check
 * comes first, in a loop or not. */
TEST(group, new_null_out_parameter_is_einval)
{
    CHECK_EQ(corio_group_new(NULL), -EINVAL);
}
