/* test_stack.c — stacks and the context switch: a million concurrent tasks,
 * stack overflow reports in each guard mode, registers and floating-point
 * control state preserved across switches, slot reuse. */
#include "tst.h"
#include "arch/stack.h"

#include <fenv.h>
#include <signal.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static long woke;

static int sleep_once(void *arg)
{
    (void)arg;
    if (corio_sleep(CORIO_SECOND) == 0)
        woke++;
    return 0;
}

static int million(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++)
        CHECK_EQ(corio_task_spawn(NULL, sleep_once, NULL), 0);
    CHECK_EQ(corio_sleep(2 * CORIO_SECOND), 0);
    CHECK_EQ(woke, n);
    return 0;
}

TEST_T(stack, million_concurrent_tasks, 300)
{
    long n = tst_slow_env() ? 20000 : 1000000;
    CHECK_EQ(tst_run(million, (void *)(intptr_t)n), 0);
}

TEST(stack, guard_probe)
{
    int mode = corio__stack_guard_mode();
    struct utsname u;
    int major = 0, minor = 0;
    CHECK(mode >= CORIO__GUARD_MADVISE && mode <= CORIO__GUARD_CANARY);
    /* MADV_GUARD_INSTALL exists from Linux 6.13 (not under qemu-user, which
     * accepts and ignores it: the probe must see through that). */
    if (!getenv("CORIO_TEST_QEMU") && uname(&u) == 0 &&
        sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
        (major > 6 || (major == 6 && minor >= 13)))
        CHECK_EQ(mode, CORIO__GUARD_MADVISE);
}

static volatile int keep_going = 1;

static int recurse(int depth)
{
    volatile char pad[512];
    pad[0] = (char)depth;
    corio_yield(); /* a switch per level: where the canary mode checks */
    return (keep_going ? recurse(depth + 1) : 0) + pad[0];
}

static int deep(void *arg)
{
    (void)arg;
    return recurse(1);
}

/* The overflowing task's name (NULL: unnamed). */
static const char *overflow_name = "deep";

static int overflow_main(void *arg)
{
    (void)arg;
    corio_task *t;
    corio_task_opts o = {.name = overflow_name, .stack_size = 64 * 1024};
    CHECK_EQ(corio_task_spawn_ex(&t, deep, NULL, &o), 0);
    CORIO_IGNORE(corio_task_join(t, NULL));
    return 0;
}

/* Overflow a task's stack in a child with the given guard settings (mode
 * NULL: the default); return its wait status and what it printed on
 * stderr. */
static int overflow_child(const char *mode, const char *budget, char *out,
                          size_t n)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        if (mode)
            setenv("CORIO_STACK_GUARD", mode, 1);
        if (budget)
            setenv("CORIO_STACK_GUARDS", budget, 1);
        /* Keep only this small test's guards in the budget's way. */
        tst_run(overflow_main, NULL);
        _exit(0);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t r;
    char sink[4096];
    while ((r = read(p[0], len + 1 < n ? out + len : sink,
                     len + 1 < n ? n - 1 - len : sizeof sink)) > 0)
        if (len + 1 < n)
            len += (size_t)r;
    out[len] = 0;
    close(p[0]);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    return st;
}

static void expect_overflow(const char *mode, const char *budget, int sig)
{
    char err[4096];
    int st = overflow_child(mode, budget, err, sizeof err);
    CHECK(!(WIFEXITED(st) && WEXITSTATUS(st) == 0)); /* it died */
    if (tst_slow_env() && sig == SIGSEGV)
        return; /* sanitizers own SIGSEGV and report the overflow themselves */
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), sig);
    if (!strstr(err, "stack overflow in task 'deep'") ||
        !strstr(err, "65536")) {
        fprintf(stderr, "child said: %s\n", err);
        CHECK(!"overflow message names the task and its stack size");
    }
}

TEST(stack, overflow_madvise_or_best_guard)
{
    int mode = corio__stack_guard_mode();
    expect_overflow(mode == CORIO__GUARD_MADVISE ? "madvise" : "mprotect", NULL,
                    SIGSEGV);
}

TEST(stack, overflow_mprotect)
{
    expect_overflow("mprotect", NULL, SIGSEGV);
}

TEST(stack, overflow_canary)
{
    expect_overflow("canary", NULL, SIGABRT);
}

TEST(stack, overflow_mprotect_budget_exhausted_falls_back_to_canary)
{
    /* main takes the only guard; the deep task gets a canary. */
    expect_overflow("mprotect", "1", SIGABRT);
}

/* Regression (code review): the overflow report named an unnamed task
 * "(unnamed)", not the name corio_task_name() and the dump give it
 * ("task-<id>"): the report must name the task. */
TEST(stack, overflow_report_names_an_unnamed_task)
{
    char err[4096];
    if (tst_slow_env())
        return; /* sanitizers own SIGSEGV */
    overflow_name = NULL;
    int st = overflow_child(NULL, NULL, err, sizeof err);
    CHECK(WIFSIGNALED(st));
    const char *want = "stack overflow in task 'task-2'"; /* main is task-1 */
    if (!strstr(err, want))
        fprintf(stderr, "child said: %s", err);
    CHECK(strstr(err, want) != NULL);
}

static int fp_task(void *arg)
{
    int mode = (int)(intptr_t)arg;
    CHECK_EQ(fesetround(mode), 0);
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(corio_yield(), 0);
        CHECK_EQ(fegetround(), mode);
    }
    return 0;
}

