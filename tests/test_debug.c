/* test_debug.c — debug mode and the task dump: slow-task reports, the
 * watchdog, tasks never joined nor detached, the dump's contents, stack
 * high-water marks, misuse warnings, CORIO_DEBUG=1, the slow-shutdown
 * report, and deadlock detection with its escalation.
 *
 * Each test captures its own stderr: fd 2 is pointed at a temporary file
 * for the run and read back afterwards.  Checks made while stderr is
 * captured print the captured text when they fail (CHECK_CAP), so a
 * failure is never swallowed by the capture. */
#include "tst.h"
#include "core/loop.h" /* corio__park: a wait nothing can end (deadlocks) */

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- stderr capture ------------------------------------------------------ */

static FILE *cap_file;
static int cap_saved = -1;
static char *cap_text; /* the last capture, for failure messages */

static void cap_begin(void)
{
    fflush(stderr);
    cap_file = tmpfile();
    CHECK(cap_file != NULL);
    cap_saved = dup(2);
    CHECK(cap_saved >= 0);
    CHECK(dup2(fileno(cap_file), 2) == 2);
}

/* What was written to the capture so far (callable while capturing, from
 * any thread).  The result is malloc'ed. */
static char *cap_peek(void)
{
    int fd = fileno(cap_file);
    struct stat st;
    off_t size = fstat(fd, &st) == 0 ? st.st_size : 0;
    char *s = malloc((size_t)(size > 0 ? size : 0) + 1);
    ssize_t n = size > 0 ? pread(fd, s, (size_t)size, 0) : 0;
    s[n > 0 ? n : 0] = 0;
    return s;
}

static const char *cap_end(void)
{
    fflush(stderr);
    free(cap_text);
    cap_text = cap_peek();
    CHECK(dup2(cap_saved, 2) == 2);
    close(cap_saved);
    cap_saved = -1;
    fclose(cap_file);
    cap_file = NULL;
    return cap_text;
}

/* On failure, restore stderr if needed and show what was captured. */
static void cap_fail(const char *file, int line, const char *what)
{
    if (cap_saved >= 0)
        cap_end();
    fprintf(stderr, "    captured stderr:\n----\n%s----\n",
            cap_text ? cap_text : "");
    tst_fail(file, line, what);
}

#define CHECK_CAP(c)                                                           \
    do {                                                                       \
        if (!(c))                                                              \
            cap_fail(__FILE__, __LINE__, #c);                                  \
    } while (0)

static void spin_ns(int64_t ns)
{
    int64_t end = tst_real_ns() + ns;
    while (tst_real_ns() < end)
        ;
}

/* The first line of text containing all of a, b (b may be NULL). */
static const char *line_with(const char *text, const char *a, const char *b)
{
    static char line[512];
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n >= sizeof line)
            n = sizeof line - 1;
        memcpy(line, p, n);
        line[n] = 0;
        if (strstr(line, a) && (!b || strstr(line, b)))
            return line;
        if (!e)
            break;
        p = e + 1;
    }
    return NULL;
}

static void start_clean(void)
{
    unsetenv("CORIO_DEBUG");
}

/* ---- slow tasks -------------------------------------------------------------
 */

static int busy_fn(void *arg)
{
    spin_ns(*(int64_t *)arg);
    return 0;
}

static int slow_main(void *arg)
{
    (void)arg;
    static int64_t long_ns = 150 * CORIO_MS, short_ns = 5 * CORIO_MS;
    corio_task_opts ho = {.name = "hog"}, qo = {.name = "quick"};
    corio_task *h, *q;
    CHECK_EQ(corio_task_spawn_ex(&h, busy_fn, &long_ns, &ho), 0);
    CHECK_EQ(corio_task_spawn_ex(&q, busy_fn, &short_ns, &qo), 0);
    CHECK_EQ(corio_task_join(h, NULL), 0);
    CHECK_EQ(corio_task_join(q, NULL), 0);
    return 0;
}

