/* corio/signal.h — signals as something a task waits for (asyncio's
 * loop.add_signal_handler, Trio's open_signal_receiver).
 *
 *     sigset_t set;
 *     sigemptyset(&set);
 *     sigaddset(&set, SIGTERM);
 *     corio_signal *w;
 *     corio_signal_open(&w, &set);
 *     int signo;
 *     corio_signal_wait(w, &signo);   // suspends until SIGTERM arrives
 *     corio_signal_close(w);
 *
 * While a watcher is open, its signals are blocked in the loop thread and
 * read from a signalfd(2), so they never interrupt anything: they queue in
 * the kernel until a task takes them.  corio's pool threads block every
 * signal.  Any other thread of the process must block the watched signals
 * too, or the kernel may deliver them to that thread instead, with their
 * usual disposition.  When the last watcher of a signal closes, the signal
 * is unblocked again, unless it was already blocked when the first watcher
 * opened.  Signals whose disposition is SIG_IGN are discarded by the kernel
 * before they can be waited for (nohup'd SIGHUP, for instance): set a
 * disposition first if you need them.
 *
 * SIGINT: corio_run cancels its main task on SIGINT (corio/base.h).  While
 * a watcher of SIGINT is open that no longer happens: SIGINT goes to the
 * watcher instead, and the program decides (cancel a group, finish the
 * current request, ...).  Once the watcher closes, SIGINT cancels main
 * again.
 *
 * Child processes started with corio/process.h do not inherit the blocking
 * of watched signals: they start with the signal mask the thread had
 * before corio blocked anything.
 *
 * Thread-safety: loop-thread only; a watcher is closed on the thread that
 * opened it. */
#ifndef CORIO_SIGNAL_H
#define CORIO_SIGNAL_H

#include "base.h"

#include <signal.h>
#if defined(__GLIBC__) && !defined(__USE_POSIX)
/* Strict ISO C (-std=c11) hides POSIX's sigset_t in <signal.h>; glibc
 * defines it on its own here. */
#include <bits/types/sigset_t.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_signal corio_signal;

/* Start watching the signals in mask (copied).  Several watchers may share
 * a signal; each delivery goes to one of them (whichever reads it first).
 * Standard signals arriving while one of the same number is pending are
 * merged into it, as always; real-time signals queue.
 * Returns 0 and *out, or:
 *   -EINVAL  mask is NULL or empty, or holds SIGKILL, SIGSTOP or a signal
 *            raised by faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
 *            SIGSYS), which cannot be waited for.
 *   -EPERM   no loop runs on this thread.
 *   -ENOMEM, -EMFILE, ... from signalfd(2) or sigprocmask(2).
 * *out = NULL on every error.  Never suspends. */
CORIO_API CORIO_NODISCARD int corio_signal_open(corio_signal **out,
                                                const sigset_t *mask);

/* Wait until one of w's signals arrives and store its number in *signo.
 * A signal that arrived before the call is returned at once.
 * Returns 0, or -EBUSY (another task is waiting on w), -EINVAL (NULL
 * argument), -EPERM (outside a task, or not w's thread),
 * -ECANCELED / -ETIMEDOUT.
 * Cancel-safe: yes; a call that fails takes no signal. */
CORIO_API CORIO_NODISCARD int corio_signal_wait(corio_signal *w, int *signo);

/* Take a signal that has already arrived, without suspending.
 * Returns 0 and *signo, -EAGAIN if none is pending, or the other errors of
 * corio_signal_wait. */
CORIO_API CORIO_NODISCARD int corio_signal_try_wait(corio_signal *w,
                                                    int *signo);

/* Stop watching and free w (NULL is a no-op).  Signals of w that arrived
 * and were not waited for are discarded when no other watcher has them (so
 * unblocking them cannot kill the process afterwards); then they are
 * unblocked as described above.  A task waiting on w is interrupted: its
 * corio_signal_wait returns -EBADF and frees w (the destructor rule).
 * Called on another thread than the one that opened w, it does nothing
 * (debug mode reports it).  Never suspends. */
CORIO_API void corio_signal_close(corio_signal *w);

#ifdef __cplusplus
}
#endif
#endif
