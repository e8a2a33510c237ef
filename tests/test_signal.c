/* test_signal.c — corio_signal_*: a task waits for a signal sent before or
 * during the wait, from this thread or another; the loop thread's mask is
 * blocked while watched and restored on close (also when it was blocked
 * before, and with overlapping watchers); pending signals are discarded at
 * close; cancellation and timeouts; one waiter per watcher; SIGINT goes to
 * a watcher instead of cancelling main; invalid masks; no leaked fds. */
#include "tst.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int is_blocked(int sig)
{
    sigset_t cur;
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
    return sigismember(&cur, sig);
}

static sigset_t set_of(int a, int b)
{
    sigset_t s;
    sigemptyset(&s);
    if (a)
        sigaddset(&s, a);
    if (b)
        sigaddset(&s, b);
    return s;
}

/* ---- a signal sent before the wait is returned at once ------------------- */

static int before_main(void *arg)
{
    (void)arg;
    int fds0 = tst_count_fds();
    sigset_t s = set_of(SIGUSR1, SIGUSR2);
    corio_signal *w;
    int signo = 0;
    CHECK_EQ(is_blocked(SIGUSR1), 0);
    CHECK_EQ(corio_signal_open(&w, &s), 0);
    CHECK_EQ(is_blocked(SIGUSR1), 1);
    CHECK_EQ(is_blocked(SIGUSR2), 1);
    CHECK_EQ(corio_signal_try_wait(w, &signo), -EAGAIN);
    CHECK_EQ(kill(getpid(), SIGUSR2), 0);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_signal_wait(w, &signo), 0);
    CHECK_EQ(signo, SIGUSR2);
    CHECK_EQ(corio_now(), t0);
    /* Standard signals merge while pending. */
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    CHECK_EQ(corio_signal_try_wait(w, &signo), 0);
    CHECK_EQ(signo, SIGUSR1);
    CHECK_EQ(corio_signal_try_wait(w, &signo), -EAGAIN);
    corio_signal_close(w);
    CHECK_EQ(is_blocked(SIGUSR1), 0);
    CHECK_EQ(is_blocked(SIGUSR2), 0);
    CHECK_EQ(tst_count_fds(), fds0);
    return 0;
}

TEST(signal, sent_before_wait)
{
    CHECK_EQ(tst_run(before_main, NULL), 0);
}

/* ---- real-time signals queue --------------------------------------------- */

static int rt_main(void *arg)
{
    (void)arg;
    sigset_t s = set_of(SIGRTMIN + 1, 0);
    corio_signal *w;
    int signo;
    CHECK_EQ(corio_signal_open(&w, &s), 0);
    union sigval v = {0};
    for (int i = 0; i < 3; i++)
        CHECK_EQ(sigqueue(getpid(), SIGRTMIN + 1, v), 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(corio_signal_wait(w, &signo), 0);
        CHECK_EQ(signo, SIGRTMIN + 1);
    }
    CHECK_EQ(corio_signal_try_wait(w, &signo), -EAGAIN);
    corio_signal_close(w);
    return 0;
}

TEST(signal, realtime_signals_queue)
{
    CHECK_EQ(tst_run(rt_main, NULL), 0);
}

/* ---- a task parks until another task sends the signal -------------------- */

static int sender(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_sleep(2 * CORIO_SECOND), 0);
    return kill(getpid(), SIGTERM);
}

static int parked_main(void *arg)
{
    (void)arg;
    sigset_t s = set_of(SIGTERM, 0);
    corio_signal *w;
    int signo = 0;
    CHECK_EQ(corio_signal_open(&w, &s), 0);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, sender, NULL), 0);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_signal_wait(w, &signo), 0);
    CHECK_EQ(signo, SIGTERM);
    CHECK_EQ(corio_now() - t0, 2 * CORIO_SECOND);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_signal_close(w);
    return 0;
}

TEST(signal, wait_parks_until_signal)
{
    CHECK_EQ(tst_run(parked_main, NULL), 0);
}

/* ---- from another thread (process-directed, while the loop blocks) ------- */

static void *thread_sender(void *arg)
{
    (void)arg;
    usleep(20 * 1000);
    kill(getpid(), SIGHUP);
    return NULL;
}

static int thread_main(void *arg)
{
    (void)arg;
    sigset_t s = set_of(SIGHUP, 0);
    corio_signal *w;
    int signo = 0;
    /* The helper thread must block the signal too (signal.h says so). */
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &s, &old);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, thread_sender, NULL), 0);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    CHECK_EQ(corio_signal_open(&w, &s), 0);
    CHECK_EQ(corio_signal_wait(w, &signo), 0);
    CHECK_EQ(signo, SIGHUP);
    pthread_join(th, NULL);
    corio_signal_close(w);
    return 0;
}

TEST(signal, from_another_thread)
{
    CHECK_EQ(tst_run(thread_main, NULL), 0);
}

/* ---- masks: restored, kept when blocked before, shared by watchers ------- */

static int mask_main(void *arg)
{
    (void)arg;
    sigset_t u1 = set_of(SIGUSR1, 0), both = set_of(SIGUSR1, SIGUSR2);
    corio_signal *a, *b;
    /* SIGUSR2 blocked by the program before: stays blocked after close. */
    sigset_t u2 = set_of(SIGUSR2, 0);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &u2, NULL), 0);
    CHECK_EQ(corio_signal_open(&a, &u1), 0);
    CHECK_EQ(corio_signal_open(&b, &both), 0);
    CHECK_EQ(is_blocked(SIGUSR1), 1);
    corio_signal_close(a);
    CHECK_EQ(is_blocked(SIGUSR1), 1); /* b still watches it */
    corio_signal_close(b);
    CHECK_EQ(is_blocked(SIGUSR1), 0);
    CHECK_EQ(is_blocked(SIGUSR2), 1);
    CHECK_EQ(pthread_sigmask(SIG_UNBLOCK, &u2, NULL), 0);
    return 0;
}

