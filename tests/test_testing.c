/* test_testing.c — the test kit (corio/testing.h) tested with itself.
 *
 * What must fail (a check, a test, a sweep over a defective scenario) runs
 * in a forked child whose output is captured, and the test checks the exit
 * status and the report.  The planted defects' reports are printed, so the
 * log shows what a user would see. */
#include "tst.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run fn in a child with stdout and stderr into out (NUL-terminated);
 * returns its exit status, or 128 + the signal that ended it. */
static int in_child(void (*fn)(void), char *out, size_t cap)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        fn();
        fflush(NULL);
        _exit(0);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(p[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(p[0]);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Print a captured report, indented, into the test's log. */
static void show(const char *what, const char *out)
{
    printf("  %s:\n", what);
    for (const char *l = out; *l;) {
        const char *e = strchr(l, '\n');
        int len = e ? (int)(e - l) : (int)strlen(l);
        printf("  | %.*s\n", len, l);
        l += len + (e != NULL);
    }
}

/* ---- Checks ------------------------------------------------------------ */

static void fail_err(void)
{
    CORIO_CHECK_ERR(-ECANCELED, -ETIMEDOUT);
}
static void fail_err_corio(void)
{
    CORIO_CHECK_ERR(0, CORIO_EOF);
}
static void fail_str(void)
{
    CORIO_CHECK_STR("key", NULL);
}
static void fail_mem(void)
{
    CORIO_CHECK_MEM("abcd", "abXd", 4);
}
static void fail_eq_context(void)
{
    corio_test_context("victim %d", 3);
    CORIO_CHECK_EQ(1 + 1, 3);
}
static void pass_all(void)
{
    CORIO_CHECK(1);
    CORIO_CHECK_EQ(2, 2);
    CORIO_CHECK_STR("a", "a");
    CORIO_CHECK_STR(NULL, NULL);
    CORIO_CHECK_MEM("ab", "ab", 2);
    CORIO_CHECK_ERR(-ETIMEDOUT, -ETIMEDOUT);
}

TEST(testing, checks_report_names_and_values)
{
    char out[4096];
    CHECK_EQ(in_child(fail_err, out, sizeof out), 1);
    CHECK(strstr(out, "CHECK_ERR(-ECANCELED) failed: -ECANCELED, expected "
                      "-ETIMEDOUT"));
    CHECK(strstr(out, "test_testing.c:"));
    CHECK_EQ(in_child(fail_err_corio, out, sizeof out), 1);
    CHECK(strstr(out, "failed: 0, expected CORIO_EOF"));
    CHECK_EQ(in_child(fail_str, out, sizeof out), 1);
    CHECK(strstr(out, "\"key\" != NULL"));
    CHECK_EQ(in_child(fail_mem, out, sizeof out), 1);
    CHECK(strstr(out, "byte 2 is 0x63 != 0x58"));
    CHECK_EQ(in_child(fail_eq_context, out, sizeof out), 1);
    CHECK(strstr(out, "CHECK_EQ(1 + 1, 3) failed: 2 != 3"));
    CHECK(strstr(out, "in victim 3"));
    CHECK_EQ(in_child(pass_all, out, sizeof out), 0);
    CHECK_STR(out, "");
}

/* ---- Runner ------------------------------------------------------------
 * The fixture suite passes unless CORIO_TESTING_FIXTURE is set; then one
 * test passes, one fails a check, one crashes and one hangs. */

static int fixture(void)
{
    return getenv("CORIO_TESTING_FIXTURE") != NULL;
}

TEST(testing_fixture, passes)
{
}
TEST(testing_fixture, fails)
{
    CHECK(!fixture());
}
TEST(testing_fixture, crashes)
{
    if (fixture())
        abort();
}
TEST_T(testing_fixture, hangs, 1)
{
    while (fixture())
        pause(); /* the runner's alarm ends it after 1 s of real time (4 s
                    under sanitizers and emulators) */
}

static char *runner_args[8];

static void run_main(void)
{
    int argc = 0;
    while (runner_args[argc])
        argc++;
    setenv("CORIO_TESTING_FIXTURE", "1", 1);
    int rc = corio_test_main(argc, runner_args);
    fflush(NULL);
    _exit(rc);
}

static void set_args(char *a0, char *a1, char *a2, char *a3)
{
    char *v[] = {a0, a1, a2, a3, NULL};
    memcpy(runner_args, v, sizeof v);
}

TEST(testing, runner_lists_and_filters)
{
    char out[4096];
    set_args("corio_tests", "--list", "-f", "testing_fixture.*s");
    CHECK_EQ(in_child(run_main, out, sizeof out), 0);
    CHECK_STR(out, "testing_fixture.passes\ntesting_fixture.fails\n"
                   "testing_fixture.crashes\ntesting_fixture.hangs\n");
    set_args("corio_tests", "-l", "testing_fixture.pass*", NULL);
    CHECK_EQ(in_child(run_main, out, sizeof out), 0);
    CHECK_STR(out, "testing_fixture.passes\n");
    set_args("corio_tests", "--bogus", NULL, NULL);
    CHECK_EQ(in_child(run_main, out, sizeof out), 2);
}

TEST(testing, runner_forks_each_test_with_a_timeout)
{
    char out[8192];
    set_args("corio_tests", "testing_fixture", NULL, NULL);
    CHECK_EQ(in_child(run_main, out, sizeof out), 1);
    CHECK(strstr(out, "PASS testing_fixture.passes"));
    CHECK(strstr(out, "CHECK(!fixture()) failed"));
    CHECK(strstr(out, "FAIL testing_fixture.fails"));
    CHECK(strstr(out, "killed by signal 6"));
    CHECK(strstr(out, "FAIL testing_fixture.crashes"));
    CHECK(strstr(out, "killed by signal 14 (timeout)"));
    CHECK(strstr(out, "FAIL testing_fixture.hangs"));
    CHECK(strstr(out, "\n1 passed, 3 failed\n"));
}

TEST(testing, runner_speaks_tap)
{
    char out[4096];
    set_args("corio_tests", "--tap", "-f", "testing_fixture.[pf]*");
    CHECK_EQ(in_child(run_main, out, sizeof out), 1);
    CHECK(strstr(out, "1..2\n"));
    CHECK(strstr(out, "\nok 1 - testing_fixture.passes\n"));
    CHECK(strstr(out, "\nnot ok 2 - testing_fixture.fails\n"));
    CHECK(strstr(out, "\n# 1 passed, 1 failed\n"));
}

/* ---- Run and clock ------------------------------------------------------ */

static int ten_seconds(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_test_now(), 0);
    CHECK_ERR(corio_sleep(10 * CORIO_SECOND), 0);
    CHECK_EQ(corio_test_now(), 10 * CORIO_SECOND);
    return 42;
}

TEST(testing, run_is_a_fresh_loop_on_the_virtual_clock)
{
    CHECK_EQ(corio_test_run(ten_seconds, NULL), 42);
    CHECK_EQ(corio_test_run(ten_seconds, NULL), 42); /* the same again */
    CHECK_EQ(corio_test_now(), 0);                   /* outside a loop */
}

static int sleeper(void *arg)
{
    int *done = arg;
    int rc = corio_sleep(5 * CORIO_SECOND);
    *done = 1;
    return rc;
}

static int manual(void *arg)
{
    (void)arg;
    int done = 0;
    corio_task *t;
    CHECK_EQ(corio_test_autojump(CORIO_NEVER), 0);
    CHECK_EQ(corio_task_spawn(&t, sleeper, &done), 0);
    CHECK_EQ(corio_test_wait_all_blocked(), 0);
    CHECK_EQ(corio_test_advance(4 * CORIO_SECOND), 0);
    CHECK_EQ(corio_test_wait_all_blocked(), 0);
    CHECK_EQ(done, 0);
    CHECK_EQ(corio_test_now(), 4 * CORIO_SECOND);
    CHECK_EQ(corio_test_advance(CORIO_SECOND), 0);
    CHECK_EQ(corio_test_wait_all_blocked(), 0);
    CHECK_EQ(done, 1);
    CHECK_EQ(corio_test_now(), 5 * CORIO_SECOND);
    CHECK_EQ(corio_test_advance(-1), -EINVAL);
    int r;
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, 0);
    return 0;
}

