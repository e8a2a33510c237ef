/* test_process.c — corio_process_*: spawn with pipes, /dev/null, merged
 * stderr, env and cwd; exec failures; exit codes and signals; wait from
 * several tasks and the driver's hand-over; kill; communicate (large data
 * both ways, the output limit, a child that ignores its input); a timeout
 * kills the child; close kills and reaps; the pidfd-less fallback; the
 * child's descriptors and signal mask; a fault sweep.  After every test:
 * no zombie (waitid(P_ALL) finds no child) and no leaked descriptor.
 *
 * Tests that put a deadline on a real child run on the real clock with
 * short bounded times (on the virtual clock such a deadline passes at
 * once). */
#include "tst.h"

#include "os/sys.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* No child of this process is left, zombie or running. */
static void check_no_children(void)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int rc = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
    CHECK(rc < 0 && errno == ECHILD);
}

static corio_options real_clock = {0};

/* Run body on the virtual clock, then check for leaks. */
#define RUN(fn) CHECK_EQ(tst_run(fn, NULL), 0)

static int fds_at_start;

/* ---- pipes, read as streams ---------------------------------------------- */

static int pipes_main(void *arg)
{
    (void)arg;
    fds_at_start = tst_count_fds();
    const char *argv[] = {
        "sh", "-c", "echo hello; echo world; echo oops >&2; exit 3", NULL};
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_PIPE,
                            .stderr_mode = CORIO_STDIO_PIPE};
    corio_process *p;
    char line[64];
    CHECK_EQ(corio_process_spawn(&p, argv, &o), 0);
    CHECK(corio_process_pid(p) > 0);
    CHECK(corio_process_stdin(p) == NULL);
    CHECK(corio_process_stdout(p) != NULL);
    CHECK(corio_process_stderr(p) != NULL);
    CHECK_EQ(corio_stream_read_line(corio_process_stdout(p), line, sizeof line),
             6);
    CHECK(strcmp(line, "hello\n") == 0);
    CHECK_EQ(corio_stream_read_line(corio_process_stdout(p), line, sizeof line),
             6);
    CHECK(strcmp(line, "world\n") == 0);
    CHECK_EQ(corio_stream_read_line(corio_process_stdout(p), line, sizeof line),
             0);
    CHECK_EQ(corio_stream_read_line(corio_process_stderr(p), line, sizeof line),
             5);
    CHECK(strcmp(line, "oops\n") == 0);
    int status = -1;
    CHECK_EQ(corio_process_wait(p, &status), 0);
    CHECK_EQ(status, 3);
    status = -1;
    CHECK_EQ(corio_process_wait(p, &status), 0); /* again: same status */
    CHECK_EQ(status, 3);
    CHECK_EQ(corio_process_poll(p, &status), 0);
    CHECK_EQ(corio_process_kill(p, SIGTERM), -ESRCH);
    corio_process_close(p);
    CHECK_EQ(tst_count_fds(), fds_at_start);
    check_no_children();
    return 0;
}

TEST(process, pipes_as_streams_and_exit_code)
{
    RUN(pipes_main);
}

/* ---- communicate --------------------------------------------------------- */

static int communicate_main(void *arg)
{
    (void)arg;
    fds_at_start = tst_count_fds();
    const char *argv[] = {"sort", NULL};
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE,
                            .stdout_mode = CORIO_STDIO_PIPE,
                            .stderr_mode = CORIO_STDIO_PIPE};
    corio_process *p;
    corio_process_output out;
    CHECK_EQ(corio_process_spawn(&p, argv, &o), 0);
    CHECK_EQ(corio_process_communicate(p, "pear\napple\nfig\n", 15, 0, &out),
             0);
    CHECK_EQ(out.status, 0);
    CHECK_EQ(out.out_len, 15);
    CHECK(strcmp(out.out, "apple\nfig\npear\n") == 0);
    CHECK_EQ(out.err_len, 0);
    CHECK(out.err && out.err[0] == 0);
    corio_process_output_destroy(&out);
    CHECK(out.out == NULL);
    corio_process_close(p);

    /* Stdout only piped; no input (stdin inherited from the test: /dev/null
     * for "true" does not matter). */
    const char *argv2[] = {"sh", "-c", "printf abc; exit 5", NULL};
    corio_process_opts o2 = {.stdout_mode = CORIO_STDIO_PIPE};
    CHECK_EQ(corio_process_spawn(&p, argv2, &o2), 0);
    CHECK_EQ(corio_process_communicate(p, "x", 1, 0, &out),
             -EINVAL); /* no stdin pipe */
    CHECK_EQ(corio_process_communicate(p, NULL, 0, 0, &out), 0);
    CHECK_EQ(out.status, 5);
    CHECK(strcmp(out.out, "abc") == 0);
    CHECK(out.err == NULL);
    corio_process_output_destroy(&out);
    corio_process_close(p);

    CHECK_EQ(tst_count_fds(), fds_at_start);
    check_no_children();
    return 0;
}

