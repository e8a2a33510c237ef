/* io/engine.h — the internal I/O engine interface.  Exactly one engine is
 * active per loop; today that is epoll (io/epoll.c).  An engine watches
 * descriptors for readiness and reports it to io/fd.c with corio__fd_event,
 * and reports its loop's wake-up eventfd with corio__loop_woken. */
#ifndef CORIO_IO_ENGINE_H
#define CORIO_IO_ENGINE_H

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
};

extern const corio__engine corio__epoll_engine;

/* io/fd.c: readiness on fd (CORIO_READABLE | CORIO_WRITABLE). */
void corio__fd_event(corio__loop *L, int fd, int mask);
/* io/fd.c: restore the flags of every fd the loop touched. */
void corio__fd_close_all(corio__loop *L);
/* core/loop.c: the wake-up eventfd fired (thread jobs, SIGINT). */
void corio__loop_woken(corio__loop *L);

#endif
