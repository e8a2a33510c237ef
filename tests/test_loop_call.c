/* test_loop_call.c — corio_loop_call between loops, and corio_chan between
 * tasks of different loops: ping-pong both ways at once (and to the own
 * loop); a call cancelled at each point — before it is sent, while the
 * call is queued on a loop that is busy (the remote task is cancelled
 * before it ever runs), while the remote task waits, and at a sweep of
 * points around its completion — always leaves the remote task finished
 * and awaited, ran at most once, reported once, nothing leaked; a deadline
 * crossing loops; a loop that is shutting down refuses calls, and so does
 * a plain corio_run loop that ends with the call still queued; a channel's
 * items are conserved between loops while getters and putters are
 * interrupted at random; polling off, short and by default; a post to an
 * awake loop writes no wake-up; calls in flight at once each get their own
 * result; answers reach a caller whose loop never blocks.
 *
 * Loops are real threads on the virtual clock (2 and 4 loops on a 2-core
 * machine). */
#include "tst.h"
#include "os/sys.h" /* counting the eventfd writes */

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

static corio_loops_opts vopts = {.loop = {.virtual_clock = 1}};

/* ---- ping-pong ------------------------------------------------------------
 */

static atomic_int wrong_loop;

static int add_one(void *arg)
{
    int *v = arg;
    if (corio_task_current() == NULL)
        atomic_fetch_add(&wrong_loop, 1);
    return *v + 1;
}

#define ROUNDS 2000

static int pingpong_main(void *arg)
{
    (void)arg;
    size_t n = corio_loop_count(), me = corio_loop_index();
    corio_loop *peer = corio_loop_at((me + 1) % n);
    int v = 0;
    for (int i = 0; i < ROUNDS; i++) {
        int result = -1;
        CHECK_EQ(corio_loop_call(i % 10 ? peer : corio_loop_current(), add_one,
                                 &v, &result),
                 0);
        CHECK_EQ(result, v + 1);
        v = result;
    }
    CHECK_EQ(v, ROUNDS);
    return 0;
}

TEST(loop_call, ping_pong_both_ways_at_once)
{
    for (size_t n = 2; n <= 4; n += 2) {
        int result = -1;
        CHECK_EQ(corio_run_loops(n, &vopts, pingpong_main, NULL, &result), 0);
        CHECK_EQ(result, 0);
    }
    CHECK_EQ(atomic_load(&wrong_loop), 0);
    tst_leak_check();
}

/* Calls in flight at once, from both loops and to both (the own loop
 * included): each record carries its own fn and arg out and its own result
 * back, through the node that went out and back (core/call.c), and a
 * negative result of fn comes back as a result, not as the call's
 * status. */
#define CONCURRENT 8

static int yield_then_return(void *arg)
{
    intptr_t v = (intptr_t)arg;
    for (intptr_t i = 0; i < (v & 3); i++)
        if (corio_yield() < 0)
            return -ECANCELED;
    return (int)v;
}

static int concurrent_caller(void *arg)
{
    intptr_t k = (intptr_t)arg;
    size_t me = corio_loop_index();
    for (intptr_t i = 0; i < 200; i++) {
        intptr_t v = (intptr_t)(me * 100000 + (size_t)k * 1000) + i;
        if (i % 2)
            v = -v;
        int result = 0;
        corio_loop *to = corio_loop_at((me + (size_t)(k + i)) % 2);
        CHECK_EQ(corio_loop_call(to, yield_then_return, (void *)v, &result), 0);
        CHECK_EQ(result, (int)v);
    }
    return 0;
}

static int concurrent_main(void *arg)
{
    (void)arg;
    corio_task *t[CONCURRENT];
    for (intptr_t k = 0; k < CONCURRENT; k++)
        CHECK_EQ(corio_task_spawn(&t[k], concurrent_caller, (void *)k), 0);
    for (int k = 0; k < CONCURRENT; k++) {
        int result = -1;
        CHECK_EQ(corio_task_join(t[k], &result), 0);
        CHECK_EQ(result, 0);
    }
    return 0;
}

TEST(loop_call, concurrent_calls_each_get_their_own_result)
{
    int result = -1;
    CHECK_EQ(corio_run_loops(2, &vopts, concurrent_main, NULL, &result), 0);
    CHECK_EQ(result, 0);
    tst_leak_check();
}

/* A call answered in its record (core/call.c) while the caller's loop never
 * blocks: a task there yields all the time, so the loop's passes restart
 * without blocking, and the answer must still be collected between them. */
#define YIELD_CAP 50000000L

static atomic_bool calls_over;

