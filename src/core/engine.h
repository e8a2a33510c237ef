/* core/engine.h — the internal I/O engine interface.  Exactly one engine is
 * active per loop, chosen at loop start: io_uring (io/uring.c) when the
 * kernel and liburing allow it, else epoll (io/epoll.c); CORIO_ENGINE=epoll
 * or CORIO_ENGINE=uring forces one.
 *
 * A readiness engine (epoll) watches descriptors and reports readiness to
 * io/fd.c with corio__fd_event; io/fd.c then retries the syscall.  A
 * completion engine (io_uring) also provides read/write/poll, which do the
 * I/O themselves and suspend the calling task until it completes.  Both
 * report the loop's wake-up eventfd with corio__loop_woken. */
#ifndef CORIO_CORE_ENGINE_H
#define CORIO_CORE_ENGINE_H

#include "core/loop.h"

struct corio__engine {
    const char *name;
    /* Create the engine's state and watch L->wakefd.  0 or -errno. */
    int (*init)(corio__loop *L);
    void (*close)(corio__loop *L);
    /* Watch fd in both directions, edge-triggered.  -EPERM: fd cannot be
     * watched (a regular file).  Other -errno: failure. */
    int (*watch)(corio__loop *L, int fd);
    void (*unwatch)(corio__loop *L, int fd);
    /* Wait up to timeout_ns (0: poll, -1: forever) and dispatch events.
     * Returns the number of events dispatched. */
    int (*wait)(corio__loop *L, int64_t timeout_ns);
    /* Completion engines only (NULL otherwise).  Suspend the calling task
     * until the operation completes; fd is set up and O_NONBLOCK.  read and
     * write move at most n bytes once; poll returns the ready mask.  All
     * return -errno, -ECANCELED / -ETIMEDOUT; an operation that completed
     * before its cancellation took effect returns its result.  ahead: fd
     * is a stream socket read only through this call, so the engine may
     * receive more than n bytes and keep the rest for the next read
     * (io_uring's multishot receive); bytes kept are never lost to an
     * interruption. */
    ssize_t (*read)(corio__loop *L, int fd, bool sock, bool ahead, void *buf,
                    size_t n);
    ssize_t (*write)(corio__loop *L, int fd, bool sock, const void *buf,
                     size_t n);
    int (*poll)(corio__loop *L, int fd, int events);
    /* Regular-file I/O by the engine (NULL: the file pool does it): op is
     * CORIO__FILE_READ, _WRITE or _FSYNC, off < 0 the file position.  As
     * read/write above: the result, or the interruption if nothing moved. */
    ssize_t (*file)(corio__loop *L, int op, int fd, void *buf, size_t n,
                    off_t off);
};

enum { CORIO__FILE_READ, CORIO__FILE_WRITE, CORIO__FILE_FSYNC };

extern const corio__engine corio__epoll_engine;
extern const corio__engine
    corio__uring_engine; /* .init is NULL without liburing */

/* core/loop.c: the wake-up eventfd fired (thread jobs, SIGINT). */
void corio__loop_woken(corio__loop *L);

#endif