TEST(debug, slow_task_reported_with_name)
{
    start_clean();
    corio_options o = {.debug = 1, .virtual_clock = 1};
    cap_begin();
    int rc = tst_run_ex(&o, slow_main, NULL);
    const char *err = cap_end();
    CHECK_CAP(rc == 0);
    const char *l = line_with(err, "'hog'", "without suspending");
    CHECK_CAP(l != NULL);
    double ms = 0;
    const char *ran = strstr(l, " ran ");
    CHECK_CAP(ran && sscanf(ran, " ran %lf ms", &ms) == 1);
    CHECK_CAP(ms >= 150.0);
    CHECK_CAP(line_with(err, "'quick'", "without suspending") == NULL);
    CHECK_CAP(line_with(err, "'main'", "without suspending") == NULL);
}

static int threshold_main(void *arg)
{
    (void)arg;
    static int64_t ns = 40 * CORIO_MS;
    corio_task_opts to = {.name = "medium"};
    corio_task *t;
    CHECK_EQ(corio_task_spawn_ex(&t, busy_fn, &ns, &to), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    return 0;
}

TEST(debug, slow_task_threshold_from_options)
{
    start_clean();
    corio_options o = {
        .debug = 1, .virtual_clock = 1, .slow_task_ns = 20 * CORIO_MS};
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, threshold_main, NULL) == 0);
    const char *err = cap_end();
    CHECK_CAP(line_with(err, "'medium'", "without suspending") != NULL);

    /* The same 40 ms under the default threshold (100 ms): no report. */
    o.slow_task_ns = 0;
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, threshold_main, NULL) == 0);
    err = cap_end();
    CHECK_CAP(line_with(err, "'medium'", "without suspending") == NULL);
}

TEST(debug, no_reports_without_debug_mode)
{
    start_clean();
    cap_begin();
    CHECK_CAP(tst_run(slow_main, NULL) == 0);
    const char *err = cap_end();
    CHECK_CAP(err[0] == 0);
}

/* Time spent parked is not running time: a task that sleeps (the loop
 * blocks in between) and then resumes is not "slow", even when no other
 * task ran in between. */
static int child_noop(void *arg)
{
    (void)arg;
    return 0;
}

static int sleepy_main(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_sleep(150 * CORIO_MS), 0); /* real clock */
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, child_noop, NULL), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    return 0;
}

TEST(debug, sleeping_alone_is_not_slow)
{
    start_clean();
    corio_options o = {.debug = 1, .virtual_clock = 0};
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, sleepy_main, NULL) == 0);
    const char *err = cap_end();
    CHECK_CAP(line_with(err, "'main'", "without suspending") == NULL);
}

/* ---- the watchdog
 * --------------------------------------------------------------- */

static const char *WD_MSG = "has been running for over 1 s";
static atomic_int wd_seen_while_stuck;
static int64_t wd_seen_after_ns;

static int stuck_fn(void *arg)
{
    (void)arg;
    int64_t t0 = tst_real_ns();
    /* Busy, never suspending, until the watchdog has spoken (at most 3 s). */
    while (tst_real_ns() - t0 < 3 * CORIO_SECOND) {
        spin_ns(10 * CORIO_MS);
        char *s = cap_peek();
        int seen = line_with(s, "'stuck'", WD_MSG) != NULL;
        free(s);
        if (seen) {
            atomic_store(&wd_seen_while_stuck, 1);
            wd_seen_after_ns = tst_real_ns() - t0;
            break;
        }
    }
    spin_ns(200 * CORIO_MS); /* still stuck a little longer: one report */
    return 0;
}

static int watchdog_main(void *arg)
{
    (void)arg;
    corio_task_opts so = {.name = "stuck"};
    corio_task *t;
    CHECK_EQ(corio_task_spawn_ex(&t, stuck_fn, NULL, &so), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    return 0;
}

TEST_T(debug, watchdog_reports_stuck_task_while_stuck, 20)
{
    start_clean();
    corio_options o = {.debug = 1, .virtual_clock = 0};
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, watchdog_main, NULL) == 0);
    const char *err = cap_end();
    CHECK_CAP(atomic_load(&wd_seen_while_stuck) == 1);
    CHECK_CAP(wd_seen_after_ns >= CORIO_SECOND); /* not before 1 s */
    /* One report per stuck stretch. */
    const char *first = strstr(err, WD_MSG);
    CHECK_CAP(first && !strstr(first + 1, WD_MSG));
    /* When it finally suspends, the slow-task report follows. */
    CHECK_CAP(line_with(err, "'stuck'", "without suspending") != NULL);
}