static int yielder(void *arg)
{
    long *n = arg;
    while (!atomic_load(&calls_over) && *n < YIELD_CAP) {
        CHECK_EQ(corio_yield(), 0);
        ++*n;
    }
    return 0;
}

static int busy_caller_main(void *arg)
{
    (void)arg;
    if (corio_loop_index() != 0)
        return 0;
    long yields = 0;
    corio_task *y;
    CHECK_EQ(corio_task_spawn(&y, yielder, &yields), 0);
    int v = 0;
    for (int i = 0; i < 100 && yields < YIELD_CAP; i++) {
        int result = -1;
        CHECK_EQ(corio_loop_call(corio_loop_at(1), add_one, &v, &result), 0);
        v = result;
    }
    atomic_store(&calls_over, true);
    CHECK_EQ(corio_task_join(y, NULL), 0);
    CHECK(yields < YIELD_CAP); /* else the answers were never collected */
    CHECK_EQ(v, 100);
    return 0;
}

TEST(loop_call, answers_reach_a_caller_whose_loop_never_blocks)
{
    int result = -1;
    CHECK_EQ(corio_run_loops(2, &vopts, busy_caller_main, NULL, &result), 0);
    CHECK_EQ(result, 0);
}

/* Polling off (every call sleeps and is woken through the eventfd), a
 * poll too short to catch anything, and the default: the same answers. */
TEST(loop_call, ping_pong_with_polling_off_short_and_default)
{
    int64_t polls[] = {-1, 1, 0};
    for (size_t p = 0; p < 3; p++) {
        for (size_t n = 2; n <= 4; n += 2) {
            corio_loops_opts o = vopts;
            o.poll_ns = polls[p];
            int result = -1;
            CHECK_EQ(corio_run_loops(n, &o, pingpong_main, NULL, &result), 0);
            CHECK_EQ(result, 0);
        }
    }
    CHECK_EQ(atomic_load(&wrong_loop), 0);
}

/* A loop that is running needs no wake-up: posting to it writes nothing
 * to its eventfd (core/post.c), and the posts still all run. */
static ssize_t (*real_write)(int, const void *, size_t);
static atomic_int writes;

static ssize_t count_write(int fd, const void *buf, size_t n)
{
    atomic_fetch_add(&writes, 1);
    return real_write(fd, buf, n);
}

static void bump(void *arg)
{
    ++*(int *)arg;
}

static int posts_to_itself(void *arg)
{
    (void)arg;
    int ran = 0;
    atomic_store(&writes, 0);
    for (int i = 0; i < 100; i++)
        CHECK_EQ(corio_loop_post(corio_loop_current(), bump, &ran), 0);
    CHECK_EQ(atomic_load(&writes), 0);
    CHECK_EQ(corio_yield(), 0); /* the pass's end runs them */
    CHECK_EQ(ran, 100);
    return 0;
}

TEST(loop_call, a_post_to_an_awake_loop_writes_no_wake_up)
{
    real_write = corio__sys.write;
    corio__sys.write = count_write;
    int result = -1;
    CHECK_EQ(corio_run_loops(1, &vopts, posts_to_itself, NULL, &result), 0);
    corio__sys.write = real_write;
    CHECK_EQ(result, 0);
}

static int misuse_main(void *arg)
{
    (void)arg;
    int result = 5;
    CHECK_EQ(corio_loop_call(NULL, add_one, &result, &result), -EINVAL);
    CHECK_EQ(corio_loop_call(corio_loop_current(), NULL, NULL, &result),
             -EINVAL);
    return 0;
}

static void outside(void *arg)
{
    int *rc = arg;
    *rc = corio_loop_call(corio_loop_current(), add_one, rc, NULL);
}

TEST(loop_call, refuses_misuse)
{
    CHECK_EQ(tst_run(misuse_main, NULL), 0);
    int rc = 0;
    outside(&rc);
    CHECK_EQ(rc, -EPERM);
}

/* ---- cancellation at every point ------------------------------------------
 */

typedef struct remote {
    atomic_int started, finished, active;
    atomic_int wait_rc;
    corio_event *go; /* on the remote loop: set to let fn finish */
    int yields;      /* fn yields this many times, then returns 7 */
} remote;

static remote R;

static void remote_reset(int yields)
{
    memset(&R, 0, sizeof R);
    R.yields = yields;
}

/* Yields R.yields times then returns 7; an interruption returns it. */
static int yielding(void *arg)
{
    (void)arg;
    atomic_fetch_add(&R.started, 1);
    atomic_fetch_add(&R.active, 1);
    int rc = 7;
    for (int i = 0; i < R.yields && rc == 7; i++)
        if (corio_yield() < 0)
            rc = -ECANCELED;
    atomic_fetch_sub(&R.active, 1);
    atomic_fetch_add(&R.finished, 1);
    return rc;
}

