/* test_run.c — corio_run: return value, nesting, the end of the run, calls
 * made outside a loop. */
#include "tst.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int ret42(void *arg)
{
    (void)arg;
    return 42;
}

TEST(run, returns_main_value)
{
    int result = 0;
    CHECK_EQ(corio_run(ret42, NULL, &result), 0);
    CHECK_EQ(result, 42);
    corio_options o = {.virtual_clock = 1, .stack_size = 64 * 1024};
    result = 0;
    CHECK_EQ(corio_run_ex(ret42, NULL, &result, &o), 0);
    CHECK_EQ(result, 42);
    CHECK_EQ(corio_run(ret42, NULL, NULL), 0); /* result may be NULL */
    CHECK_EQ(corio_run(NULL, NULL, &result), -EINVAL);
}

static int ret_enomem(void *arg)
{
    (void)arg;
    return -ENOMEM;
}

/* main failing with a code corio itself could return is still main's. */
TEST(run, main_failure_is_not_corio_failure)
{
    int result = 0;
    CHECK_EQ(corio_run(ret_enomem, NULL, &result), 0);
    CHECK_EQ(result, -ENOMEM);
}

static int nested(void *arg)
{
    int *ran = arg;
    int result = 7;
    CHECK_EQ(corio_run(ret42, NULL, &result), -EBUSY);
    CHECK_EQ(result, 7); /* untouched: nothing ran */
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
    CHECK_EQ(corio_shield_begin(), 0);
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
    CHECK(strcmp(corio_strerror(-ECANCELED), "cancelled") == 0);
    CHECK(strcmp(corio_strerror(-ETIMEDOUT), "timed out (a deadline passed)") ==
          0);
    CHECK(strcmp(corio_strerror(-ENOENT), strerror(ENOENT)) == 0);
    CHECK(strstr(corio_strerror(CORIO_EABANDONED), "abandoned") != NULL);
    CHECK(strcmp(corio_strerror(0), "success") == 0);
    CHECK(strcmp(corio_strerror(CORIO_ERRBASE - 999), "unknown corio error") ==
          0);
}

TEST(run, err_name)
{
    CHECK(strcmp(corio_err_name(CORIO_ETLS), "CORIO_ETLS") == 0);
    CHECK(strcmp(corio_err_name(CORIO_ESHUTDOWN), "CORIO_ESHUTDOWN") == 0);
    CHECK(strcmp(corio_err_name(CORIO_EABANDONED), "CORIO_EABANDONED") == 0);
    CHECK(strcmp(corio_err_name(CORIO_EHTTPSTATUS), "CORIO_EHTTPSTATUS") == 0);
    CHECK(strcmp(corio_err_name(-ETIMEDOUT), "ETIMEDOUT") == 0);
    CHECK(strcmp(corio_err_name(-ECANCELED), "ECANCELED") == 0);
    CHECK(strcmp(corio_err_name(0), "0") == 0);
    CHECK(strcmp(corio_err_name(CORIO_ERRBASE - 999), "CORIO_E?") == 0);
    CHECK(strcmp(corio_err_name(-9999), "E?") == 0);
    /* Every code of the table has a distinct name and a message. */
#define ONE(name, off, msg)                                                    \
    CHECK(strcmp(corio_err_name(CORIO_##name), "CORIO_" #name) == 0);          \
    CHECK(strcmp(corio_strerror(CORIO_##name), msg) == 0);
    CORIO_ERRNO_MAP(ONE)
#undef ONE
}

/* ---- regressions found in code review ---------------------------------- */

/* corio_strerror must name every corio code (base.h, STYLE.md);
 * CORIO_ESHUTDOWN comes out as "unknown corio error". */

TEST(run, strerror_names_eshutdown)
{
    CHECK(strcmp(corio_strerror(CORIO_ESHUTDOWN), "unknown corio error") != 0);
}

TEST(run, strerror_names_eabandoned)
{
    CHECK(strcmp(corio_strerror(CORIO_EABANDONED), "unknown corio error") != 0);
}

/* An abandoned run (deadlock, last resort) frees the stacks of the
 * tasks it gives up on but leaves their waiters linked in the caller's
 * primitives: a static event keeps a waiter that lives in unmapped memory,
 * so destroy says -EBUSY forever and set would walk freed memory. */

static corio_event abandon_ev;

static int abandon_main(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_shield_begin(),
             0); /* so that no cancellation can end the wait */
    int rc = corio_event_wait(&abandon_ev);
    corio_shield_end();
    return rc;
}

TEST(run, abandoned_run_unlinks_its_waiters)
{
    CHECK_EQ(corio_event_init(&abandon_ev), 0);
    fflush(stderr);
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2); /* the deadlock reports are expected */
    int rc = tst_run(abandon_main, NULL);
    dup2(saved, 2);
    CHECK_EQ(rc, CORIO_EABANDONED);
    corio_event_destroy(&abandon_ev);
}