/* The main task is watched too, from its very first slice. */
static int stuck_main(void *arg)
{
    (void)arg;
    int64_t t0 = tst_real_ns();
    while (tst_real_ns() - t0 < 2500 * CORIO_MS) {
        spin_ns(10 * CORIO_MS);
        char *s = cap_peek();
        int seen = line_with(s, "'main'", WD_MSG) != NULL;
        free(s);
        if (seen) {
            atomic_store(&wd_seen_while_stuck, 1);
            break;
        }
    }
    return 0;
}

TEST_T(debug, watchdog_reports_stuck_main, 20)
{
    start_clean();
    corio_options o = {.debug = 1, .virtual_clock = 0};
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, stuck_main, NULL) == 0);
    cap_end();
    CHECK_CAP(atomic_load(&wd_seen_while_stuck) == 1);
}

/* A task parked for over a second is not stuck: the watchdog must not
 * report it, even when it is the only task that can run and it resumes
 * without any other task running in between. */
static int napper(void *arg)
{
    (void)arg;
    return corio_sleep(1300 * CORIO_MS); /* real clock */
}

static int long_sleep_main(void *arg)
{
    (void)arg;
    corio_task_opts o = {.name = "napper"};
    corio_task *t;
    CHECK_EQ(corio_task_spawn_ex(&t, napper, NULL, &o), 0);
    int r = 1;
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, 0);
    return 0;
}

TEST_T(debug, watchdog_quiet_while_task_sleeps, 20)
{
    start_clean();
    corio_options o = {.debug = 1, .virtual_clock = 0};
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, long_sleep_main, NULL) == 0);
    const char *err = cap_end();
    CHECK_CAP(strstr(err, WD_MSG) == NULL);
    CHECK_CAP(line_with(err, "'napper'", "without suspending") == NULL);
}

/* ---- tasks never joined nor detached
 * ------------------------------------------- */

static int parks_long(void *arg)
{
    (void)arg;
    corio_sleep(3600 * CORIO_SECOND);
    return 0;
}

static int orphan_main(void *arg)
{
    (void)arg;
    corio_task_opts oo = {.name = "orphan"}, jo = {.name = "joined"},
                    deo = {.name = "detached"}, fo = {.name = "finished"};
    corio_task *o, *j, *d, *f;
    CHECK_EQ(corio_task_spawn_ex(&o, parks_long, NULL, &oo), 0);
    CHECK_EQ(corio_task_spawn_ex(&j, child_noop, NULL, &jo), 0);
    CHECK_EQ(corio_task_spawn_ex(&d, parks_long, NULL, &deo), 0);
    CHECK_EQ(corio_task_spawn_ex(&f, child_noop, NULL, &fo), 0);
    corio_task_detach(d);
    CHECK_EQ(corio_task_join(j, NULL), 0);
    CHECK_EQ(corio_yield(), 0); /* "finished" is done, never joined */
    return 0;
}

TEST(debug, never_joined_reported_by_name)
{
    start_clean();
    corio_options o = {.debug = 1, .virtual_clock = 1};
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, orphan_main, NULL) == 0);
    const char *err = cap_end();
    CHECK_CAP(line_with(err, "'orphan'", "never joined nor detached") != NULL);
    CHECK_CAP(line_with(err, "'finished'", "never joined nor detached") !=
              NULL);
    CHECK_CAP(line_with(err, "'joined'", "never joined") == NULL);
    CHECK_CAP(line_with(err, "'detached'", "never joined") == NULL);
    CHECK_CAP(line_with(err, "'main'", "never joined") == NULL);
}

/* ---- corio_task_dump
 * --------------------------------------------------------------- */

typedef struct dumpctx {
    int rd[2];  /* "reader" waits on rd[0] */
    int job[2]; /* the thread job waits on job[0] */
    corio_task *target;
} dumpctx;

static int d_sleeper(void *arg)
{
    (void)arg;
    return corio_sleep(3600 * CORIO_SECOND);
}

static int d_joiner(void *arg)
{
    dumpctx *c = arg;
    return corio_task_join(c->target, NULL);
}

static int d_reader(void *arg)
{
    dumpctx *c = arg;
    char b;
    return (int)corio_fd_read(c->rd[0], &b, 1);
}

static int d_job(void *arg)
{
    dumpctx *c = arg;
    char b;
    return (int)read(c->job[0], &b, 1); /* blocks until main releases it */
}