/* Checks the call's promises after it returned rc with result. */
static void check_call(int rc, int result)
{
    CHECK_EQ(atomic_load(&R.active), 0); /* fn never runs after return */
    CHECK(atomic_load(&R.started) <= 1);
    CHECK_EQ(atomic_load(&R.finished), atomic_load(&R.started));
    if (rc == 0) {
        CHECK_EQ(result, 7);
        CHECK_EQ(atomic_load(&R.started), 1);
    } else {
        CHECK_EQ(rc, -ECANCELED);
        if (atomic_load(&R.started))
            CHECK(result == 7 || result == -ECANCELED);
        else
            CHECK_EQ(result, -ECANCELED);
    }
}

typedef struct caller_arg {
    int rc, result;
} caller_arg;

static atomic_int t_done; /* the caller task has returned */

static int caller(void *arg)
{
    caller_arg *c = arg;
    c->result = 12345;
    c->rc = corio_loop_call(corio_loop_at(1), yielding, NULL, &c->result);
    atomic_store(&t_done, 1);
    return 0;
}

static int cancelled_caller(void *arg)
{
    corio_task_cancel(corio_task_current());
    return caller(arg);
}

/* Loop 0 runs the sweep; loop 1 only serves. */
static int sweep_main(void *arg)
{
    (void)arg;
    if (corio_loop_index() != 0)
        return 0;
    /* Cancelled before the call is sent: nothing runs remotely. */
    remote_reset(0);
    caller_arg c0;
    corio_task *t0;
    CHECK_EQ(corio_task_spawn(&t0, cancelled_caller, &c0), 0);
    CHECK_EQ(corio_task_join(t0, NULL), 0);
    CHECK_EQ(c0.rc, -ECANCELED);
    CHECK_EQ(c0.result, -ECANCELED);
    CHECK_EQ(atomic_load(&R.started), 0);

    /* Cancelled after k of the caller loop's yields, against a remote
     * task of y yields: before it starts, while it runs, as it ends,
     * after it ended. */
    uint64_t seed = 42;
    int outcomes[2] = {0, 0};
    for (int round = 0; round < 400; round++) {
        int y = (int)(tst_rand(&seed) % 6), k = (int)(tst_rand(&seed) % 12);
        remote_reset(y);
        atomic_store(&t_done, 0);
        caller_arg c = {-ECANCELED, -ECANCELED}; /* if it never runs */
        corio_task *t;
        CHECK_EQ(corio_task_spawn(&t, caller, &c), 0);
        if (round % 2) /* around the remote task's end */
            while (!atomic_load(&R.finished) && !atomic_load(&t_done))
                CHECK_EQ(corio_yield(), 0);
        for (int i = 0; i < k; i++)
            CHECK_EQ(corio_yield(), 0);
        corio_task_cancel(t);
        CHECK_EQ(corio_task_join(t, NULL), 0);
        check_call(c.rc, c.result);
        outcomes[c.rc == 0]++;
    }
    CHECK(outcomes[0] > 0); /* some calls were interrupted */
    CHECK(outcomes[1] > 0); /* some completed */
    return 0;
}

TEST_T(loop_call, cancelled_at_every_point, 120)
{
    int result = -1;
    CHECK_EQ(corio_run_loops(2, &vopts, sweep_main, NULL, &result), 0);
    CHECK_EQ(result, 0);
    tst_leak_check();
}

/* The call queued on a loop whose thread is busy: the cancellation
 * reaches the remote task before it ever runs. */
static atomic_int hold_loop1, loop1_holding;

static int queued_main(void *arg)
{
    (void)arg;
    if (corio_loop_index() == 1) {
        atomic_store(&loop1_holding, 1);
        while (atomic_load(&hold_loop1)) /* blocks the whole loop thread */
            tst_nap_ms(1);
        return 0;
    }
    while (!atomic_load(&loop1_holding))
        tst_nap_ms(1);
    remote_reset(0);
    caller_arg c;
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, caller, &c), 0);
    CHECK_EQ(corio_yield(), 0); /* the call is sent, loop 1 cannot run it */
    corio_task_cancel(t);
    atomic_store(&hold_loop1, 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(c.rc, -ECANCELED);
    CHECK_EQ(c.result, -ECANCELED);
    CHECK_EQ(atomic_load(&R.started), 0); /* cancelled before it ran */
    return 0;
}