TEST(testing, manual_clock_moves_only_when_advanced)
{
    CHECK_EQ(corio_test_run(manual, NULL), 0);
}

static int stuck_on_timer(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_test_autojump(CORIO_NEVER), 0);
    return corio_sleep(CORIO_SECOND); /* nobody will advance the clock */
}

static int threshold(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_test_autojump(CORIO_MS), 0); /* waits 1 ms, then jumps */
    CHECK_ERR(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(corio_test_now(), CORIO_SECOND);
    CHECK_EQ(corio_test_autojump(-1), -EINVAL);
    return 0;
}

static int real_clock(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_test_advance(1), -EINVAL);
    CHECK_EQ(corio_test_autojump(0), -EINVAL);
    return 0;
}

TEST(testing, autojump_threshold)
{
    /* Only timers left on a manual clock: a deadlock, and the main task is
     * cancelled out of its sleep. */
    CHECK_ERR(corio_test_run(stuck_on_timer, NULL), -ECANCELED);
    CHECK_EQ(corio_test_run(threshold, NULL), 0);
    CHECK_EQ(corio_test_run_ex(real_clock, NULL, NULL), 0);
    CHECK_EQ(corio_test_advance(1), -EPERM);
}

/* ---- Quiescence --------------------------------------------------------- */