static int d_worker(void *arg)
{
    return corio_to_thread(d_job, arg, NULL);
}

static int d_grouper(void *arg)
{
    (void)arg;
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    CHECK_EQ(corio_group_spawn(g, d_sleeper, NULL), 0);
    return corio_group_wait(g);
}

static char dump_text[8192];

static int dump_main(void *arg)
{
    dumpctx *c = arg;
    CHECK_EQ(pipe2(c->rd, O_CLOEXEC), 0);
    CHECK_EQ(pipe2(c->job, O_CLOEXEC), 0);
    struct {
        const char *name;
        corio_fn fn;
    } spec[] = {{"sleeper", d_sleeper}, {"target", d_sleeper},
                {"joiner", d_joiner},   {"reader", d_reader},
                {"worker", d_worker},   {"grouper", d_grouper}};
    corio_task *t[7];
    for (int i = 0; i < 6; i++) {
        corio_task_opts o = {.name = spec[i].name};
        CHECK_EQ(corio_task_spawn_ex(&t[i], spec[i].fn, c, &o), 0);
        if (i == 1)
            c->target = t[1];
    }
    for (int i = 0; i < 5; i++)
        CHECK_EQ(corio_yield(), 0);
    corio_task_opts no = {.name = "newborn"};
    CHECK_EQ(corio_task_spawn_ex(&t[6], child_noop, NULL, &no), 0);

    FILE *f = tmpfile();
    CHECK(f != NULL);
    corio_task_dump(f);
    rewind(f);
    size_t n = fread(dump_text, 1, sizeof dump_text - 1, f);
    dump_text[n] = 0;
    fclose(f);

    /* Clean up: cancel everything, let the job go. */
    for (int i = 0; i < 6; i++)
        if (i != 1)
            corio_task_cancel(t[i]);
    CHECK_EQ(write(c->job[1], "x", 1), 1);
    int order[] = {0, 2, 3, 4, 5, 6};
    for (int k = 0; k < 6; k++)
        CHECK_EQ(corio_task_join(t[order[k]], NULL), 0);
    /* The joiner was cancelled, so the handle of "target" is still ours. */
    corio_task_cancel(t[1]);
    CHECK_EQ(corio_task_join(t[1], NULL), 0);
    return 0;
}

static void expect_line(const char *name, const char *state, const char *what)
{
    const char *l = line_with(dump_text, name, state);
    if (!l || (what && !strstr(l, what))) {
        fprintf(stderr,
                "    dump has no line with %s / %s / %s:\n----\n%s----\n", name,
                state, what ? what : "-", dump_text);
        CHECK(0);
    }
}

TEST(debug, task_dump_lists_every_task)
{
    start_clean();
    dumpctx c = {0};
    CHECK_EQ(tst_run(dump_main, &c), 0);
    expect_line("main", "running", NULL);
    expect_line("sleeper", "waiting", "sleep");
    expect_line("target", "waiting", "sleep");
    expect_line("joiner", "waiting", "join");
    expect_line("reader", "waiting", "fd read");
    expect_line("worker", "waiting", "thread job");
    expect_line("grouper", "waiting", "group wait");
    expect_line("newborn", "new", NULL);
    /* The group's child, unnamed, is listed by its default name. */
    expect_line("task-", "waiting", "sleep");
    /* One line per task (8 named + the group child) plus two header lines. */
    int lines = 0;
    for (const char *p = dump_text; *p; p++)
        lines += *p == '\n';
    CHECK_EQ(lines, 2 + 9);
    CHECK(strstr(dump_text, "9 task(s)") != NULL);
}

