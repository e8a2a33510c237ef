/* test_sigint.c — SIGINT during corio_run cancels the main task (asyncio's
 * KeyboardInterrupt), whichever thread the signal lands on; the handler is
 * installed only over the default disposition and restored on return; a
 * second SIGINT while the cancellation is under way kills the process. */
#include "tst.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *disposition(void)
{
    struct sigaction sa;
    CHECK_EQ(sigaction(SIGINT, NULL, &sa), 0);
    return (void *)sa.sa_handler;
}

/* ---- SIGINT from a pool thread (kill to the process) while main sleeps --- */

static int kill_job(void *arg)
{
    (void)arg;
    /* Process-directed: pool threads block SIGINT, so another thread (the
     * loop's) takes it. */
    return kill(getpid(), SIGINT);
}

static int killer_task(void *arg)
{
    int *r = arg;
    /* The task may be cancelled by the end of the run; the job's own
     * result is what matters. */
    CORIO_IGNORE(corio_to_thread(kill_job, NULL, r));
    return 0;
}

static int sleep_rc = 1;
static void *handler_during_run;

static int sleeping_main(void *arg)
{
    (void)arg;
    static int kill_rc = -1;
    handler_during_run = disposition();
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, killer_task, &kill_rc), 0);
    /* An hour on the virtual clock; time stands still while the job is
     * pending, and the signal arrives before the job is reaped. */
    int64_t t0 = corio_now();
    sleep_rc = corio_sleep(3600 * CORIO_SECOND);
    CHECK(corio_now() - t0 < 3600 * CORIO_SECOND);
    /* Level-triggered: main stays cancelled. */
    CHECK_EQ(corio_yield(), -ECANCELED);
    /* Shielded, main can still wait for the killer to finish. */
    CHECK_EQ(corio_shield_begin(), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(corio_shield_end(), 0);
    CHECK_EQ(kill_rc, 0);
    return 55;
}

TEST(sigint, cancels_main_from_pool_thread_kill)
{
    CHECK(disposition() == (void *)SIG_DFL);
    CHECK_EQ(tst_run(sleeping_main, NULL), 55);
    CHECK_EQ(sleep_rc, -ECANCELED);
    CHECK(handler_during_run != (void *)SIG_DFL); /* corio installed one */
    CHECK(disposition() == (void *)SIG_DFL);      /* and restored it */
}

/* ---- SIGINT landing on a helper thread that does not block it -------------
 */

static void *raise_on_self(void *arg)
{
    (void)arg;
    /* Thread-directed at this thread: the handler runs here, not on the
     * loop's thread. */
    pthread_kill(pthread_self(), SIGINT);
    return NULL;
}

static int helper_main(void *arg)
{
    (void)arg;
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, raise_on_self, NULL), 0);
    /* Real clock: this sleep would last 10 s without the signal. */
    sleep_rc = corio_sleep(10 * CORIO_SECOND);
    pthread_join(th, NULL);
    return 66;
}

TEST(sigint, cancels_main_when_signal_lands_on_another_thread)
{
    corio_options o = {.virtual_clock = 0};
    CHECK_EQ(tst_run_ex(&o, helper_main, NULL), 66);
    CHECK_EQ(sleep_rc, -ECANCELED);
    CHECK(disposition() == (void *)SIG_DFL);
}

/* kill(getpid()) from a helper thread, whichever thread the kernel picks. */
static void *kill_process(void *arg)
{
    (void)arg;
    kill(getpid(), SIGINT);
    return NULL;
}

static int helper_kill_main(void *arg)
{
    (void)arg;
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, kill_process, NULL), 0);
    sleep_rc = corio_sleep(10 * CORIO_SECOND);
    pthread_join(th, NULL);
    return 67;
}

TEST(sigint, cancels_main_on_kill_from_helper_thread)
{
    corio_options o = {.virtual_clock = 0};
    CHECK_EQ(tst_run_ex(&o, helper_kill_main, NULL), 67);
    CHECK_EQ(sleep_rc, -ECANCELED);
    CHECK(disposition() == (void *)SIG_DFL);
}

/* Only main is cancelled: another task keeps its wait. */
static int other_rc = 1;

static int other_task(void *arg)
{
    int fd = *(int *)arg;
    char c;
    other_rc = (int)corio_fd_read(fd, &c, 1);
    return 0;
}

static int only_main_main(void *arg)
{
    (void)arg;
    int p[2];
    static int kill_rc;
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    corio_task *t, *k;
    CHECK_EQ(corio_task_spawn(&t, other_task, &p[0]), 0);
    CHECK_EQ(corio_task_spawn(&k, killer_task, &kill_rc), 0);
    sleep_rc = corio_sleep(3600 * CORIO_SECOND);
    CHECK_EQ(sleep_rc, -ECANCELED);
    /* main is cancelled; shielded, it can still wait, and the other task,
     * which was not cancelled, is still parked and gets its byte. */
    CHECK_EQ(corio_shield_begin(), 0);
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(corio_task_join(k, NULL), 0);
    CHECK_EQ(corio_shield_end(), 0);
    CHECK_EQ(other_rc, 1);
    CHECK_EQ(corio_yield(), -ECANCELED); /* still cancelled */
    return 0;
}

TEST(sigint, cancels_only_the_main_task)
{
    CHECK_EQ(tst_run(only_main_main, NULL), 0);
    CHECK_EQ(other_rc, 1);
}

/* ---- a handler installed by the user is left alone --------------------------
 */

static int user_pipe[2];
static atomic_int user_hits;

static void user_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&user_hits, 1);
    int saved = errno;
    if (write(user_pipe[1], "u", 1) < 0) {
        /* nothing to do */
    }
    errno = saved;
}