TEST(process, communicate)
{
    RUN(communicate_main);
}

/* Megabytes both ways through cat: reading and writing at once, so
 * neither pipe can fill up and deadlock. */
static int big_main(void *arg)
{
    (void)arg;
    size_t n = 4 * 1024 * 1024 + 3;
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i * 131 % 251);
    const char *argv[] = {"cat", NULL};
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE,
                            .stdout_mode = CORIO_STDIO_PIPE};
    corio_process *p;
    corio_process_output out;
    CHECK_EQ(corio_process_spawn(&p, argv, &o), 0);
    CHECK_EQ(corio_process_communicate(p, data, n, 0, &out), 0);
    CHECK_EQ(out.status, 0);
    CHECK_EQ(out.out_len, n);
    CHECK(memcmp(out.out, data, n) == 0);
    corio_process_output_destroy(&out);
    corio_process_close(p);

    /* Over the output limit: -EFBIG, the child killed, the first bytes kept. */
    CHECK_EQ(corio_process_spawn(&p, argv, &o), 0);
    CHECK_EQ(corio_process_communicate(p, data, n, 100000, &out), -EFBIG);
    CHECK_EQ(out.out_len, 100000);
    CHECK(memcmp(out.out, data, 100000) == 0);
    CHECK(out.status == -SIGKILL || out.status == -SIGPIPE || out.status == 1);
    corio_process_output_destroy(&out);
    corio_process_close(p);
    free(data);
    check_no_children();
    return 0;
}

TEST(process, communicate_megabytes_and_output_limit)
{
    RUN(big_main);
}

/* A child that exits without reading its input: no SIGPIPE death, no
 * error, and SIGPIPE is unblocked again afterwards. */
static int ignores_input_main(void *arg)
{
    (void)arg;
    size_t n = 1024 * 1024;
    char *data = calloc(1, n);
    const char *argv[] = {"sh", "-c", "exec 0<&-; echo done", NULL};
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE,
                            .stdout_mode = CORIO_STDIO_PIPE};
    corio_process *p;
    corio_process_output out;
    CHECK_EQ(corio_process_spawn(&p, argv, &o), 0);
    CHECK_EQ(corio_process_communicate(p, data, n, 0, &out), 0);
    CHECK_EQ(out.status, 0);
    CHECK(strcmp(out.out, "done\n") == 0);
    corio_process_output_destroy(&out);
    corio_process_close(p);
    sigset_t cur, pend;
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
    CHECK_EQ(sigismember(&cur, SIGPIPE), 0);
    CHECK_EQ(sigpending(&pend), 0);
    CHECK_EQ(sigismember(&pend, SIGPIPE), 0);
    free(data);
    check_no_children();
    return 0;
}