static int cancelled_dump_main(void *arg)
{
    (void)arg;
    corio_task_opts so = {.name = "victim"};
    corio_task *t;
    CHECK_EQ(corio_task_spawn_ex(&t, d_sleeper, NULL, &so), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_task_cancel(t);
    FILE *f = tmpfile();
    corio_task_dump(f);
    rewind(f);
    size_t n = fread(dump_text, 1, sizeof dump_text - 1, f);
    dump_text[n] = 0;
    fclose(f);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    return 0;
}

TEST(debug, task_dump_marks_cancelled_and_outside_loop)
{
    start_clean();
    CHECK_EQ(tst_run(cancelled_dump_main, NULL), 0);
    /* Cancelled and not yet resumed: still listed, marked cancelled. */
    expect_line("victim", "cancelled", NULL);

    FILE *f = tmpfile();
    corio_task_dump(f); /* no loop: says so, does not crash */
    rewind(f);
    size_t n = fread(dump_text, 1, sizeof dump_text - 1, f);
    dump_text[n] = 0;
    fclose(f);
    CHECK(strstr(dump_text, "no loop") != NULL);
}

/* ---- stack high-water mark
 * ---------------------------------------------------- */

static int deep_fn(void *arg)
{
    (void)arg;
    volatile char buf[100 * 1024];
    memset((char *)buf, 1, sizeof buf);
    return buf[1234];
}

static int hiwater_main(void *arg)
{
    (void)arg;
    corio_task_opts o = {.name = "deep"};
    corio_task *t;
    CHECK_EQ(corio_task_spawn_ex(&t, deep_fn, NULL, &o), 0);
    int r = 0;
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, 1);
    return 0;
}

TEST(debug, stack_high_water_reported_at_exit)
{
    start_clean();
    corio_options o = {.debug = 1, .virtual_clock = 1};
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, hiwater_main, NULL) == 0);
    const char *err = cap_end();
    const char *l = line_with(err, "deepest stack use", NULL);
    CHECK_CAP(l != NULL);
    size_t used = 0, total = 0;
    CHECK_CAP(sscanf(strstr(l, "deepest stack use"),
                     "deepest stack use %zu KiB of %zu KiB", &used,
                     &total) == 2);
    CHECK_CAP(used >= 100 && used <= total);
    CHECK_CAP(total == 256); /* the default stack size */
    CHECK_CAP(strstr(l, "'deep'") != NULL);
}

/* ---- misuse: an error always, a warning only in debug mode
 * --------------------- */

static int misuse_main(void *arg)
{
    (void)arg;
    CHECK_CAP(corio_timeout_end() == -EINVAL);
    CHECK_CAP(corio_shield_end() == -EINVAL);
    CHECK_CAP(corio_task_join(corio_task_current(), NULL) == -EDEADLK);
    return 0;
}

static int count_lines(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

TEST(debug, misuse_warns_only_in_debug_mode)
{
    start_clean();
    corio_options o = {.debug = 1, .virtual_clock = 1};
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, misuse_main, NULL) == 0);
    const char *err = cap_end();
    CHECK_CAP(count_lines(err, "corio: warning:") == 3);
    CHECK_CAP(strstr(err, "corio_timeout_end") != NULL);
    CHECK_CAP(strstr(err, "corio_shield_end") != NULL);

    cap_begin();
    CHECK_CAP(tst_run(misuse_main, NULL) == 0);
    err = cap_end();
    CHECK_CAP(err[0] == 0);
}

static int open_scope_fn(void *arg)
{
    (void)arg;
    CHECK(corio_timeout_begin(CORIO_SECOND) == 0);
    return 0; /* returns with the scope open */
}

static int open_scope_main(void *arg)
{
    (void)arg;
    corio_task_opts o = {.name = "leaky"};
    corio_task *t;
    CHECK_EQ(corio_task_spawn_ex(&t, open_scope_fn, NULL, &o), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    return 0;
}

TEST(debug, scope_left_open_warns_in_debug_mode)
{
    start_clean();
    corio_options o = {.debug = 1, .virtual_clock = 1};
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, open_scope_main, NULL) == 0);
    const char *err = cap_end();
    CHECK_CAP(line_with(err, "corio: warning:", "'leaky'") != NULL);

    cap_begin();
    CHECK_CAP(tst_run(open_scope_main, NULL) == 0);
    err = cap_end();
    CHECK_CAP(err[0] == 0);
}

/* ---- CORIO_DEBUG=1
 * ---------------------------------------------------------------- */

TEST(debug, environment_enables_debug_mode)
{
    corio_options o = {.debug = 0, .virtual_clock = 1};
    setenv("CORIO_DEBUG", "1", 1);
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, misuse_main, NULL) == 0);
    const char *err = cap_end();
    CHECK_CAP(count_lines(err, "corio: warning:") == 3);

    cap_begin();
    CHECK_CAP(tst_run_ex(&o, orphan_main, NULL) == 0);
    err = cap_end();
    CHECK_CAP(line_with(err, "'orphan'", "never joined nor detached") != NULL);

    setenv("CORIO_DEBUG", "0", 1);
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, misuse_main, NULL) == 0);
    err = cap_end();
    CHECK_CAP(err[0] == 0);
    unsetenv("CORIO_DEBUG");
}