static int user_main(void *arg)
{
    (void)arg;
    int kill_rc = -1;
    handler_during_run = disposition();
    CHECK_EQ(corio_to_thread(kill_job, NULL, &kill_rc), 0);
    CHECK_EQ(kill_rc, 0);
    char c;
    CHECK_EQ(corio_fd_read(user_pipe[0], &c, 1),
             1); /* the user's handler ran */
    /* main was not cancelled. */
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    CHECK_EQ(corio_yield(), 0);
    return 77;
}

TEST(sigint, user_handler_is_left_alone)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = user_handler;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGINT, &sa, NULL), 0);
    CHECK_EQ(pipe2(user_pipe, O_CLOEXEC), 0);
    CHECK_EQ(tst_run(user_main, NULL), 77);
    CHECK(handler_during_run == (void *)user_handler);
    CHECK(disposition() == (void *)user_handler); /* not "restored" to DFL */
    CHECK_EQ(atomic_load(&user_hits), 1);
}

static int ignored_main(void *arg)
{
    (void)arg;
    handler_during_run = disposition();
    return 0;
}

TEST(sigint, ignored_disposition_is_left_alone)
{
    signal(SIGINT, SIG_IGN);
    CHECK_EQ(tst_run(ignored_main, NULL), 0);
    CHECK(handler_during_run == (void *)SIG_IGN);
    CHECK(disposition() == (void *)SIG_IGN);
}

/* ---- the handler is restored after every run, and a later run works
 * ---------- */

static int plain_main(void *arg)
{
    (void)arg;
    handler_during_run = disposition();
    return 3;
}

TEST(sigint, handler_restored_after_each_run)
{
    for (int i = 0; i < 3; i++) {
        handler_during_run = NULL;
        CHECK_EQ(tst_run(plain_main, NULL), 3);
        CHECK(handler_during_run != (void *)SIG_DFL);
        CHECK(disposition() == (void *)SIG_DFL);
    }
    /* A run after a SIGINT-cancelled one handles SIGINT again. */
    CHECK_EQ(tst_run(sleeping_main, NULL), 55);
    CHECK_EQ(sleep_rc, -ECANCELED);
    sleep_rc = 1;
    CHECK_EQ(tst_run(sleeping_main, NULL), 55);
    CHECK_EQ(sleep_rc, -ECANCELED);
    CHECK(disposition() == (void *)SIG_DFL);
}

/* ---- a second SIGINT during the cancellation kills the process
 * --------------- */

static int to_parent;

static int stubborn_main(void *arg)
{
    (void)arg;
    CHECK_EQ(write(to_parent, "r", 1), 1); /* ready for the first SIGINT */
    int rc = corio_sleep(10 * CORIO_SECOND);
    if (rc != -ECANCELED)
        return 10;
    /* Cancellation under way: clean up for a long time, shielded. */
    CHECK_EQ(corio_shield_begin(), 0);
    CHECK_EQ(write(to_parent, "c", 1), 1);
    rc = corio_sleep(3 * CORIO_SECOND);
    CHECK_EQ(corio_shield_end(), 0);
    return rc == 0 ? 11 : 12; /* survived the second SIGINT: wrong */
}

TEST(sigint, second_sigint_kills_the_process)
{
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        to_parent = p[1];
        corio_options o = {.virtual_clock = 0};
        int rc = tst_run_ex(&o, stubborn_main, NULL);
        _exit(rc == 11 ? 11 : 20 + (rc & 0xf));
    }
    close(p[1]);
    char c;
    CHECK_EQ(read(p[0], &c, 1), 1);
    CHECK_EQ(c, 'r');
    CHECK_EQ(kill(pid, SIGINT), 0);
    CHECK_EQ(read(p[0], &c, 1), 1);
    CHECK_EQ(c, 'c'); /* the first SIGINT cancelled main, which shielded */
    CHECK_EQ(kill(pid, SIGINT), 0);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st))
        fprintf(stderr, "    child exited with %d\n", WEXITSTATUS(st));
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), SIGINT);
}

/* ---- only the first loop of the process holds the SIGINT role
 * ---------------- */

typedef struct second_loop {
    int rc;
    int sleep_rc;
    int started[2];
} second_loop;

static int second_main(void *arg)
{
    second_loop *s = arg;
    CHECK_EQ(write(s->started[1], "s", 1), 1);
    s->sleep_rc = corio_sleep(200 * CORIO_MS);
    return 0;
}

static void *second_thread(void *arg)
{
    second_loop *s = arg;
    corio_options o = {.virtual_clock = 0};
    s->rc = tst_run_ex(&o, second_main, s);
    return NULL;
}

static int first_main(void *arg)
{
    second_loop *s = arg;
    pthread_t th;
    char c;
    CHECK_EQ(pthread_create(&th, NULL, second_thread, s), 0);
    CHECK_EQ(corio_fd_read(s->started[0], &c, 1), 1); /* its run is active */
    CHECK_EQ(kill(getpid(), SIGINT), 0);
    sleep_rc = corio_sleep(10 * CORIO_SECOND); /* real clock */
    pthread_join(th, NULL);
    return 88;
}

TEST(sigint, only_first_loop_is_cancelled)
{
    second_loop s = {0};
    CHECK_EQ(pipe2(s.started, O_CLOEXEC), 0);
    corio_options o = {.virtual_clock = 0};
    CHECK_EQ(tst_run_ex(&o, first_main, &s), 88);
    CHECK_EQ(sleep_rc, -ECANCELED);
    CHECK_EQ(s.rc, 0);
    CHECK_EQ(s.sleep_rc, 0); /* the second loop's main was not cancelled */
    CHECK(disposition() == (void *)SIG_DFL);
}
