/* net/transport.h — what a stream reads from and writes to.
 *
 * A transport is the unbuffered layer under a corio_stream: a descriptor
 * (net/fd_transport.c), one half of an in-memory pair
 * (net/mem_transport.c), or a TLS session stacked on another stream
 * (tls/).  Streams (net/stream.c) add buffering, limits and the
 * line/exact/until reads on top of any transport.
 *
 * The stream calls read from one task at a time, and write and shutdown
 * from one task at a time (a read and a write may be under way together,
 * in two tasks); it calls close only once no task is inside the others.  When a
 * stream is closed while a task waits inside read or write, that task's wait is
 * interrupted with -EBADF (as corio__interrupt does for cancellation): pass the
 * code up like any other interruption. */
#ifndef CORIO_STREAM_TRANSPORT_H
#define CORIO_STREAM_TRANSPORT_H

#include <corio.h>

typedef struct corio__transport corio__transport;

typedef struct corio__transport_ops {
    /* Read up to n (> 0) bytes, suspending until at least one byte or end
     * of stream.  Returns the count, 0 at end of stream, or -errno /
     * -ECANCELED / -ETIMEDOUT (nothing consumed). */
    ssize_t (*read)(corio__transport *t, void *buf, size_t n);
    /* Write all n bytes, suspending as needed.  Returns n, the short count
     * if interrupted after partial progress, or -errno / -ECANCELED /
     * -ETIMEDOUT. */
    ssize_t (*write)(corio__transport *t, const void *buf, size_t n);
    /* Write what the kernel takes now, never suspending (the loop's
     * coalesced flush, called outside any task).  Returns the count (> 0),
     * -EAGAIN if nothing fit, or -errno.  NULL: the transport cannot, and
     * the stream flushes it at once instead. */
    ssize_t (*try_write)(corio__transport *t, const void *buf, size_t n);
    /* No more writes (SHUT_WR, close_notify...).  May suspend.  Returns 0
     * or -errno / -ECANCELED / -ETIMEDOUT (the stream retries on a later
     * call). */
    int (*shutdown)(corio__transport *t);
    /* Release the transport and everything it owns.  Never suspends. */
    void (*close)(corio__transport *t);
    /* The descriptor underneath, or -1. */
    int (*fd)(const corio__transport *t);
} corio__transport_ops;

struct corio__transport {
    const corio__transport_ops *ops;
};

/* Make a stream over t, which the stream then owns (closed with it, also
 * when this fails: -ENOMEM, or -EINVAL for a limit above
 * CORIO_STREAM_BUFFER_MAX).  o may be NULL.  Never suspends. */
CORIO__EXPORT int corio__stream_new(corio_stream **out, corio__transport *t,
                                    const corio_stream_opts *o);

/* The transport under s, or NULL (how the TLS queries find a session). */
/* Bound each transport write of s by ns (0: none): the HTTP server's send
 * timeout.  A write that times out returns -ETIMEDOUT; what the transport
 * did not take stays buffered, as for any interrupted write. */
CORIO__EXPORT void corio__stream_set_write_timeout(corio_stream *s, int64_t ns);
CORIO__EXPORT corio__transport *corio__stream_transport(const corio_stream *s);

#endif
