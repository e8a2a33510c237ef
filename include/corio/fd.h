/* corio/fd.h — waiting on file descriptors.
 *
 * corio switches every descriptor passed to these functions to O_NONBLOCK
 * (sockets, pipes, terminals; the flag is shared with every process holding
 * the same open file, so a terminal's other users see it too) and watches it
 * with the loop's I/O engine.  The original flags are restored when the loop
 * ends or by corio_fd_close()/corio_fd_forget().  Regular files are always
 * ready: the calls on them are plain read(2)/write(2).
 *
 * Close a descriptor that corio has watched with corio_fd_close() (or call
 * corio_fd_forget() before close(2)): a number closed behind corio's back
 * and reused by a new descriptor would never report readiness.
 *
 * Thread-safety: loop-thread only. */
#ifndef CORIO_FD_H
#define CORIO_FD_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CORIO_READABLE 1
#define CORIO_WRITABLE 2

/* Suspend until fd is ready for any of `events` (CORIO_READABLE |
 * CORIO_WRITABLE) and return the ready mask (> 0).  Also returns when the
 * peer hung up or the fd has an error (both directions then report ready).
 * Returns the mask, or:
 *   -EBUSY      another task already waits on fd in the same direction.
 *   -EBADF      fd is not open.  -EINVAL  no events asked.
 *   -ECANCELED / -ETIMEDOUT, -EPERM.
 * A ready fd returns without suspending, but spends the task's cooperative
 * budget (docs/design.md): every 128th such call yields, and a pending
 * cancellation or expired deadline is returned there instead.
 * Cancel-safe: yes (waiting consumes nothing). */
CORIO_API CORIO_NODISCARD int corio_fd_wait(int fd, int events);

/* Read up to n bytes, suspending while nothing is available.
 * Returns the count (0 at end of file), or a negative errno from read(2),
 * -EBUSY, -ECANCELED / -ETIMEDOUT, -EPERM.
 * Cancel-safe: yes; data already available is returned even when the task
 * is cancelled, and no data is consumed by a call that fails. */
CORIO_API CORIO_NODISCARD ssize_t corio_fd_read(int fd, void *buf, size_t n);

/* Write all n bytes, suspending while the fd is full.  On sockets it never
 * raises SIGPIPE (a closed peer is -EPIPE); on pipes, ignore SIGPIPE.
 * Returns n, or the short count if interrupted (cancelled, timed out or an
 * error) after partial progress, else a negative errno from write(2),
 * -EBUSY, -ECANCELED / -ETIMEDOUT, -EPERM.
 * Cancel-safe: the return value says exactly how much was written. */
CORIO_API CORIO_NODISCARD ssize_t corio_fd_write(int fd, const void *buf,
                                                 size_t n);

/* Stop watching fd and restore its original file status flags, without
 * closing it.  Returns 0, or -EBUSY if a task waits on it, -EPERM outside a
 * loop.  Never suspends. */
CORIO_API int corio_fd_forget(int fd);

/* corio_fd_forget() then close(2).  Returns 0 or a negative errno; on
 * -EBUSY (a task waits on fd) or -EPERM (outside a loop) fd is not closed.
 * Never suspends. */
CORIO_API int corio_fd_close(int fd);

#ifdef __cplusplus
}
#endif
#endif
