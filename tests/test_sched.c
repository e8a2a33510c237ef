/* test_sched.c — scheduling order: FIFO, spawn-runs-later, exact
 * alternation of yielders, sleep(<= 0) yields. */
#include "tst.h"

#include <string.h>
#include <unistd.h>

static char trace[256];
static int ntrace;

static void mark(char c)
{
    trace[ntrace++] = c;
    trace[ntrace] = 0;
}

static int yielder(void *arg)
{
    char c = *(char *)arg;
    for (int i = 0; i < 4; i++) {
        mark(c);
        CHECK_EQ(corio_yield(), 0);
    }
    return 0;
}

static int alternation(void *arg)
{
    (void)arg;
    corio_task *t[3];
    static char a = 'a', b = 'b', c = 'c';
    CHECK_EQ(corio_task_spawn(&t[0], yielder, &a), 0);
    CHECK_EQ(corio_task_spawn(&t[1], yielder, &b), 0);
    CHECK_EQ(corio_task_spawn(&t[2], yielder, &c), 0);
    mark('M'); /* spawned tasks have not run yet */
    CHECK_EQ(ntrace, 1);
    CHECK_EQ(corio_gather(t, 3, NULL), 0);
    return 0;
}

TEST(sched, fifo_and_exact_alternation)
{
    CHECK_EQ(tst_run(alternation, NULL), 0);
    CHECK(strcmp(trace, "Mabcabcabcabc") == 0);
}

static int zero_sleeper(void *arg)
{
    char c = *(char *)arg;
    for (int i = 0; i < 3; i++) {
        mark(c);
        CHECK_EQ(corio_sleep(c == 'x' ? 0 : -5), 0);
    }
    return 0;
}

static int sleep_zero_yields(void *arg)
{
    (void)arg;
    corio_task *t[2];
    static char x = 'x', y = 'y';
    CHECK_EQ(corio_task_spawn(&t[0], zero_sleeper, &x), 0);
    CHECK_EQ(corio_task_spawn(&t[1], zero_sleeper, &y), 0);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_gather(t, 2, NULL), 0);
    CHECK_EQ(corio_now() - t0, 0);
    return 0;
}

TEST(sched, sleep_nonpositive_yields)
{
    CHECK_EQ(tst_run(sleep_zero_yields, NULL), 0);
    CHECK(strcmp(trace, "xyxyxy") == 0);
}

static int child_marks(void *arg)
{
    mark(*(char *)arg);
    return 0;
}

static int spawner(void *arg)
{
    (void)arg;
    static char cs[5] = "12345";
    for (int i = 0; i < 5; i++)
        CHECK_EQ(corio_task_spawn(NULL, child_marks, &cs[i]), 0);
    mark('s');
    CHECK_EQ(corio_yield(), 0);
    mark('e');
    return 0;
}

TEST(sched, spawned_tasks_start_when_spawner_suspends)
{
    CHECK_EQ(tst_run(spawner, NULL), 0);
    CHECK(strcmp(trace, "s12345e") == 0);
}

static int timer_order(void *arg)
{
    char c = *(char *)arg;
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    mark(c);
    return 0;
}

static int equal_deadlines(void *arg)
{
    (void)arg;
    static char cs[4] = "pqrs";
    corio_task *t[4];
    for (int i = 0; i < 4; i++)
        CHECK_EQ(corio_task_spawn(&t[i], timer_order, &cs[i]), 0);
    CHECK_EQ(corio_gather(t, 4, NULL), 0);
    return 0;
}

TEST(sched, equal_deadlines_wake_in_arming_order)
{
    CHECK_EQ(tst_run(equal_deadlines, NULL), 0);
    CHECK(strcmp(trace, "pqrs") == 0);
}

static volatile int timer_fired;

static int short_sleeper(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    timer_fired = 1;
    return 0;
}

static int busy_yielder(void *arg)
{
    (void)arg;
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, short_sleeper, NULL), 0);
    long i;
    for (i = 0; i < 100000000L && !timer_fired; i++)
        CHECK_EQ(corio_yield(), 0);
    CHECK(timer_fired);
    return corio_task_join(t, NULL);
}

TEST(sched, yielding_task_cannot_starve_timers)
{
    /* Real clock: time passes while main keeps yielding. */
    CHECK_EQ(tst_run_ex(NULL, busy_yielder, NULL), 0);
}

static int pipefd[2];
static volatile int got;

static int pipe_reader(void *arg)
{
    (void)arg;
    char c;
    CHECK_EQ(corio_fd_read(pipefd[0], &c, 1), 1);
    got = 1;
    return 0;
}

static int pipe_yielder(void *arg)
{
    (void)arg;
    char c = 'x';
    CHECK_EQ(write(pipefd[1], &c, 1), 1);
    for (long i = 0; i < 1000000L && !got; i++)
        CHECK_EQ(corio_yield(), 0);
    CHECK(got); /* read while the two kept yielding */
    return 0;
}

/* Two tasks yielding to each other end a pass at every second switch and
 * start the next one inline when nothing needs polling; a task parked on
 * an fd must still be polled for at those pass ends. */
static int yielders_and_reader(void *arg)
{
    (void)arg;
    corio_task *t[3];
    CHECK_EQ(pipe(pipefd), 0);
    CHECK_EQ(corio_task_spawn(&t[0], pipe_reader, NULL), 0);
    CHECK_EQ(corio_task_spawn(&t[1], pipe_yielder, NULL), 0);
    CHECK_EQ(corio_task_spawn(&t[2], pipe_yielder, NULL), 0);
    CHECK_EQ(corio_gather(t, 3, NULL), 0);
    CHECK(got);
    corio_fd_close(pipefd[0]);
    corio_fd_close(pipefd[1]);
    return 0;
}

TEST(sched, yielding_tasks_cannot_starve_fd_waiters)
{
    CHECK_EQ(tst_run(yielders_and_reader, NULL), 0);
}