TEST(process, child_ignoring_input_is_not_an_error)
{
    CHECK(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
    RUN(ignores_input_main);
}

/* ---- stdio modes, env, cwd ----------------------------------------------- */

static int modes_main(void *arg)
{
    (void)arg;
    corio_process *p;
    corio_process_output out;
    /* 2>&1 */
    const char *a1[] = {"sh", "-c", "echo out; echo err >&2; echo out2", NULL};
    corio_process_opts o1 = {.stdout_mode = CORIO_STDIO_PIPE,
                             .stderr_mode = CORIO_STDIO_STDOUT};
    CHECK_EQ(corio_process_spawn(&p, a1, &o1), 0);
    CHECK(corio_process_stderr(p) == NULL);
    CHECK_EQ(corio_process_communicate(p, NULL, 0, 0, &out), 0);
    CHECK(strcmp(out.out, "out\nerr\nout2\n") == 0);
    corio_process_output_destroy(&out);
    corio_process_close(p);

    /* /dev/null in and out: cat reads nothing and writes nowhere. */
    const char *a2[] = {"sh", "-c", "cat; echo x >&2; ls -l /proc/self/fd/1",
                        NULL};
    corio_process_opts o2 = {.stdin_mode = CORIO_STDIO_DEVNULL,
                             .stdout_mode = CORIO_STDIO_DEVNULL,
                             .stderr_mode = CORIO_STDIO_PIPE};
    CHECK_EQ(corio_process_spawn(&p, a2, &o2), 0);
    CHECK_EQ(corio_process_communicate(p, NULL, 0, 0, &out), 0);
    CHECK_EQ(out.status, 0);
    CHECK(out.out == NULL);
    CHECK(strcmp(out.err, "x\n") == 0);
    corio_process_output_destroy(&out);
    corio_process_close(p);

    /* env replaces the environment; PATH comes from it; cwd. */
    const char *env[] = {"FOO=bar baz", "PATH=/usr/bin:/bin", NULL};
    const char *a3[] = {"sh", "-c", "echo \"$FOO\"; pwd; echo ${HOME:-nohome}",
                        NULL};
    corio_process_opts o3 = {
        .stdout_mode = CORIO_STDIO_PIPE, .env = env, .cwd = "/"};
    CHECK_EQ(corio_process_spawn(&p, a3, &o3), 0);
    CHECK_EQ(corio_process_communicate(p, NULL, 0, 0, &out), 0);
    CHECK(strcmp(out.out, "bar baz\n/\nnohome\n") == 0);
    corio_process_output_destroy(&out);
    corio_process_close(p);

    /* A PATH without the program: not found. */
    const char *env2[] = {"PATH=/nonexistent-dir:", NULL};
    corio_process_opts o4 = {.env = env2, .cwd = "/"};
    CHECK_EQ(corio_process_spawn(&p, (const char *[]){"sh", NULL}, &o4),
             -ENOENT);
    check_no_children();
    return 0;
}

TEST(process, stdio_modes_env_cwd)
{
    RUN(modes_main);
}

/* ---- exec failures ------------------------------------------------------- */

/* Options that open descriptors before the spawn fails (none may leak). */
static const corio_process_opts piped = {.stdin_mode = CORIO_STDIO_PIPE,
                                         .stdout_mode = CORIO_STDIO_PIPE,
                                         .stderr_mode = CORIO_STDIO_DEVNULL};

static int failures_main(void *arg)
{
    (void)arg;
    fds_at_start = tst_count_fds();
    corio_process *p = (corio_process *)1;
    const corio_process_opts o = piped;
    CHECK_EQ(corio_process_spawn(
                 &p, (const char *[]){"corio-no-such-program", NULL}, &o),
             -ENOENT);
    CHECK(p == NULL);
    CHECK_EQ(
        corio_process_spawn(&p, (const char *[]){"/no/such/file", NULL}, &o),
        -ENOENT);
    CHECK_EQ(corio_process_spawn(&p, (const char *[]){"/etc/passwd", NULL}, &o),
             -EACCES);
    CHECK_EQ(corio_process_spawn(&p, (const char *[]){"/", NULL}, &o), -EACCES);
    corio_process_opts bad_cwd = {.cwd = "/no/such/dir"};
    CHECK_EQ(corio_process_spawn(&p, (const char *[]){"true", NULL}, &bad_cwd),
             -ENOENT);
    CHECK_EQ(tst_count_fds(), fds_at_start);
    check_no_children();
    return 0;
}

TEST(process, exec_failures)
{
    RUN(failures_main);
}

static int misuse_main(void *arg)
{
    (void)arg;
    fds_at_start = tst_count_fds();
    corio_process *p = (corio_process *)1;
    const corio_process_opts o = piped;
    CHECK_EQ(corio_process_spawn(&p, NULL, &o), -EINVAL);
    CHECK(p == NULL);
    CHECK_EQ(corio_process_spawn(&p, (const char *[]){NULL}, &o), -EINVAL);
    corio_process_opts m1 = {.stdin_mode = CORIO_STDIO_STDOUT};
    CHECK_EQ(corio_process_spawn(&p, (const char *[]){"true", NULL}, &m1),
             -EINVAL);
    corio_process_opts m2 = {.stdout_mode = 99};
    CHECK_EQ(corio_process_spawn(&p, (const char *[]){"true", NULL}, &m2),
             -EINVAL);
    CHECK_EQ(corio_process_spawn(NULL, (const char *[]){"true", NULL}, &o),
             -EINVAL);
    CHECK_EQ(corio_process_wait(NULL, NULL), -EINVAL);
    CHECK_EQ(corio_process_kill(NULL, SIGTERM), -EINVAL);
    corio_process_close(NULL);
    CHECK_EQ(corio_process_pid(NULL), -1);
    CHECK_EQ(tst_count_fds(), fds_at_start);
    check_no_children();
    return 0;
}

TEST(process, misuse_is_einval)
{
    RUN(misuse_main);
}

/* Already cancelled: nothing starts. */
static int cancelled_main(void *arg)
{
    (void)arg;
    corio_process *p;
    fds_at_start = tst_count_fds();
    corio_task_cancel(corio_task_current());
    CHECK_EQ(corio_process_spawn(&p, (const char *[]){"true", NULL}, NULL),
             -ECANCELED);
    CHECK_EQ(tst_count_fds(), fds_at_start);
    check_no_children();
    return 0;
}

TEST(process, spawn_when_cancelled_starts_nothing)
{
    RUN(cancelled_main);
}

TEST(process, spawn_outside_a_loop_is_eperm)
{
    corio_process *p;
    CHECK_EQ(corio_process_spawn(&p, (const char *[]){"true", NULL}, NULL),
             -EPERM);
}

/* ---- signals, kill, close ------------------------------------------------ */

static int kill_main(void *arg)
{
    (void)arg;
    fds_at_start = tst_count_fds();
    corio_process *p;
    int status;
    CHECK_EQ(
        corio_process_spawn(&p, (const char *[]){"sleep", "10", NULL}, NULL),
        0);
    CHECK_EQ(corio_process_poll(p, &status), -EAGAIN);
    CHECK_EQ(corio_process_kill(p, 0), 0);
    CHECK_EQ(corio_process_kill(p, -1), -EINVAL);
    CHECK_EQ(corio_process_kill(p, SIGTERM), 0);
    CHECK_EQ(corio_process_wait(p, &status), 0);
    CHECK_EQ(status, -SIGTERM);
    CHECK_EQ(corio_process_kill(p, SIGKILL), -ESRCH);
    corio_process_close(p);

    /* close kills and reaps a running child. */
    CHECK_EQ(
        corio_process_spawn(&p, (const char *[]){"sleep", "10", NULL}, NULL),
        0);
    pid_t pid = corio_process_pid(p);
    int64_t t0 = tst_real_ns();
    corio_process_close(p);
    CHECK(tst_real_ns() - t0 < 5 * CORIO_SECOND);
    CHECK(kill(pid, 0) < 0 && errno == ESRCH);
    CHECK_EQ(tst_count_fds(), fds_at_start);
    check_no_children();
    return 0;
}

TEST(process, kill_and_close_reap)
{
    RUN(kill_main);
}

static int selfkill_main(void *arg)
{
    (void)arg;
    corio_process *p;
    int status;
    CHECK_EQ(corio_process_spawn(
                 &p, (const char *[]){"sh", "-c", "kill -USR1 $$", NULL}, NULL),
             0);
    CHECK_EQ(corio_process_wait(p, &status), 0);
    CHECK_EQ(status, -SIGUSR1);
    corio_process_close(p);
    return 0;
}

TEST(process, status_of_a_signalled_child)
{
    RUN(selfkill_main);
}

/* ---- timeouts (real clock) ----------------------------------------------- */

static int timeout_main(void *arg)
{
    (void)arg;
    fds_at_start = tst_count_fds();
    corio_process *p;
    corio_process_output out;
    int status;
    /* A timeout around communicate kills the child. */
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE,
                            .stdout_mode = CORIO_STDIO_PIPE};
    CHECK_EQ(
        corio_process_spawn(
            &p,
            (const char *[]){"sh", "-c", "echo partial; exec sleep 10", NULL},
            &o),
        0);
    pid_t pid = corio_process_pid(p);
    int64_t t0 = tst_real_ns();
    CHECK_EQ(corio_timeout_begin(100 * CORIO_MS), 0);
    CHECK_EQ(corio_process_communicate(p, "in", 2, 0, &out), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    int64_t took = tst_real_ns() - t0;
    CHECK(took >= 100 * CORIO_MS && took < 5 * CORIO_SECOND);
    CHECK_EQ(out.status, -SIGKILL);
    CHECK(strcmp(out.out, "partial\n") == 0); /* what was read is kept */
    corio_process_output_destroy(&out);
    CHECK(kill(pid, 0) < 0 && errno == ESRCH); /* reaped: no zombie */
    CHECK_EQ(corio_process_wait(p, &status), 0);
    CHECK_EQ(status, -SIGKILL);
    corio_process_close(p);

    /* A timeout around wait leaves the child running; close then kills. */
    CHECK_EQ(
        corio_process_spawn(&p, (const char *[]){"sleep", "10", NULL}, NULL),
        0);
    CHECK_EQ(corio_timeout_begin(50 * CORIO_MS), 0);
    CHECK_EQ(corio_process_wait(p, &status), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_process_kill(p, 0), 0); /* still ours, still there */
    corio_process_close(p);

    CHECK_EQ(tst_count_fds(), fds_at_start);
    check_no_children();
    return 0;
}

TEST(process, timeout_kills_the_child)
{
    CHECK_EQ(tst_run_ex(&real_clock, timeout_main, NULL), 0);
}

/* Cancelling a task in communicate kills the child too. */
typedef struct comm_arg {
    corio_process *p;
    corio_process_output out;
    int rc;
} comm_arg;

static int communicator(void *arg)
{
    comm_arg *a = arg;
    a->rc = corio_process_communicate(a->p, NULL, 0, 0, &a->out);
    return 0;
}

static int cancel_comm_main(void *arg)
{
    (void)arg;
    comm_arg a = {0};
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_PIPE};
    CHECK_EQ(
        corio_process_spawn(&a.p, (const char *[]){"sleep", "10", NULL}, &o),
        0);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, communicator, &a), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_process_output other;
    CHECK_EQ(corio_process_communicate(a.p, NULL, 0, 0, &other), -EBUSY);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(a.rc, -ECANCELED);
    CHECK_EQ(a.out.status, -SIGKILL);
    corio_process_output_destroy(&a.out);
    corio_process_close(a.p);
    check_no_children();
    return 0;
}

