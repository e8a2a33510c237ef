/* proc/signal.c — corio_signal_*: signals read from a signalfd that a task
 * waits on like any other descriptor.
 *
 * A signalfd only sees signals that are blocked (otherwise they are
 * delivered the usual way first), and blocking is per thread, so the loop
 * thread keeps a per-thread registry:
 *   refs[sig]     open watchers of sig on this thread;
 *   blocked_by_us the signals this file blocked because they were not
 *                 blocked when their first watcher opened: exactly the ones
 *                 to unblock when their last watcher closes, and the ones a
 *                 child process must not inherit blocked
 *                 (corio__signal_child_mask, used by io/process.c).
 *
 * Closing the last watcher of a signal first drains what is pending of it
 * through the watcher's own signalfd (narrowed to those signals), so that
 * unblocking cannot deliver a stale SIGTERM with its default action. */
#include "core/loop.h"
#include "proc/sigwatch.h"

#include <corio/signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct corio_signal {
    int fd;
    sigset_t mask;
    pthread_t thread;
    corio_task *waiter; /* the task inside corio_signal_wait, if any */
    bool closing;       /* closed while waited on: the waiter frees */
};

static CORIO__TLS unsigned short refs[_NSIG];
static CORIO__TLS sigset_t blocked_by_us; /* zero-initialised = empty */

/* Signals the kernel raises for faults, and the two that cannot be
 * blocked: never watchable. */
static const int unwatchable[] = {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS,
                                  SIGFPE,  SIGILL,  SIGTRAP, SIGSYS};

void corio__signal_child_mask(sigset_t *out)
{
    corio__sys.sigprocmask(SIG_BLOCK, NULL, out);
    for (int s = 1; s < _NSIG; s++)
        if (sigismember(&blocked_by_us, s) == 1)
            sigdelset(out, s);
}

int corio_signal_open(corio_signal **out, const sigset_t *mask)
{
    sigset_t cur, toblock;
    int any = 0;
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!mask)
        return -EINVAL;
    for (size_t i = 0; i < sizeof unwatchable / sizeof unwatchable[0]; i++)
        if (sigismember(mask, unwatchable[i]) == 1)
            return -EINVAL;
    for (int s = 1; s < _NSIG; s++)
        any |= sigismember(mask, s) == 1;
    if (!any)
        return -EINVAL;
    if (!corio__cur)
        return -EPERM;
    if (corio__sys.sigprocmask(SIG_BLOCK, NULL, &cur) < 0)
        return -errno;

    corio_signal *w = corio__sys.malloc(sizeof *w);
    if (!w)
        return -ENOMEM;
    w->mask = *mask;
    w->thread = pthread_self();
    w->waiter = NULL;
    w->closing = false;
    w->fd = corio__sys.signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (w->fd < 0) {
        int rc = -errno;
        free(w);
        return rc;
    }
    sigemptyset(&toblock);
    for (int s = 1; s < _NSIG; s++)
        if (sigismember(mask, s) == 1 && refs[s] == 0 &&
            sigismember(&cur, s) != 1)
            sigaddset(&toblock, s);
    if (corio__sys.sigprocmask(SIG_BLOCK, &toblock, NULL) < 0) {
        int rc = -errno;
        corio__sys.close(w->fd);
        free(w);
        return rc;
    }
    for (int s = 1; s < _NSIG; s++) {
        if (sigismember(mask, s) != 1)
            continue;
        refs[s]++;
        if (sigismember(&toblock, s) == 1)
            sigaddset(&blocked_by_us, s);
    }
    *out = w;
    return 0;
}

static void release(corio_signal *w)
{
    sigset_t unblock;
    int any = 0;
    if (corio__cur)
        (void)corio_fd_forget(w->fd); /* nobody waits on it any more */
    sigemptyset(&unblock);
    for (int s = 1; s < _NSIG; s++) {
        if (sigismember(&w->mask, s) != 1)
            continue;
        if (--refs[s] == 0 && sigismember(&blocked_by_us, s) == 1) {
            sigaddset(&unblock, s);
            sigdelset(&blocked_by_us, s);
            any = 1;
        }
    }
    if (any) {
        /* Discard what is pending of the signals about to be unblocked;
         * other watchers' signals stay queued for them. */
        struct signalfd_siginfo si;
        if (corio__sys.signalfd(w->fd, &unblock, 0) == w->fd)
            while (corio__sys.read(w->fd, &si, sizeof si) == (ssize_t)sizeof si)
                ;
        corio__sys.sigprocmask(SIG_UNBLOCK, &unblock, NULL);
    }
    corio__sys.close(w->fd);
    free(w);
}

static int take(corio_signal *w, int *signo, bool wait)
{
    struct signalfd_siginfo si;
    if (!w || !signo)
        return -EINVAL;
    if (!pthread_equal(w->thread, pthread_self()))
        return -EPERM;
    if (!wait) {
        ssize_t n;
        do
            n = corio__sys.read(w->fd, &si, sizeof si);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        if (n != (ssize_t)sizeof si)
            return -EIO; /* NEVER: signalfd reads whole records */
        *signo = (int)si.ssi_signo;
        return 0;
    }
    if (!corio__self())
        return -EPERM;
    if (w->waiter)
        return -EBUSY;
    w->waiter = corio__self();
    ssize_t n = corio_fd_read(w->fd, &si, sizeof si);
    w->waiter = NULL;
    if (w->closing) {
        release(w);
        return -EBADF;
    }
    if (n < 0)
        return (int)n;
    if (n != (ssize_t)sizeof si)
        return -EIO; /* NEVER */
    *signo = (int)si.ssi_signo;
    return 0;
}

int corio_signal_wait(corio_signal *w, int *signo)
{
    return take(w, signo, true);
}

int corio_signal_try_wait(corio_signal *w, int *signo)
{
    return take(w, signo, false);
}

void corio_signal_close(corio_signal *w)
{
    if (!w || w->closing)
        return;
    if (!pthread_equal(w->thread, pthread_self())) {
        CORIO__MISUSE(corio__cur, "corio_signal_close on another thread than "
                                  "the one that opened the watcher");
        return;
    }
    if (w->waiter) {
        /* The destructor rule: the waiting task is interrupted and frees w
         * once its read has let go of the descriptor. */
        w->closing = true;
        if (w->waiter->state == CORIO__PARKED)
            corio__interrupt(w->waiter, -EBADF);
        return;
    }
    release(w);
}