typedef struct crowd {
    corio_event go;
    int waiting, computed;
} crowd;

static int doubler(void *arg)
{
    return *(int *)arg * 2;
}

static int member(void *arg)
{
    crowd *c = arg;
    int x = 21, r = 0;
    for (int i = 0; i < 3; i++)
        CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_to_thread(doubler, &x, &r), 0);
    c->computed += r == 42;
    c->waiting++;
    return corio_event_wait(&c->go);
}

static int quiesce(void *arg)
{
    (void)arg;
    crowd c = {.waiting = 0};
    CHECK_EQ(corio_event_init(&c.go), 0);
    corio_task *t[5];
    for (int i = 0; i < 5; i++)
        CHECK_EQ(corio_task_spawn(&t[i], member, &c), 0);
    CHECK_EQ(corio_test_wait_all_blocked(), 0);
    CHECK_EQ(c.waiting, 5); /* every one got to its event */
    CHECK_EQ(c.computed, 5);
    CHECK_EQ(corio_test_now(), 0);
    corio_event_set(&c.go);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(corio_task_join(t[i], NULL), 0);
    corio_event_destroy(&c.go);
    return 0;
}

TEST(testing, wait_all_blocked_waits_for_tasks_and_thread_jobs)
{
    corio_options o = {.virtual_clock = 1, .threads = 2};
    CHECK_EQ(corio_test_run_ex(quiesce, NULL, &o), 0);
    CHECK_EQ(corio_test_wait_all_blocked(), -EPERM);
}

/* ---- Fault injection ---------------------------------------------------- */

static int nothing(void *arg)
{
    (void)arg;
    return 0;
}

static int pair_body(void *arg)
{
    (void)arg;
    corio_stream *a, *b;
    int rc = corio_stream_pair(&a, &b, 0);
    if (rc < 0)
        return rc;
    corio_stream_close(a);
    corio_stream_close(b);
    return 0;
}

TEST(testing, fail_one_named_call)
{
    /* The loop's own eventfd, when it is created. */
    CHECK_EQ(corio_test_fail_syscall("eventfd", 1, EMFILE), 0);
    CHECK_ERR(corio_test_run(nothing, NULL), -EMFILE);
    CHECK(corio_test_fault_fired());
    CHECK_EQ(corio_test_fault_clear(), 1); /* eventfd calls counted */
    CHECK_EQ(corio_test_run(nothing, NULL), 0);
    CHECK_EQ(corio_test_fail_syscall("no_such_call", 1, EIO), -EINVAL);
    CHECK_EQ(corio_test_fail_syscall("read", 0, EIO), -EINVAL);
}

TEST(testing, fail_the_nth_allocation)
{
    CHECK_EQ(corio_test_run(pair_body, NULL), 0);
    long n;
    int enomem = 0;
    for (n = 1;; n++) {
        CHECK_EQ(corio_test_fail_alloc(n), 0);
        int rc = corio_test_run(pair_body, NULL);
        int fired = corio_test_fault_fired();
        corio_test_fault_clear();
        if (!fired) {
            CHECK_EQ(rc, 0);
            break;
        }
        CHECK(rc == 0 || rc == -ENOMEM); /* some are optional */
        enomem += rc == -ENOMEM;
    }
    CHECK(n > 3); /* the loop, the pair's ring and ends, the streams */
    CHECK(enomem > 3);
    CHECK_EQ(corio_test_fail_alloc(0), -EINVAL);
}