TEST(process, cancelled_communicate_kills_the_child)
{
    RUN(cancel_comm_main);
}

/* ---- several waiters ----------------------------------------------------- */

typedef struct wait_arg {
    corio_process *p;
    int rc, status;
} wait_arg;

static int waiter(void *arg)
{
    wait_arg *a = arg;
    a->rc = corio_process_wait(a->p, &a->status);
    return 0;
}

static int waiters_main(void *arg)
{
    (void)arg;
    corio_process *p;
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE};
    /* The child exits when its stdin closes. */
    CHECK_EQ(corio_process_spawn(
                 &p, (const char *[]){"sh", "-c", "read x; exit 7", NULL}, &o),
             0);
    wait_arg a[4];
    corio_task *t[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (wait_arg){p, 1, 0};
        CHECK_EQ(corio_task_spawn(&t[i], waiter, &a[i]), 0);
    }
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_yield(), 0);
    /* Cancel the first waiter (the one watching the pidfd) and another:
     * the rest carry on. */
    corio_task_cancel(t[0]);
    corio_task_cancel(t[2]);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_stream_shutdown(corio_process_stdin(p)), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(corio_task_join(t[i], NULL), 0);
    CHECK_EQ(a[0].rc, -ECANCELED);
    CHECK_EQ(a[2].rc, -ECANCELED);
    CHECK_EQ(a[1].rc, 0);
    CHECK_EQ(a[1].status, 7);
    CHECK_EQ(a[3].rc, 0);
    CHECK_EQ(a[3].status, 7);
    corio_process_close(p);
    check_no_children();
    return 0;
}