TEST(loop_call, cancelled_while_queued_on_a_busy_loop)
{
    atomic_store(&hold_loop1, 1);
    atomic_store(&loop1_holding, 0);
    CHECK_EQ(corio_run_loops(2, &vopts, queued_main, NULL, NULL), 0);
    tst_leak_check();
}

/* While the remote task waits on its own loop (an event nobody sets),
 * the caller's cancellation or deadline reaches that wait. */
static int waits_forever(void *arg)
{
    (void)arg;
    corio_event never;
    corio_event_init(&never);
    atomic_fetch_add(&R.started, 1);
    atomic_fetch_add(&R.active, 1);
    int rc = corio_event_wait(&never);
    atomic_store(&R.wait_rc, rc);
    corio_event_destroy(&never);
    atomic_fetch_sub(&R.active, 1);
    atomic_fetch_add(&R.finished, 1);
    return rc;
}

static int caller_waiting(void *arg)
{
    caller_arg *c = arg;
    c->rc = corio_loop_call(corio_loop_at(1), waits_forever, NULL, &c->result);
    return 0;
}

static int caller_with_deadline(void *arg)
{
    caller_arg *c = arg;
    CHECK_EQ(corio_timeout_begin(50 * CORIO_MS), 0);
    c->rc = corio_loop_call(corio_loop_at(1), waits_forever, NULL, &c->result);
    corio_timeout_end();
    return 0;
}

static int deadline_main(void *arg)
{
    (void)arg;
    if (corio_loop_index() != 0)
        return 0;
    remote_reset(0);
    int64_t t0 = corio_now();
    caller_arg d = {0, 0};
    corio_task *timed;
    CHECK_EQ(corio_task_spawn(&timed, caller_with_deadline, &d), 0);
    /* Virtual time stands still while this task keeps yielding: the
     * deadline cannot pass before the remote task waits. */
    while (!atomic_load(&R.started))
        CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_task_join(timed, NULL), 0);
    CHECK_EQ(d.rc, -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 50 * CORIO_MS); /* the caller's clock */
    CHECK_EQ(d.result, -ECANCELED);
    CHECK_EQ(atomic_load(&R.wait_rc), -ECANCELED);
    CHECK_EQ(atomic_load(&R.active), 0);
    CHECK_EQ(atomic_load(&R.finished), 1);

    /* And an explicit cancellation from a sibling task. */
    remote_reset(0);
    caller_arg c;
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, caller_waiting, &c), 0);
    while (!atomic_load(&R.started))
        CHECK_EQ(corio_sleep(CORIO_MS), 0);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(c.rc, -ECANCELED);
    CHECK_EQ(atomic_load(&R.active), 0);
    CHECK_EQ(atomic_load(&R.wait_rc), -ECANCELED);
    return 0;
}

TEST(loop_call, a_deadline_crosses_loops)
{
    CHECK_EQ(corio_run_loops(2, &vopts, deadline_main, NULL, NULL), 0);
    tst_leak_check();
}

/* ---- a loop shutting down refuses calls ---------------------------------- */

static atomic_int late_rc;

static int late_call(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_shield_begin(), 0);
    /* Loop 1's main has returned and every main is done: loop 1 is
     * stopping or gone. */
    int result = 0;
    int rc;
    int64_t t0 = tst_real_ns();
    while ((rc = corio_loop_call(corio_loop_at(1), add_one, &result,
                                 &result)) == 0)
        CHECK(tst_real_ns() - t0 < 5 * CORIO_SECOND);
    atomic_store(&late_rc, rc);
    corio_shield_end();
    return 0;
}

static int shutdown_main(void *arg)
{
    (void)arg;
    if (corio_loop_index() == 0)
        CHECK_EQ(corio_task_spawn(NULL, late_call, NULL), 0);
    return 0;
}

TEST(loop_call, a_loop_shutting_down_refuses_calls)
{
    CHECK_EQ(corio_run_loops(2, &vopts, shutdown_main, NULL, NULL), 0);
    CHECK_EQ(atomic_load(&late_rc), -ESHUTDOWN);
}

/* ---- a channel between loops, conserved under cancellation --------------- */

#define ITEMS 1000 /* tst_slow_env: a quarter */
#define WORKERS 4

static struct {
    corio_chan *c;
    atomic_int next; /* next item to put */
    atomic_int put_ok[ITEMS];
    atomic_int got[ITEMS];
    atomic_int interrupted;
    int items;
} ch;

/* One operation in four gets 0 to 2 ms on the loop's virtual clock: an
 * expiry at a random wait; the others wait as long as it takes. */
static int64_t timeout(uint64_t *seed)
{
    uint64_t r = tst_rand(seed) % 12;
    return r < 3 ? (int64_t)r * CORIO_MS : CORIO_NEVER;
}

