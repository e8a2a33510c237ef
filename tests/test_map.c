/* test_map.c — corio_map: results in item order, the concurrency limit,
 * gather's return rule, interruption (the calls under way cancelled and
 * awaited, the rest never run), spawn failures (nothing runs, nothing
 * leaks: a fault sweep) and task-locals seen by fn. */
#include "tst.h"
#include "os/sys.h"

typedef struct item {
    int64_t delay;
    int ret;
} item;

static int running, most, calls, cleaned;

static int work(void *p)
{
    item *it = p;
    calls++;
    if (++running > most)
        most = running;
    int rc = corio_sleep(it->delay);
    running--;
    if (rc < 0) {
        cleaned++;
        return rc;
    }
    return it->ret;
}

static void reset(void)
{
    running = most = calls = cleaned = 0;
}

static int limit_and_order(void *arg)
{
    (void)arg;
    item its[10];
    int res[10];
    for (int i = 0; i < 10; i++)
        its[i] = (item){CORIO_SECOND, i * 10};
    reset();
    int64_t t0 = corio_now();
    CHECK_EQ(corio_map(work, its, 10, sizeof(item), 3, res), 0);
    CHECK_EQ(corio_now() - t0, 4 * CORIO_SECOND); /* ceil(10 / 3) rounds */
    CHECK_EQ(most, 3);
    CHECK_EQ(calls, 10);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(res[i], i * 10);
    /* limit 0 and limit > n: all at once. */
    reset();
    t0 = corio_now();
    CHECK_EQ(corio_map(work, its, 10, sizeof(item), 0, res), 0);
    CHECK_EQ(corio_now() - t0, CORIO_SECOND);
    CHECK_EQ(most, 10);
    reset();
    CHECK_EQ(corio_map(work, its, 10, sizeof(item), 50, NULL), 0);
    CHECK_EQ(most, 10);
    /* More than the inline worker array. */
    static item many[100];
    static int mres[100];
    for (int i = 0; i < 100; i++)
        many[i] = (item){(i % 7) * CORIO_MS, i};
    reset();
    CHECK_EQ(corio_map(work, many, 100, sizeof(item), 40, mres), 0);
    CHECK_EQ(most, 40);
    for (int i = 0; i < 100; i++)
        CHECK_EQ(mres[i], i);
    CHECK_EQ(corio_map(work, NULL, 0, sizeof(item), 1, NULL), 0);
    CHECK_EQ(corio_map(NULL, its, 1, sizeof(item), 1, NULL), -EINVAL);
    CHECK_EQ(corio_map(work, NULL, 1, sizeof(item), 1, NULL), -EINVAL);
    return 0;
}

TEST(map, limit_respected_results_in_item_order)
{
    CHECK_EQ(tst_run(limit_and_order, NULL), 0);
    CHECK_EQ(corio_map(work, NULL, 0, 1, 1, NULL), -EPERM);
}

static int first_error(void *arg)
{
    (void)arg;
    item its[6] = {{3, 0},       {1, 0}, {2, -EIO},
                   {1, -ENOENT}, {1, 5}, {0, -EPIPE}};
    int res[6];
    for (int i = 0; i < 6; i++)
        its[i].delay *= CORIO_SECOND;
    reset();
    CHECK_EQ(corio_map(work, its, 6, sizeof(item), 2, res), -EIO);
    CHECK_EQ(calls, 6); /* a failure stops nothing */
    CHECK_EQ(res[0], 0);
    CHECK_EQ(res[2], -EIO);
    CHECK_EQ(res[3], -ENOENT);
    CHECK_EQ(res[4], 5);
    CHECK_EQ(res[5], -EPIPE);
    reset();
    CHECK_EQ(corio_map(work, its, 6, sizeof(item), 0, NULL), -EIO);
    return 0;
}

TEST(map, first_negative_by_index_like_gather)
{
    CHECK_EQ(tst_run(first_error, NULL), 0);
}

/* Interrupted at each point: before any item finished, between rounds,
 * in the tick a round ends, and by a cancel instead of a deadline. */
typedef struct interrupt_case {
    int64_t at; /* the deadline, from the start */
    int done, calls, cleaned;
} interrupt_case;

static int interrupted(void *arg)
{
    interrupt_case *ic = arg;
    item its[7];
    int res[7];
    for (int i = 0; i < 7; i++)
        its[i] = (item){CORIO_SECOND, i};
    reset();
    CHECK_EQ(corio_timeout_begin_at(corio_now() + ic->at), 0);
    int rc = corio_map(work, its, 7, sizeof(item), 2, res);
    CORIO_IGNORE(corio_timeout_end());
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK_EQ(running, 0); /* nothing outlives the call */
    CHECK_EQ(calls, ic->calls);
    CHECK_EQ(cleaned, ic->cleaned);
    for (int i = 0; i < 7; i++)
        CHECK_EQ(res[i], i < ic->done ? i : -ECANCELED);
    return 0;
}