static int fp_modes(void *arg)
{
    (void)arg;
    corio_task *t[3];
    CHECK_EQ(corio_task_spawn(&t[0], fp_task, (void *)(intptr_t)FE_TOWARDZERO),
             0);
    CHECK_EQ(corio_task_spawn(&t[1], fp_task, (void *)(intptr_t)FE_UPWARD), 0);
    CHECK_EQ(corio_task_spawn(&t[2], fp_task, (void *)(intptr_t)FE_DOWNWARD),
             0);
    CHECK_EQ(corio_gather(t, 3, NULL), 0);
    CHECK_EQ(fegetround(), FE_TONEAREST);
    return 0;
}

TEST(stack, fp_control_state_is_per_task)
{
    CHECK_EQ(tst_run(fp_modes, NULL), 0);
}

/* Many values live across a switch: they sit in callee-saved integer and
 * floating-point registers (x86-64 rbx/rbp/r12-r15; aarch64 x19-x28,
 * d8-d15), which the switch must preserve. */
static int live_values(void *arg)
{
    long seed = (long)(intptr_t)arg;
    volatile long vs = seed;
    long a = vs + 1, b = vs + 2, c = vs + 3, d = vs + 4, e = vs + 5, f = vs + 6;
    double x = vs * 1.5, y = vs * 2.5, z = vs * 3.5, w = vs * 4.5;
    double p = vs * 5.5, q = vs * 6.5, r = vs * 7.5, s = vs * 8.5;
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(corio_yield(), 0);
        a += 1, b += 2, c += 3, d += 4, e += 5, f += 6;
        x += 1, y += 2, z += 3, w += 4, p += 5, q += 6, r += 7, s += 8;
    }
    CHECK_EQ(a, seed + 21);
    CHECK_EQ(f, seed + 126);
    CHECK(x == seed * 1.5 + 20 && y == seed * 2.5 + 40 && z == seed * 3.5 + 60);
    CHECK(w == seed * 4.5 + 80 && p == seed * 5.5 + 100 &&
          q == seed * 6.5 + 120);
    CHECK(r == seed * 7.5 + 140 && s == seed * 8.5 + 160);
    return (int)(b + c + d + e - 4 * seed - 14 - 2 * 20 - 3 * 20 - 4 * 20 -
                 5 * 20);
}

static int registers(void *arg)
{
    (void)arg;
    corio_task *t[4];
    int res[4];
    for (int i = 0; i < 4; i++)
        CHECK_EQ(corio_task_spawn(&t[i], live_values,
                                  (void *)(intptr_t)(i * 1000 + 7)),
                 0);
    CHECK_EQ(corio_gather(t, 4, res), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(res[i], 0);
    return 0;
}

TEST(stack, callee_saved_registers_survive_switches)
{
    CHECK_EQ(tst_run(registers, NULL), 0);
}

static int noop(void *arg)
{
    (void)arg;
    return 0;
}

static int reuse(void *arg)
{
    (void)arg;
    corio_task *a, *b;
    CHECK_EQ(corio_task_spawn(&a, noop, NULL), 0);
    CHECK_EQ(corio_task_join(a, NULL), 0);
    CHECK_EQ(corio_task_spawn(&b, noop, NULL), 0);
    CHECK(a == b); /* the freed slot came straight back */
    CHECK_EQ(corio_task_join(b, NULL), 0);
    for (int i = 0; i < 100000; i++) {
        CHECK_EQ(corio_task_spawn(&b, noop, NULL), 0);
        CHECK_EQ(corio_task_join(b, NULL), 0);
        CHECK(a == b);
    }
    return 0;
}

TEST(stack, slots_are_reused)
{
    CHECK_EQ(tst_run(reuse, NULL), 0);
}

static int use_stack(void *arg)
{
    size_t n = (size_t)(uintptr_t)arg;
    volatile char buf[n];
    buf[0] = 1;
    buf[n - 1] = 2;
    return buf[0] + buf[n - 1];
}

/* A slot comes back with the record its last task left (the spawn fast
 * path keeps the record's description of its slot), or, from another size
 * class than the one used last, through the pool: either way each task
 * runs on its own slot, of its own size, and a freed slot is the next one
 * handed out in its class. */
static int reuse_across_sizes(void *arg)
{
    (void)arg;
    corio_task_opts small = {.stack_size = 16 * 1024};
    corio_task *t[3], *last = NULL;
    int r[3];
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ(corio_task_spawn_ex(&t[0], use_stack,
                                     (void *)(uintptr_t)(12 * 1024), &small),
                 0);
        CHECK_EQ(
            corio_task_spawn(&t[1], use_stack, (void *)(uintptr_t)(200 * 1024)),
            0);
        CHECK_EQ(corio_task_spawn_ex(&t[2], use_stack,
                                     (void *)(uintptr_t)(12 * 1024), &small),
                 0);
        CHECK(t[0] != t[2]);
        if (i > 0)
            CHECK(t[0] == last); /* the small slot freed last came back */
        last = t[2];
        CHECK_EQ(corio_gather(t, 3, r), 0);
        CHECK(r[0] == 3 && r[1] == 3 && r[2] == 3);
    }
    return 0;
}

TEST(stack, slots_reused_across_size_classes)
{
    CHECK_EQ(tst_run(reuse_across_sizes, NULL), 0);
}