/* ---- the slow-shutdown report
 * ----------------------------------------------------- */

static int cleanup_slowly(void *arg)
{
    (void)arg;
    corio_sleep(3600 * CORIO_SECOND); /* cancelled when main returns */
    CHECK_EQ(corio_shield_begin(), 0);
    corio_sleep(1200 * CORIO_MS); /* a long shielded cleanup, real clock */
    corio_shield_end();
    return 0;
}

static int quick_main(void *arg)
{
    (void)arg;
    corio_task_opts o = {.name = "lingering"};
    CHECK_EQ(corio_task_spawn_ex(NULL, cleanup_slowly, NULL, &o), 0);
    CHECK_EQ(corio_yield(), 0);
    return 9;
}

TEST_T(debug, slow_shutdown_reported_after_1s, 20)
{
    start_clean();
    corio_options o = {.debug = 1, .virtual_clock = 0};
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, quick_main, NULL) == 9);
    const char *err = cap_end();
    const char *l = strstr(err, "still waiting");
    CHECK_CAP(l != NULL);
    CHECK_CAP(line_with(l, "lingering", "sleep") !=
              NULL); /* the dump follows */
}

/* ---- deadlock detection
 * ---------------------------------------------------------------- */

/* A wait nothing can end: no fd, no timer, no thread job.  The public API
 * cannot build one yet (every task has at most one joiner and main has
 * none, so join and group waits cannot form a cycle through main); later
 * sync primitives can, and this stands in for them. */
static int wait_forever(void *arg)
{
    int shield = arg != NULL;
    if (shield)
        CHECK_EQ(corio_shield_begin(), 0);
    corio__wait w = {NULL, "event", INT64_MAX};
    int rc = corio__park(&w);
    if (shield)
        corio_shield_end();
    return rc;
}

static int dl_join_rc = 1, dl_stuck_result = 1;

static int deadlock_main(void *arg)
{
    corio_task_opts o = {.name = "stuck"};
    corio_task *t;
    CHECK_EQ(corio_task_spawn_ex(&t, wait_forever, NULL, &o), 0);
    (void)arg;
    dl_join_rc = corio_task_join(t, &dl_stuck_result);
    return 42; /* the handle is still valid: the run's end cancels "stuck" */
}

static void deadlock_case(int virtual_clock)
{
    start_clean();
    corio_options o = {.virtual_clock = virtual_clock};
    dl_join_rc = 1;
    cap_begin();
    int rc = tst_run_ex(&o, deadlock_main, NULL);
    const char *err = cap_end();
    CHECK_CAP(rc == 42);
    CHECK_CAP(dl_join_rc == -ECANCELED);
    CHECK_CAP(strstr(err, "deadlock") != NULL);
    CHECK_CAP(line_with(err, "stuck", "event") != NULL); /* with a dump */
    CHECK_CAP(line_with(err, "main", "join") != NULL);
    CHECK_CAP(count_lines(err, "corio: deadlock") ==
              1); /* main's cancel did it */
    CHECK_CAP(strstr(err, "abandon") == NULL);
}

TEST(debug, deadlock_cancels_main_virtual_clock)
{
    deadlock_case(1);
}

TEST(debug, deadlock_cancels_main_real_clock)
{
    deadlock_case(0);
}

static int shielded_deadlock_main(void *arg)
{
    (void)arg;
    static int one = 1;
    corio_task_opts o = {.name = "stuck"};
    corio_task *t;
    CHECK_EQ(corio_task_spawn_ex(&t, wait_forever, &one, &o), 0);
    CHECK_EQ(corio_shield_begin(), 0);
    dl_join_rc = corio_task_join(t, NULL);
    corio_shield_end();
    return 43;
}