TEST(process, several_waiters_and_driver_hand_over)
{
    RUN(waiters_main);
}

/* ---- without pidfd: polling ---------------------------------------------- */

static int no_pidfd(pid_t pid, unsigned int flags)
{
    (void)pid;
    (void)flags;
    errno = ENOSYS;
    return -1;
}

static int fallback_main(void *arg)
{
    (void)arg;
    fds_at_start = tst_count_fds();
    corio_process *p;
    int status;
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_PIPE};
    CHECK_EQ(
        corio_process_spawn(
            &p,
            (const char *[]){"sh", "-c", "sleep 0.05; echo hi; exit 4", NULL},
            &o),
        0);
    int64_t t0 = tst_real_ns();
    corio_process_output out;
    CHECK_EQ(corio_process_communicate(p, NULL, 0, 0, &out), 0);
    CHECK_EQ(out.status, 4);
    CHECK(strcmp(out.out, "hi\n") == 0);
    CHECK(tst_real_ns() - t0 < 5 * CORIO_SECOND);
    corio_process_output_destroy(&out);
    corio_process_close(p);
    /* Timeout, then close kills and reaps (blocking waitid). */
    CHECK_EQ(
        corio_process_spawn(&p, (const char *[]){"sleep", "10", NULL}, NULL),
        0);
    CHECK_EQ(corio_timeout_begin(30 * CORIO_MS), 0);
    CHECK_EQ(corio_process_wait(p, &status), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    corio_process_close(p);
    CHECK_EQ(tst_count_fds(), fds_at_start);
    check_no_children();
    return 0;
}