/* ---- Sweeps ------------------------------------------------------------
 * The code under test: sum_via_pair sends the numbers 1..10 through a
 * memory pair and adds them up on the far side, in a task, with the
 * addition done on a pool thread. */

static int add_up(void *arg)
{
    int *v = arg;
    return v[0] + v[1];
}

static int reader(void *arg)
{
    corio_stream *s = arg;
    int sum = 0;
    unsigned char x;
    for (;;) {
        int rc = corio_stream_read_exactly(s, &x, 1);
        if (rc == CORIO_EOF)
            return sum;
        if (rc < 0)
            return rc;
        int v[2] = {sum, x}, r;
        rc = corio_to_thread(add_up, v, &r);
        if (rc < 0)
            return rc;
        sum = r;
    }
}

/* 0 and *sum, or an error.  `defect` plants one:
 *   1  the buffer of an error path is not freed (a leak);
 *   2  an error from the reader is taken as "no more numbers" (a wrong
 *      answer passed as success). */
static int sum_via_pair(int defect, int *sum)
{
    corio_stream *a, *b;
    corio_task *t;
    char *scratch = malloc(64);
    if (!scratch)
        return -ENOMEM;
    int rc = corio_stream_pair(&a, &b, 0);
    if (rc < 0) {
        if (defect != 1)
            free(scratch);
        return rc;
    }
    rc = corio_task_spawn(&t, reader, b);
    for (unsigned char i = 1; rc == 0 && i <= 10; i++)
        rc = corio_stream_write(a, &i, 1);
    if (rc == 0)
        rc = corio_stream_flush(a);
    corio_stream_shutdown(a);
    int r = 0;
    if (t) {
        int jrc = corio_task_join(t, &r);
        if (rc == 0)
            rc = jrc;
    }
    if (rc == 0 && r < 0)
        rc = defect == 2 ? 0 : r;
    *sum = r < 0 ? 0 : r;
    corio_stream_close(a);
    corio_stream_close(b);
    free(scratch);
    return rc;
}

/* Scenarios: 0 for the right answer, the error, or 1 for a wrong one. */
static int scenario(void *arg)
{
    int sum, rc = sum_via_pair(*(int *)arg, &sum);
    if (rc < 0)
        return rc;
    return sum == 55 ? 0 : 1;
}

static int defect;

static void sweep_child(void)
{
    int bad = corio_test_sweep(scenario, &defect);
    printf("sweep returned %d\n", bad);
    fflush(NULL); /* _exit: LeakSanitizer's own check at exit would see
                     the planted leaks and change the status */
    _exit(bad > 0 ? 3 : bad < 0 ? 4 : 0);
}

TEST_T(testing, sweep_passes_sound_code, 120)
{
    int ok = 0;
    CHECK_EQ(corio_test_sweep(scenario, &ok), 0);
    CHECK_EQ(corio_test_sweep(scenario, &ok), 0); /* and again */
}

TEST_T(testing, sweep_catches_a_planted_leak, 120)
{
    char out[16384];
    corio_test_counts c;
    corio_test_counts_get(&c);
    if (!c.heap_exact) { /* glibc's cache is on (qemu-user) */
        printf("  heap counts not exact here: not checked\n");
        return;
    }
    defect = 1;
    int st = in_child(sweep_child, out, sizeof out);
    show("corio_test_sweep over a leak on an error path", out);
    CHECK_EQ(st, 3);
    CHECK(strstr(out, "corio_test_sweep: call "));
    CHECK(strstr(out, "(malloc) failed: leaked"));
    CHECK(!strstr(out, "wrong answer"));
}

TEST_T(testing, sweep_catches_a_planted_wrong_answer, 120)
{
    char out[16384];
    defect = 2;
    int st = in_child(sweep_child, out, sizeof out);
    show("corio_test_sweep over an error taken for the end of the data", out);
    CHECK_EQ(st, 3);
    CHECK(strstr(out, "the scenario returned 1 (a wrong answer)"));
    CHECK(!strstr(out, "leaked"));
}

static int always_wrong(void *arg)
{
    (void)arg;
    return 1;
}

TEST(testing, sweep_needs_a_sound_first_run)
{
    char out[4096];
    defect = 0;
    CHECK_EQ(corio_test_sweep(always_wrong, NULL), -EINVAL);
    CHECK_EQ(corio_test_cancel_sweep(always_wrong, NULL), -EINVAL);
    (void)out;
}

