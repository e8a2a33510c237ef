/* io/uring.h — what the io_uring engine's files share: the engine's state
 * behind the loop's engine_data, how a CQE's user data names its owner,
 * and the read-ahead receives of io/uring_recv.c.  Built only with
 * liburing (CORIO_HAVE_URING). */
#ifndef CORIO_IO_URING_H
#define CORIO_IO_URING_H

#include "core/engine.h"

#include <liburing.h>

typedef struct corio__urecv corio__urecv;   /* one socket's receive state */
typedef struct corio__urbufs corio__urbufs; /* the provided buffer ring */

typedef struct corio__uring {
    struct io_uring ring;
    /* Read-ahead receives (io/uring_recv.c): allowed (kernel >= 6.0 and
     * switched on by CORIO_URING_MULTISHOT=1), or not. */
    bool multishot;
    corio__urbufs *bufs; /* created at the first read-ahead, then kept */
    corio__urecv *recvs; /* every receive state, for the engine's close */
} corio__uring;

/* A CQE's user data: 0 for a cancel request's own completion, WAKE for
 * the eventfd poll, a corio__urecv pointer with bit 1 set for a multishot
 * receive, else the uop (io/uring.c) of a parked task.  Both records are
 * at least 8-byte aligned, so their low bits are free. */
#define CORIO__URING_WAKE 1u
#define CORIO__URING_RECV 2u

static inline corio__uring *corio__uring_of(corio__loop *L)
{
    return L->engine_data;
}

/* An SQE of L's ring, submitting first if the SQ ring is full. */
struct io_uring_sqe *corio__uring_sqe(corio__loop *L);

/* Read ahead on the stream socket fd for the calling task (fd set up, a
 * reader slot taken): as the engine's read, but the kernel fills the
 * loop's provided buffers with a multishot receive, and bytes not yet
 * asked for wait there for the next call.  Returns the count, 0 at end of
 * stream, -errno, or the interruption; bytes queued are never lost to an
 * interruption.  -ENOTSUP: read-ahead is off for this loop (the caller
 * does a plain receive). */
ssize_t corio__urecv_read(corio__loop *L, int fd, void *buf, size_t n);
/* Bytes of fd wait in the loop's buffers (a readiness question). */
bool corio__urecv_ready(corio__loop *L, int fd);
/* A CQE of the multishot receive whose state is s. */
void corio__urecv_complete(corio__loop *L, corio__urecv *s,
                           const struct io_uring_cqe *cqe);
/* fd is being forgotten (closed): give its queued buffers back and cancel
 * its receive; the state is freed by the receive's last CQE. */
void corio__urecv_forget(corio__loop *L, int fd);
/* The engine closes (before io_uring_queue_exit): unregister the buffer
 * ring, free every state and the buffers.  No CQE is reaped after. */
void corio__urecv_close_all(corio__loop *L);

#endif