TEST(process, without_pidfd_polls)
{
    corio__sys.pidfd_open = no_pidfd;
    CHECK_EQ(tst_run_ex(&real_clock, fallback_main, NULL), 0);
}

/* ---- what the child inherits --------------------------------------------- */

static int inherit_main(void *arg)
{
    (void)arg;
    /* A descriptor opened without O_CLOEXEC is not inherited (close_range
     * in the child), nor one with it. */
    int plain = open("/dev/null", O_RDONLY);
    int cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(plain >= 3 && cloexec >= 3);
    char script[200];
    snprintf(script, sizeof script,
             "for fd in %d %d; do if [ -e /proc/self/fd/$fd ]; then echo open; "
             "else echo closed; fi; done; "
             "grep SigBlk /proc/self/status",
             plain, cloexec);
    /* A watched signal is blocked in the loop thread, not in the child. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGTERM);
    corio_signal *w;
    CHECK_EQ(corio_signal_open(&w, &s), 0);
    corio_process *p;
    corio_process_output out;
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_PIPE};
    CHECK_EQ(
        corio_process_spawn(&p, (const char *[]){"sh", "-c", script, NULL}, &o),
        0);
    CHECK_EQ(corio_process_communicate(p, NULL, 0, 0, &out), 0);
    /* [ -e /proc/self/fd/N ] is evaluated by the shell itself. */
    CHECK(strstr(out.out, "closed\nclosed\n") == out.out);
    CHECK(strstr(out.out, "SigBlk:\t0000000000000000") != NULL);
    corio_process_output_destroy(&out);
    corio_process_close(p);
    corio_signal_close(w);
    close(plain);
    close(cloexec);
    return 0;
}

TEST(process, child_gets_no_extra_fds_and_a_clean_mask)
{
    RUN(inherit_main);
}

/* Standard descriptors closed in the parent: the pipes land on 0..2 and the
 * child still gets them in the right places. */
static int low_fds_main(void *arg)
{
    (void)arg;
    corio_process *p;
    corio_process_output out;
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE,
                            .stdout_mode = CORIO_STDIO_PIPE,
                            .stderr_mode = CORIO_STDIO_PIPE};
    CHECK_EQ(corio_process_spawn(
                 &p, (const char *[]){"sh", "-c", "cat; echo e >&2", NULL}, &o),
             0);
    CHECK_EQ(corio_process_communicate(p, "in\n", 3, 0, &out), 0);
    CHECK(strcmp(out.out, "in\n") == 0);
    CHECK(strcmp(out.err, "e\n") == 0);
    corio_process_output_destroy(&out);
    corio_process_close(p);
    return 0;
}