/* ---- Cancel sweep ---------------------------------------------------------
 * The code under test moves items from a queue to a list, one at a time;
 * the scenario checks afterwards, without waiting, that every item is in
 * exactly one place.  The planted defect takes an item and then waits
 * before storing it, so a cancellation there loses it. */

typedef struct mover {
    corio_queue *q;
    int produced; /* the sum of the items put */
    int moved;    /* the sum of the items moved */
    int lose;     /* the defect */
} mover;

static int move_all(mover *m)
{
    for (;;) {
        void *item;
        int rc = corio_queue_get(m->q, &item);
        if (rc == CORIO_ESHUTDOWN)
            return 0;
        if (rc < 0)
            return rc;
        if (m->lose) {
            rc = corio_yield(); /* "log it first": the item is in hand */
            if (rc < 0)
                return rc;
        }
        m->moved += (int)(intptr_t)item;
    }
}

static int producer(void *arg)
{
    mover *m = arg;
    for (int i = 1; i <= 5; i++) {
        int rc = corio_queue_put(m->q, (void *)(intptr_t)i);
        if (rc < 0)
            return rc;
        m->produced += i;
        rc = corio_sleep(CORIO_MS);
        if (rc < 0)
            return rc;
    }
    corio_queue_shutdown(m->q, 0);
    return 0;
}

static int cancel_scenario(void *arg)
{
    mover m = {.lose = *(int *)arg};
    corio_queue_opts qo = {.capacity = 2};
    corio_task *p;
    if (corio_queue_new(&m.q, &qo) < 0)
        return -ENOMEM;
    int rc = corio_task_spawn(&p, producer, &m);
    if (rc < 0) {
        corio_queue_free(m.q);
        return rc;
    }
    rc = move_all(&m);
    /* Judge without waiting: every item put was moved or is still queued. */
    int seen = m.moved;
    void *item;
    while (corio_queue_try_get(m.q, &item) == 0)
        seen += (int)(intptr_t)item;
    int wrong = seen != m.produced || (rc == 0 && seen != 15);
    if (rc == 0)
        CHECK_EQ(corio_task_join(p, NULL), 0);
    else
        corio_task_cancel(p);
    corio_task_detach(p);
    corio_queue_free(m.q);
    return wrong ? 1 : rc;
}

static void cancel_sweep_child(void)
{
    int bad = corio_test_cancel_sweep(cancel_scenario, &defect);
    printf("cancel sweep returned %d\n", bad);
    fflush(NULL);
    _exit(bad > 0 ? 3 : bad < 0 ? 4 : 0);
}

TEST(testing, cancel_sweep_passes_sound_code)
{
    int ok = 0;
    CHECK_EQ(corio_test_cancel_sweep(cancel_scenario, &ok), 0);
}

TEST(testing, cancel_sweep_catches_a_planted_lost_item)
{
    char out[16384];
    defect = 1;
    int st = in_child(cancel_sweep_child, out, sizeof out);
    show("corio_test_cancel_sweep over a consumer that waits with an item "
         "in hand",
         out);
    CHECK_EQ(st, 3);
    CHECK(strstr(out, "corio_test_cancel_sweep: cancelled at suspension "
                      "point "));
    CHECK(strstr(out, "(a wrong answer)"));
}

/* ---- Leak counters ------------------------------------------------------ */

static int count_tasks(void *arg)
{
    (void)arg;
    corio_test_counts c;
    corio_test_counts_get(&c);
    CHECK_EQ(c.tasks, 1);
    return 0;
}

TEST(testing, counts_see_descriptors_bytes_and_tasks)
{
    corio_test_counts a, b;
    corio_test_counts_get(&a);
    int p[2];
    CHECK_EQ(pipe(p), 0);
    char *big = malloc(1 << 20);
    CHECK(big != NULL);
    corio_test_counts_get(&b);
    CHECK_EQ(b.fds, a.fds + 2);
    CHECK(b.heap_bytes >= a.heap_bytes + (1 << 20));
    CHECK_EQ(b.tasks, 0);
    free(big);
    close(p[0]);
    close(p[1]);
    corio_test_counts_get(&b);
    CHECK_EQ(b.fds, a.fds);
    CHECK(b.heap_bytes < a.heap_bytes + (1 << 20));
    CHECK_EQ(corio_test_run(count_tasks, NULL), 0);
}

static void leak_fd(void)
{
    CHECK(dup(0) >= 0);
    corio_test_assert_no_leaks();
}