static void shielded_case(int virtual_clock)
{
    start_clean();
    corio_options o = {.virtual_clock = virtual_clock};
    cap_begin();
    int rc = tst_run_ex(&o, shielded_deadlock_main, NULL);
    const char *err = cap_end();
    CHECK_CAP(rc == CORIO_EABANDONED);
    CHECK_CAP(count_lines(err, "corio: deadlock:") >= 3); /* escalated */
    CHECK_CAP(strstr(err, "abandon") != NULL);
    CHECK_CAP(strcmp(corio_strerror(CORIO_EABANDONED), "") != 0);
}

TEST(debug, shielded_deadlock_escalates_virtual_clock)
{
    shielded_case(1);
}

TEST(debug, shielded_deadlock_escalates_real_clock)
{
    shielded_case(0);
}

/* No false alarm: a task waiting on a thread job, or on an fd, is not
 * deadlocked (virtual clock; the waits last 30 ms of real time). */
static int slow_release(void *arg)
{
    int fd = *(int *)arg;
    struct timespec d = {0, 30 * 1000 * 1000};
    nanosleep(&d, NULL); /* the loop blocks meanwhile */
    return (int)write(fd, "x", 1);
}

static void *late_writer(void *arg)
{
    slow_release(arg);
    return NULL;
}

static int no_false_alarm_main(void *arg)
{
    (void)arg;
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    int r = 0;
    CHECK_EQ(corio_to_thread(slow_release, &p[1], &r), 0);
    CHECK_EQ(r, 1);
    char c;
    CHECK_EQ(corio_fd_read(p[0], &c, 1), 1);
    /* Parked on an fd that only another thread will write to, with no
     * timer and no job: an outside peer may still wake it. */
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, late_writer, &p[1]), 0);
    CHECK_EQ(corio_fd_read(p[0], &c, 1), 1);
    pthread_join(th, NULL);
    corio_fd_close(p[0]);
    corio_fd_close(p[1]);
    return 0;
}

TEST(debug, no_deadlock_while_job_or_fd_pending)
{
    start_clean();
    cap_begin();
    CHECK_CAP(tst_run(no_false_alarm_main, NULL) == 0);
    const char *err = cap_end();
    CHECK_CAP(strstr(err, "deadlock") == NULL);
}

/* The newcomer's bug: an early return skips corio_timeout_end, and a later
 * unrelated wait fails.  Debug mode names the scope and where it began. */
static int poison_line;

static int skips_end(void)
{
    poison_line = __LINE__ + 1;
    int rc = corio_timeout_begin(CORIO_SECOND);
    if (rc < 0)
        return rc;
    rc = corio_sleep(2 * CORIO_SECOND);
    if (rc < 0)
        return rc; /* forgot corio_timeout_end() */
    return corio_timeout_end();
}

static int poisoned_main(void *arg)
{
    (void)arg;
    CHECK_EQ(skips_end(), -ETIMEDOUT);
    CHECK_EQ(corio_sleep(CORIO_MS), -ETIMEDOUT); /* poisoned */
    CHECK_EQ(corio_sleep(CORIO_MS), -ETIMEDOUT); /* named once only */
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    return 0;
}

TEST(debug, poisoned_wait_names_the_open_scope)
{
    start_clean();
    corio_options o = {.debug = 1, .virtual_clock = 1};
    cap_begin();
    CHECK_CAP(tst_run_ex(&o, poisoned_main, NULL) == 0);
    const char *err = cap_end();
    char where[64];
    snprintf(where, sizeof where, "test_debug.c:%d", poison_line);
    CHECK_CAP(count_lines(err, "expired before the wait began") == 1);
    CHECK_CAP(line_with(err, "expired before the wait began", where) != NULL);
}

/* ---- every loop (corio_run_loops) ---------------------------------------- */

static int never_set(void *arg)
{
    (void)arg;
    corio_event never;
    corio_event_init(&never);
    int rc = corio_event_wait(&never);
    corio_event_destroy(&never);
    return rc;
}

/* Each main calls into the next loop, where the call waits on an event no
 * one will set: every loop waits on another, and none can go on. */
static int call_ring_main(void *arg)
{
    (void)arg;
    size_t next = (corio_loop_index() + 1) % corio_loop_count();
    int result = 0;
    return corio_loop_call(corio_loop_at(next), never_set, NULL, &result);
}