static int putter(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    for (;;) {
        int i = atomic_fetch_add(&ch.next, 1);
        if (i >= ch.items)
            return 0;
        /* Retry the same item until it goes in: a put that failed must
         * not have queued it. */
        for (;;) {
            CHECK_EQ(corio_timeout_begin(timeout(&seed)), 0);
            int rc = corio_chan_put(ch.c, (void *)(uintptr_t)(i + 1));
            corio_timeout_end();
            if (rc == 0) {
                atomic_store(&ch.put_ok[i], 1);
                break;
            }
            CHECK_EQ(rc, -ETIMEDOUT);
            atomic_fetch_add(&ch.interrupted, 1);
        }
    }
}

static int getter(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    for (;;) {
        void *item = NULL;
        CHECK_EQ(corio_timeout_begin(timeout(&seed)), 0);
        int rc = corio_chan_get(ch.c, &item);
        corio_timeout_end();
        if (rc == CORIO_ESHUTDOWN)
            return 0;
        if (rc == -ETIMEDOUT) {
            CHECK(item == NULL);
            atomic_fetch_add(&ch.interrupted, 1);
            continue;
        }
        CHECK_EQ(rc, 0);
        atomic_fetch_add(&ch.got[(uintptr_t)item - 1], 1);
    }
}

static atomic_int putters_left;

static int chan_main(void *arg)
{
    (void)arg;
    /* Even loops put, odd loops get: every item crosses loops. */
    bool put = corio_loop_index() % 2 == 0;
    corio_task *t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        CHECK_EQ(corio_task_spawn(
                     &t[i], put ? putter : getter,
                     (void *)(uintptr_t)(corio_loop_index() * WORKERS + i + 1)),
                 0);
    for (int i = 0; i < WORKERS; i++)
        CHECK_EQ(corio_task_join(t[i], NULL), 0);
    if (put && atomic_fetch_sub(&putters_left, 1) == 1)
        corio_chan_shutdown(ch.c); /* the getters drain, then stop */
    return 0;
}

TEST_T(loop_call, channel_conserves_items_across_loops_under_cancellation, 120)
{
    for (size_t n = 2; n <= 4; n += 2) {
        memset(&ch, 0, sizeof ch);
        ch.items = tst_slow_env() ? ITEMS / 4 : ITEMS;
        CHECK_EQ(corio_chan_new(&ch.c, 3), 0);
        atomic_store(&putters_left, (int)n / 2);
        int result = -1;
        CHECK_EQ(corio_run_loops(n, &vopts, chan_main, NULL, &result), 0);
        CHECK_EQ(result, 0);
        void *item;
        CHECK_EQ(corio_chan_try_get(ch.c, &item), CORIO_ESHUTDOWN);
        for (int i = 0; i < ch.items; i++) {
            CHECK_EQ(atomic_load(&ch.put_ok[i]), 1);
            CHECK_EQ(atomic_load(&ch.got[i]), 1);
        }
        CHECK(atomic_load(&ch.interrupted) > 0);
        corio_chan_free(ch.c);
    }
    tst_leak_check();
}

/* ---- a plain corio_run loop ending with the call still queued ----------- */

static _Atomic(corio_loop *) plain_b;
static atomic_int call_sent;

static int b_main(void *arg)
{
    (void)arg;
    atomic_store(&plain_b, corio_loop_current());
    /* Returns without ever suspending once the call is queued: the loop
     * ends without running it and drops it. */
    for (int i = 0; i < 5000 && !atomic_load(&call_sent); i++)
        tst_nap_ms(1);
    CHECK(atomic_load(&call_sent));
    return 0;
}

static void *b_thread(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_run(b_main, NULL, NULL), 0);
    return NULL;
}

static int a_caller(void *arg)
{
    caller_arg *c = arg;
    c->rc =
        corio_loop_call(atomic_load(&plain_b), add_one, &c->result, &c->result);
    return 0;
}

static int a_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&plain_b))
        tst_nap_ms(1);
    caller_arg c = {1, 5};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, a_caller, &c), 0);
    CHECK_EQ(corio_yield(), 0); /* the call is queued on b, t waits */
    atomic_store(&call_sent, 1);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(c.rc, -ESHUTDOWN);
    CHECK_EQ(c.result, -ESHUTDOWN);
    return 0;
}

TEST(loop_call, a_plain_loop_ending_with_the_call_queued_refuses_it)
{
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, b_thread, NULL), 0);
    CHECK_EQ(corio_run(a_main, NULL, NULL), 0);
    pthread_join(th, NULL);
}