TEST(testing, assert_no_leaks)
{
    char out[4096];
    CHECK_EQ(corio_test_run(pair_body, NULL), 0); /* warm up */
    corio_test_leak_baseline();
    CHECK_EQ(corio_test_run(pair_body, NULL), 0);
    corio_test_assert_no_leaks();
    CHECK_EQ(in_child(leak_fd, out, sizeof out), 1);
    CHECK(strstr(out, "no leaks: leaked 1 descriptor(s)"));
}

/* ---- Memory stream faults ----------------------------------------------- */

/* The sizes of three reads, as decimal digits. */
static int read_pieces(void *arg)
{
    char buf[64];
    int sizes = 0;
    for (int i = 0; i < 3; i++) {
        ssize_t n = corio_stream_read(arg, buf, sizeof buf);
        CHECK(n > 0 && n < 10);
        sizes = sizes * 10 + (int)n;
    }
    return sizes;
}

static int short_reads_and_writes(void *arg)
{
    (void)arg;
    corio_stream *a, *b;
    char buf[64];
    CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
    corio_test_stream_faults f = {.max_read = 3};
    CHECK_EQ(corio_test_stream_set_faults(b, &f), 0);
    CHECK_EQ(corio_stream_write(a, "hello world", 11), 0);
    CHECK_EQ(corio_stream_flush(a), 0);
    CHECK_EQ(corio_stream_read(b, buf, sizeof buf), 3);
    CHECK_MEM(buf, "hel", 3);
    CHECK_EQ(corio_stream_read(b, buf, sizeof buf), 3);
    CHECK_EQ(corio_test_stream_set_faults(b, NULL), 0);
    CHECK_EQ(corio_stream_read(b, buf, sizeof buf), 5);
    CHECK_MEM(buf, "world", 5);
    /* Writes in pieces of 4: the reader, already waiting, wakes for each. */
    f = (corio_test_stream_faults){.max_write = 4};
    CHECK_EQ(corio_test_stream_set_faults(a, &f), 0);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, read_pieces, b), 0);
    CHECK_EQ(corio_test_wait_all_blocked(), 0); /* the reader waits */
    CHECK_EQ(corio_stream_write(a, "0123456789", 10), 0);
    CHECK_EQ(corio_stream_flush(a), 0);
    int pieces;
    CHECK_EQ(corio_task_join(t, &pieces), 0);
    CHECK_EQ(pieces, 442);
    corio_stream_close(a);
    corio_stream_close(b);
    return 0;
}

static int lift_stall(void *arg)
{
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    return corio_test_stream_set_faults(arg, NULL);
}

static int stall_and_reset(void *arg)
{
    (void)arg;
    corio_stream *a, *b;
    char buf[16];
    CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
    corio_test_stream_faults f = {.stall = 1};
    CHECK_EQ(corio_test_stream_set_faults(b, &f), 0);
    CHECK_EQ(corio_stream_write(a, "x", 1), 0);
    CHECK_EQ(corio_stream_flush(a), 0);
    ssize_t n = -1;
    int trc;
    CORIO_WITH_TIMEOUT(2 * CORIO_SECOND, trc)
    {
        n = corio_stream_read(b, buf, sizeof buf);
    }
    CHECK_ERR(n, -ETIMEDOUT); /* the data is there, the stall holds it */
    CHECK_EQ(trc, 0);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, lift_stall, b), 0);
    int64_t t0 = corio_test_now();
    CHECK_EQ(corio_stream_read(b, buf, sizeof buf), 1);
    CHECK_EQ(corio_test_now() - t0, CORIO_SECOND);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    f = (corio_test_stream_faults){.reset = 1};
    CHECK_EQ(corio_test_stream_set_faults(a, &f), 0);
    CHECK_EQ(corio_test_stream_set_faults(a, NULL), 0); /* final */
    CHECK_ERR(corio_stream_read(a, buf, sizeof buf), -ECONNRESET);
    CHECK_ERR(corio_stream_read(b, buf, sizeof buf), -ECONNRESET);
    CHECK_EQ(corio_stream_write(b, "y", 1), 0); /* buffered */
    CHECK_ERR(corio_stream_flush(b), -ECONNRESET);
    corio_stream_close(a);
    corio_stream_close(b);
    return 0;
}