TEST(debug, deadlock_across_loops_is_reported_by_every_loop)
{
    start_clean();
    for (size_t n = 2; n <= 4; n += 2) {
        corio_loops_opts o = {.loop = {.virtual_clock = 1}};
        int result = 0;
        cap_begin();
        int rc = corio_run_loops(n, &o, call_ring_main, NULL, &result);
        const char *err = cap_end();
        CHECK_CAP(rc == 0);
        CHECK_CAP(result == -ECANCELED); /* escalation 1: mains cancelled */
        CHECK_CAP(count_lines(err, "corio: deadlock across loops") == (int)n);
        for (size_t i = 0; i < n; i++) {
            char head[32];
            snprintf(head, sizeof head, "corio: loop %zu of %zu", i, n);
            CHECK_CAP(strstr(err, head) != NULL); /* its dump */
        }
        CHECK_CAP(line_with(err, "main", "loop call") != NULL);
        CHECK_CAP(line_with(err, "loop call", "event") != NULL);
        CHECK_CAP(strstr(err, "abandon") == NULL);
    }
}

/* Shielded, the cancellations change nothing: every loop escalates to
 * abandoning its run. */
static int never_set_shielded(void *arg)
{
    CHECK_EQ(corio_shield_begin(), 0);
    int rc = never_set(arg);
    corio_shield_end();
    return rc;
}

static int shielded_ring_main(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_shield_begin(), 0);
    size_t next = (corio_loop_index() + 1) % corio_loop_count();
    int result = 0;
    int rc =
        corio_loop_call(corio_loop_at(next), never_set_shielded, NULL, &result);
    corio_shield_end();
    return rc;
}

TEST(debug, shielded_deadlock_across_loops_escalates_to_abandon)
{
    start_clean();
    corio_loops_opts o = {.loop = {.virtual_clock = 1}};
    cap_begin();
    int rc = corio_run_loops(2, &o, shielded_ring_main, NULL, NULL);
    const char *err = cap_end();
    CHECK_CAP(rc == CORIO_EABANDONED);
    CHECK_CAP(count_lines(err, "corio: deadlock across loops") >= 6);
    CHECK_CAP(strstr(err, "abandon") != NULL);
}

static int sleeps_then_answers(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_sleep(20 * CORIO_MS), 0);
    return 7;
}

/* Loop 0 waits on nothing but a call to loop 1, whose task sleeps; the
 * other loops have nothing to do at all.  Not a deadlock: loop 1 has a
 * timer.  Real clock, so the loops do sit idle meanwhile. */
static int waits_on_a_sleeping_loop(void *arg)
{
    (void)arg;
    if (corio_loop_index() != 0)
        return 0;
    int result = -1;
    CHECK_EQ(
        corio_loop_call(corio_loop_at(1), sleeps_then_answers, NULL, &result),
        0);
    return result;
}

TEST(debug, loops_waiting_on_a_loop_with_a_timer_are_not_deadlocked)
{
    start_clean();
    for (size_t n = 2; n <= 4; n += 2) {
        int result = -1;
        cap_begin();
        int rc =
            corio_run_loops(n, NULL, waits_on_a_sleeping_loop, NULL, &result);
        const char *err = cap_end();
        CHECK_CAP(rc == 0);
        CHECK_CAP(result == 7);
        CHECK_CAP(strstr(err, "deadlock") == NULL);
    }
}

/* Debug mode is every loop's: a task hogging loop 1 is reported, named
 * with its loop. */
static int hog(void *arg)
{
    (void)arg;
    spin_ns(30 * CORIO_MS);
    return 0;
}

static int hog_on_loop_1(void *arg)
{
    (void)arg;
    if (corio_loop_index() != 1)
        return 0;
    corio_task_opts o = {.name = "hog"};
    corio_task *t;
    CHECK_EQ(corio_task_spawn_ex(&t, hog, NULL, &o), 0);
    return corio_task_join(t, NULL);
}

TEST(debug, slow_tasks_are_reported_on_every_loop)
{
    start_clean();
    corio_loops_opts o = {.loop = {.debug = 1,
                                   .virtual_clock = 1,
                                   .slow_task_ns = 10 * CORIO_MS}};
    cap_begin();
    int rc = corio_run_loops(2, &o, hog_on_loop_1, NULL, NULL);
    const char *err = cap_end();
    CHECK_CAP(rc == 0);
    CHECK_CAP(line_with(err, "'hog' on loop 1 ran", "without suspending") !=
              NULL);
}