TEST(signal, mask_restored_on_close)
{
    CHECK_EQ(tst_run(mask_main, NULL), 0);
}

/* A signal that arrived and was never waited for is discarded at close:
 * unblocking it must not kill the process (SIGUSR1's default action). */
static int discard_main(void *arg)
{
    (void)arg;
    sigset_t u1 = set_of(SIGUSR1, 0);
    corio_signal *a, *b;
    int signo;
    CHECK_EQ(corio_signal_open(&a, &u1), 0);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    corio_signal_close(a);
    sigset_t pend;
    CHECK_EQ(sigpending(&pend), 0);
    CHECK_EQ(sigismember(&pend, SIGUSR1), 0);
    /* With two watchers, closing one keeps the pending signal for the other. */
    CHECK_EQ(corio_signal_open(&a, &u1), 0);
    CHECK_EQ(corio_signal_open(&b, &u1), 0);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    corio_signal_close(a);
    CHECK_EQ(corio_signal_try_wait(b, &signo), 0);
    CHECK_EQ(signo, SIGUSR1);
    corio_signal_close(b);
    return 0;
}

TEST(signal, pending_discarded_at_close)
{
    CHECK_EQ(tst_run(discard_main, NULL), 0);
}

/* ---- cancellation, timeouts, one waiter ---------------------------------- */

typedef struct waiter_arg {
    corio_signal *w;
    int rc, signo;
} waiter_arg;

static int waiter(void *arg)
{
    waiter_arg *a = arg;
    a->rc = corio_signal_wait(a->w, &a->signo);
    return 0;
}

static int cancel_main(void *arg)
{
    (void)arg;
    sigset_t s = set_of(SIGUSR1, 0);
    waiter_arg a = {0}, b = {0};
    int signo;
    CHECK_EQ(corio_signal_open(&a.w, &s), 0);
    b.w = a.w;
    corio_task *ta, *tb;
    CHECK_EQ(corio_task_spawn(&ta, waiter, &a), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_task_spawn(&tb, waiter, &b), 0);
    CHECK_EQ(corio_task_join(tb, NULL), 0);
    CHECK_EQ(b.rc, -EBUSY); /* one waiter per watcher */
    corio_task_cancel(ta);
    CHECK_EQ(corio_task_join(ta, NULL), 0);
    CHECK_EQ(a.rc, -ECANCELED);
    /* The cancelled wait took nothing. */
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    CHECK_EQ(corio_signal_wait(a.w, &signo), 0);
    CHECK_EQ(signo, SIGUSR1);
    /* A timeout on the virtual clock. */
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(3 * CORIO_SECOND), 0);
    CHECK_EQ(corio_signal_wait(a.w, &signo), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 3 * CORIO_SECOND);
    corio_signal_close(a.w);
    return 0;
}

TEST(signal, cancel_timeout_one_waiter)
{
    CHECK_EQ(tst_run(cancel_main, NULL), 0);
}

/* ---- invalid use --------------------------------------------------------- */

static int invalid_main(void *arg)
{
    (void)arg;
    corio_signal *w = (corio_signal *)1;
    sigset_t empty, kill9 = set_of(SIGKILL, 0), segv = set_of(SIGUSR1, SIGSEGV);
    int signo;
    sigemptyset(&empty);
    CHECK_EQ(corio_signal_open(&w, &empty), -EINVAL);
    CHECK(w == NULL);
    CHECK_EQ(corio_signal_open(&w, NULL), -EINVAL);
    CHECK_EQ(corio_signal_open(&w, &kill9), -EINVAL);
    CHECK_EQ(corio_signal_open(&w, &segv), -EINVAL);
    CHECK_EQ(corio_signal_open(NULL, &kill9), -EINVAL);
    CHECK_EQ(corio_signal_wait(NULL, &signo), -EINVAL);
    corio_signal_close(NULL);
    CHECK_EQ(is_blocked(SIGUSR1), 0);
    return 0;
}

TEST(signal, invalid)
{
    CHECK_EQ(tst_run(invalid_main, NULL), 0);
    sigset_t s = set_of(SIGUSR1, 0);
    corio_signal *w;
    CHECK_EQ(corio_signal_open(&w, &s), -EPERM); /* no loop */
}

/* ---- SIGINT goes to a watcher instead of cancelling main ----------------- */

static int sigint_main(void *arg)
{
    (void)arg;
    sigset_t s = set_of(SIGINT, 0);
    corio_signal *w;
    int signo;
    CHECK_EQ(corio_signal_open(&w, &s), 0);
    CHECK_EQ(kill(getpid(), SIGINT), 0);
    CHECK_EQ(corio_signal_wait(w, &signo), 0);
    CHECK_EQ(signo, SIGINT);
    CHECK_EQ(corio_yield(), 0); /* main was not cancelled */
    corio_signal_close(w);
    /* Unwatched again: SIGINT cancels main as usual. */
    CHECK_EQ(kill(getpid(), SIGINT), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), -ECANCELED);
    return 7;
}

TEST(signal, sigint_to_watcher_then_cancels_main)
{
    CHECK_EQ(tst_run(sigint_main, NULL), 7);
}
