/* test_run.c — corio_run: return value, nesting, the end of the run, calls
 * made outside a loop. */
#include "tst.h"

#include <string.h>

static int ret42(void *arg)
{
    (void)arg;
    return 42;
}

TEST(run, returns_main_value)
{
    CHECK_EQ(corio_run(ret42, NULL), 42);
    corio_options o = {.virtual_clock = 1, .stack_size = 64 * 1024};
    CHECK_EQ(corio_run_ex(&o, ret42, NULL), 42);
    CHECK_EQ(corio_run(NULL, NULL), -EINVAL);
}

static int nested(void *arg)
{
    int *ran = arg;
    CHECK_EQ(corio_run(ret42, NULL), -EBUSY);
    *ran = 1;
    return 0;
}

TEST(run, nested_run_is_ebusy)
{
    int ran = 0;
    CHECK_EQ(tst_run(nested, &ran), 0);
    CHECK_EQ(ran, 1);
}

TEST(run, outside_loop_calls_fail)
{
    corio_task *t = (corio_task *)1;
    corio_group *g = (corio_group *)1;
    CHECK_EQ(corio_task_spawn(&t, ret42, NULL), -EPERM);
    CHECK(t == NULL);
    CHECK_EQ(corio_sleep(CORIO_MS), -EPERM);
    CHECK_EQ(corio_yield(), -EPERM);
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), -EPERM);
    CHECK_EQ(corio_shield_begin(), -EPERM);
    CHECK_EQ(corio_group_new(&g), -EPERM);
    CHECK(g == NULL);
    CHECK_EQ(corio_fd_wait(0, CORIO_READABLE), -EPERM);
    CHECK_EQ(corio_fd_read(0, &t, 1), -EPERM);
    CHECK_EQ(corio_to_thread(ret42, NULL, NULL), -EPERM);
    CHECK(corio_task_current() == NULL);
    CHECK(strcmp(corio_task_name(NULL), "") == 0);
    CHECK(corio_now() > 0);
}

static int cleanup_done;

static int long_sleeper(void *arg)
{
    (void)arg;
    int rc = corio_sleep(3600 * CORIO_SECOND);
    CHECK_EQ(rc, -ECANCELED);
    /* Cleanup may still wait, inside a shield. */
    corio_shield_begin();
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    corio_shield_end();
    cleanup_done++;
    return rc;
}

static int leaves_tasks(void *arg)
{
    (void)arg;
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, long_sleeper, NULL), 0); /* never joined */
    CHECK_EQ(corio_task_spawn(NULL, long_sleeper, NULL), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    return 7;
}

TEST(run, end_cancels_and_waits_for_every_task)
{
    CHECK_EQ(tst_run(leaves_tasks, NULL), 7);
    CHECK_EQ(cleanup_done, 2);
}

static int runs_again(void *arg)
{
    int *n = arg;
    ++*n;
    return corio_sleep(CORIO_MS);
}

TEST(run, sequential_runs)
{
    int n = 0;
    for (int i = 0; i < 50; i++)
        CHECK_EQ(tst_run(runs_again, &n), 0);
    CHECK_EQ(n, 50);
}

TEST(run, strerror)
{
    CHECK(strcmp(corio_strerror(-ECANCELED), strerror(ECANCELED)) == 0);
    CHECK(strstr(corio_strerror(CORIO_EDEADLOCK), "deadlock") != NULL);
    CHECK(strcmp(corio_strerror(0), "success") == 0);
    CHECK(corio_strerror(CORIO_ERRBASE - 999) != NULL);
}