static int not_a_pair(void *arg)
{
    (void)arg;
    int p[2];
    corio_stream *s;
    CHECK_EQ(pipe(p), 0);
    CHECK_EQ(corio_stream_from_fd(&s, p[0], NULL), 0);
    corio_test_stream_faults f = {.reset = 1};
    CHECK_ERR(corio_test_stream_set_faults(s, &f), -EINVAL);
    CHECK_ERR(corio_test_stream_set_faults(NULL, &f), -EINVAL);
    corio_stream_close(s);
    close(p[1]);
    return 0;
}

TEST(testing, stream_faults)
{
    CHECK_EQ(corio_test_run(short_reads_and_writes, NULL), 0);
    CHECK_EQ(corio_test_run(stall_and_reset, NULL), 0);
    CHECK_EQ(corio_test_run(not_a_pair, NULL), 0);
}

/* ---- Fake resolver ------------------------------------------------------ */

static int resolve(void *arg)
{
    (void)arg;
    corio_addr *v;
    char text[CORIO_ADDR_STRLEN];
    CHECK_EQ(corio_dns_resolve(&v, "api.example.com", 443, NULL), 1);
    CHECK(corio_addr_format(&v[0], text, sizeof text) > 0);
    CHECK_STR(text, "127.0.0.1:443");
    corio_dns_free(v);
    CHECK_EQ(corio_dns_resolve(&v, "API.Example.COM", 80, NULL), 1);
    corio_dns_free(v);
    corio_dns_opts six = {.family = AF_INET6};
    CHECK_ERR(corio_dns_resolve(&v, "api.example.com", 80, &six),
              CORIO_ENOHOST);
    CHECK_EQ(corio_dns_resolve(&v, "v6.example.com", 80, NULL), 1);
    CHECK(corio_addr_format(&v[0], text, sizeof text) > 0);
    CHECK_STR(text, "[::1]:8443");
    corio_dns_free(v);
    return 0;
}

static int echo_once(void *arg)
{
    corio_stream *s;
    char c;
    int rc = corio_listener_accept(arg, &s, NULL);
    if (rc < 0)
        return rc;
    rc = corio_stream_read_exactly(s, &c, 1);
    if (rc == 0)
        rc = corio_stream_write(s, &c, 1);
    if (rc == 0)
        rc = corio_stream_flush(s);
    corio_stream_close(s);
    return rc;
}

/* Code that dials "db.internal:5432" reaches a test server on a port the
 * kernel picked. */
static int connect_by_name(void *arg)
{
    (void)arg;
    corio_listener *l;
    corio_addr la;
    corio_stream *s;
    corio_task *t;
    char spec[64], c = 0;
    CHECK_EQ(corio_tcp_listen(&l, "127.0.0.1", 0, NULL), 0);
    CHECK_EQ(corio_listener_addr(l, &la), 0);
    snprintf(spec, sizeof spec, "127.0.0.1:%d", corio_addr_port(&la));
    CHECK_EQ(corio_test_dns_add("db.internal", spec), 0);
    CHECK_EQ(corio_task_spawn(&t, echo_once, l), 0);
    CHECK_EQ(corio_tcp_connect(&s, "db.internal", 5432), 0);
    CHECK_EQ(corio_stream_write(s, "x", 1), 0);
    CHECK_EQ(corio_stream_flush(s), 0);
    CHECK_EQ(corio_stream_read_exactly(s, &c, 1), 0);
    CHECK_EQ(c, 'x');
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_stream_close(s);
    corio_listener_close(l);
    return 0;
}

TEST(testing, fake_resolver)
{
    CHECK_EQ(corio_test_dns_add("api.example.com", "10.0.0.1"), 0);
    CHECK_EQ(corio_test_dns_add("api.example.com", "127.0.0.1"), 0);
    CHECK_EQ(corio_test_dns_add("v6.example.com", "[::1]:8443"), 0);
    CHECK_EQ(corio_test_dns_add("bad.example.com", "not-an-ip"), -EINVAL);
    CHECK_EQ(corio_test_dns_add("bad.example.com", "1.2.3.4:99999"), -EINVAL);
    CHECK_EQ(corio_test_dns_add("bad.example.com", "[::1"), -EINVAL);
    CHECK_EQ(corio_test_dns_add(NULL, "127.0.0.1"), -EINVAL);
    CHECK_EQ(corio_test_run(resolve, NULL), 0);
    CHECK_EQ(corio_test_run(connect_by_name, NULL), 0);
    corio_test_dns_clear();
}