TEST(process, parent_without_standard_fds)
{
    int saved[3];
    for (int i = 0; i < 3; i++) {
        saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
        close(i);
    }
    int rc = tst_run(low_fds_main, NULL);
    for (int i = 0; i < 3; i++)
        dup2(saved[i], i);
    CHECK_EQ(rc, 0);
}

/* ---- fault sweep --------------------------------------------------------- */

static int sweep_scenario(void *arg)
{
    (void)arg;
    corio_process *p;
    corio_process_output out;
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_PIPE,
                            .stdout_mode = CORIO_STDIO_PIPE,
                            .stderr_mode = CORIO_STDIO_DEVNULL};
    int rc = corio_process_spawn(&p, (const char *[]){"cat", NULL}, &o);
    if (rc < 0)
        return rc;
    rc = corio_process_communicate(p, "abc", 3, 0, &out);
    if (rc == 0 && (out.status != 0 || strcmp(out.out, "abc") != 0))
        rc = -EPROTO;
    corio_process_output_destroy(&out);
    corio_process_close(p);
    return rc;
}

TEST_T(process, fault_sweep, 120)
{
    corio_options o = {.virtual_clock = 1};
    CHECK_EQ(tst_run_ex(&o, sweep_scenario, NULL), 0);
    int fds0 = tst_count_fds();
    long n;
    int failures = 0;
    for (n = 1;; n++) {
        corio__fault_arm(n, ENOMEM);
        int rc = tst_run_ex(&o, sweep_scenario, NULL);
        int fired = corio__fault_fired();
        corio__fault_disarm();
        if (!fired) {
            CHECK_EQ(rc, 0);
            break;
        }
        failures += rc < 0;
        CHECK_EQ(tst_count_fds(), fds0);
        check_no_children();
        CHECK_EQ(tst_run_ex(&o, sweep_scenario, NULL), 0);
    }
    CHECK(n > 20);
    CHECK(failures > 0);
    tst_leak_check();
}

/* A timeout in communicate while another task waits on the same child (as
 * the pidfd's driver): the kill reaches both, and the pidfd is closed by
 * whichever task holds it last. */
static int comm_and_wait_main(void *arg)
{
    (void)arg;
    fds_at_start = tst_count_fds();
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_PIPE};
    corio_process *p;
    CHECK_EQ(corio_process_spawn(&p, (const char *[]){"sleep", "10", NULL}, &o),
             0);
    wait_arg w = {p, 1, 0};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, waiter, &w), 0);
    CHECK_EQ(corio_yield(), 0); /* the waiter drives the pidfd */
    corio_process_output out;
    CHECK_EQ(corio_timeout_begin(50 * CORIO_MS), 0);
    CHECK_EQ(corio_process_communicate(p, NULL, 0, 0, &out), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(out.status, -SIGKILL);
    corio_process_output_destroy(&out);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(w.rc, 0);
    CHECK_EQ(w.status, -SIGKILL);
    corio_process_close(p);

    /* poll() reaping while a waiter is parked on the pidfd. */
    corio_process_opts in = {.stdin_mode = CORIO_STDIO_PIPE};
    CHECK_EQ(corio_process_spawn(
                 &p, (const char *[]){"sh", "-c", "read x; exit 9", NULL}, &in),
             0);
    w = (wait_arg){p, 1, 0};
    CHECK_EQ(corio_task_spawn(&t, waiter, &w), 0);
    CHECK_EQ(corio_yield(), 0); /* parked on the pidfd: the child reads */
    int status = -1;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    /* Let the child exit (blocking this thread, so the waiter cannot run)
     * without reaping it, then reap through poll. */
    CHECK_EQ(corio_stream_shutdown(corio_process_stdin(p)), 0);
    CHECK_EQ(waitid(P_PID, (id_t)corio_process_pid(p), &si, WEXITED | WNOWAIT),
             0);
    CHECK_EQ(corio_process_poll(p, &status), 0);
    CHECK_EQ(status, 9);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(w.rc, 0);
    CHECK_EQ(w.status, 9);
    corio_process_close(p);
    CHECK_EQ(tst_count_fds(), fds_at_start);
    check_no_children();
    return 0;
}

TEST(process, timeout_while_another_task_waits)
{
    CHECK_EQ(tst_run_ex(&real_clock, comm_and_wait_main, NULL), 0);
}