/* Items take 1 s, two at a time.  A deadline inside a round cancels the
 * round's two calls (awaited: cleaned); one in the very tick a round ends
 * lets that round's calls finish (their sleeps were already served), and
 * no further item starts. */
TEST(map, interrupted_cancels_and_awaits_the_rest_never_run)
{
    interrupt_case cases[] = {
        {CORIO_MS, 0, 2, 2},
        {CORIO_SECOND, 2, 2, 0},
        {CORIO_SECOND + CORIO_MS, 2, 4, 2},
        {2 * CORIO_SECOND, 4, 4, 0},
        {2 * CORIO_SECOND + 1, 4, 6, 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        CHECK_EQ(tst_run(interrupted, &cases[k]), 0);
}

static int cancel_later(void *arg)
{
    CHECK_EQ(corio_sleep(1500 * CORIO_MS), 0);
    corio_task_cancel(arg);
    return 0;
}

static int cancelled(void *arg)
{
    (void)arg;
    item its[5];
    int res[5];
    corio_task *c;
    for (int i = 0; i < 5; i++)
        its[i] = (item){CORIO_SECOND, i};
    reset();
    CHECK_EQ(corio_task_spawn(&c, cancel_later, corio_task_current()), 0);
    CHECK_EQ(corio_map(work, its, 5, sizeof(item), 2, res), -ECANCELED);
    CHECK_EQ(running, 0);
    CHECK_EQ(res[0], 0);
    CHECK_EQ(res[1], 1);
    CHECK_EQ(res[2], -ECANCELED);
    CHECK_EQ(res[3], -ECANCELED);
    CHECK_EQ(res[4], -ECANCELED);
    CHECK_EQ(calls, 4);
    CHECK_EQ(corio_task_join(c, NULL), 0);
    return 0;
}

TEST(map, cancelled_caller)
{
    CHECK_EQ(tst_run(cancelled, NULL), 0);
}

/* Fail every system call / allocation of a map of 64 items, limit 40
 * (more workers than the first stack region holds), in turn: either it
 * all worked, or -ENOMEM and fn ran on no item. */
static int under_fault(void *arg)
{
    int *rcs = arg;
    static item its[64];
    static int res[64];
    for (int i = 0; i < 64; i++) {
        its[i] = (item){CORIO_MS, i};
        res[i] = 7777;
    }
    reset();
    int rc = corio_map(work, its, 64, sizeof(item), 40, res);
    *rcs = rc;
    if (rc == 0) {
        CHECK_EQ(calls, 64);
        for (int i = 0; i < 64; i++)
            CHECK_EQ(res[i], i);
    } else {
        CHECK_EQ(rc, -ENOMEM);
        CHECK_EQ(calls, 0);
        for (int i = 0; i < 64; i++)
            CHECK_EQ(res[i], 7777);
    }
    return 0;
}

TEST_T(map, spawn_failure_runs_nothing_leaks_nothing, 120)
{
    corio_options o = {.virtual_clock = 1};
    int rc = 0, failed = 0;
    for (long n = 1; n < 400; n++) {
        corio__fault_arm(n, ENOMEM);
        int r = tst_run_ex(&o, under_fault, &rc);
        int fired = corio__fault_fired();
        corio__fault_disarm();
        if (r < 0) /* the loop itself could not start */
            continue;
        CHECK_EQ(r, 0);
        failed += rc == -ENOMEM;
        if (!fired)
            break;
    }
    CHECK(failed > 0);
}

static corio_local tag = CORIO_LOCAL_INIT("tag", NULL);
static int marker;

static int see_tag(void *p)
{
    (void)p;
    return corio_local_get(&tag) == &marker ? 0 : -EINVAL;
}

static int locals_seen(void *arg)
{
    (void)arg;
    int items[8] = {0};
    CHECK_EQ(corio_map(see_tag, items, 8, sizeof(int), 3, NULL), -EINVAL);
    CHECK_EQ(corio_local_set(&tag, &marker), 0);
    CHECK_EQ(corio_map(see_tag, items, 8, sizeof(int), 3, NULL), 0);
    return 0;
}

TEST(map, fn_sees_the_callers_task_locals)
{
    CHECK_EQ(tst_run(locals_seen, NULL), 0);
}
